/** Run history in PostgreSQL (retention: 7 days), readable by the API's /status. */
import type { AppliedBatch } from '../../cycle/aggregate/store.ts';
import type { NewRun } from '../../cycle/dispatch/store.ts';
import type { RunRecord, RunStatus } from '../../domain/runs.ts';
import { numberArray, textArray } from './array-literal.ts';
import type { WritePart } from './batch-write.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

export async function insertRun(db: Db, run: NewRun): Promise<void> {
  await db`
    insert into runs (id, tenant_id, status, started_at, window_from, window_to, nodes_total, readings, bytes_processed, source)
    values (${run.id}, ${run.tenantId}, 'running', to_timestamp(${run.startedAtMs} / 1000.0),
            to_timestamp(${run.windowFromMs} / 1000.0), to_timestamp(${run.windowToMs} / 1000.0),
            ${run.nodesTotal}, ${run.readings}, ${run.bytesProcessed}, ${run.source})
    on conflict (id) do nothing`;
}

export async function finishRun(
  db: Db,
  runId: string,
  outcome: { status: RunStatus; finishedAtMs: number; nodesDone: number; failedNodes: string[] },
): Promise<void> {
  await db`
    update runs set status = ${outcome.status}, finished_at = to_timestamp(${outcome.finishedAtMs} / 1000.0),
      nodes_done = ${outcome.nodesDone}, nodes_failed = ${outcome.failedNodes.length},
      failed_nodes = ${outcome.failedNodes}::text[],
      duration_ms = greatest(0, round(${outcome.finishedAtMs} - extract(epoch from started_at) * 1000))::int4
    where id = ${runId}`;
}

interface RunRow {
  id: string;
  tenant_id: string;
  status: RunStatus;
  started_at: Date;
  finished_at: Date | null;
  window_from: Date;
  window_to: Date;
  nodes_total: number;
  nodes_done: number;
  nodes_failed: number;
  failed_nodes: string[];
  readings: string;
  bytes_processed: string;
  duration_ms: number | null;
  source: string;
}

const toRecord = (r: RunRow): RunRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  status: r.status,
  startedAt: r.started_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
  windowFrom: r.window_from.toISOString(),
  windowTo: r.window_to.toISOString(),
  nodesTotal: r.nodes_total,
  nodesDone: r.nodes_done,
  nodesFailed: r.nodes_failed,
  failedNodes: r.failed_nodes,
  readings: Number(r.readings),
  bytesProcessed: Number(r.bytes_processed),
  durationMs: r.duration_ms,
  source: r.source,
});

export async function recentRuns(db: Db, tenantId: string, limit = 20): Promise<RunRecord[]> {
  const rows = await db<RunRow[]>`
    select * from runs where tenant_id = ${tenantId} order by started_at desc limit ${limit}`;
  return rows.map(toRecord);
}

export async function getRun(db: Db, runId: string): Promise<RunRecord | null> {
  const rows = await db<RunRow[]>`select * from runs where id = ${runId}`;
  return rows[0] ? toRecord(rows[0]) : null;
}

/** Distinct nodes with at least one applied batch in a run. */
export async function appliedNodes(db: Db, runId: string): Promise<number> {
  const rows = await db<{ n: number }[]>`
    select count(distinct node_id)::int4 as n from applied_batches where run_id = ${runId}`;
  return rows[0]?.n ?? 0;
}

/** Runs still `running` whose window ended at or before `windowToMs` (the sweep's candidates), oldest first. */
export async function openRunsBefore(db: Db, tenantId: string, windowToMs: number): Promise<RunRecord[]> {
  const rows = await db<RunRow[]>`
    select * from runs
    where tenant_id = ${tenantId} and status = 'running' and window_to <= to_timestamp(${windowToMs} / 1000.0)
    order by window_to`;
  return rows.map(toRecord);
}

/** The tenant's nodes without an applied batch in a run (what a run that never completed did not do). */
export async function unappliedNodes(db: Db, tenantId: string, runId: string): Promise<string[]> {
  const rows = await db<{ id: string }[]>`
    select n.id from nodes n
    where n.tenant_id = ${tenantId}
      and not exists (select 1 from applied_batches b where b.run_id = ${runId} and b.node_id = n.id)
    order by n.id`;
  return rows.map((r) => r.id);
}

/** Closes a run only if it is still running (a late rollup's own closing wins); true when it did. */
export async function closeOpenRun(
  db: Db,
  runId: string,
  outcome: { status: RunStatus; finishedAtMs: number; nodesDone: number; failedNodes: string[] },
): Promise<boolean> {
  const rows = await db`
    update runs set status = ${outcome.status}, finished_at = to_timestamp(${outcome.finishedAtMs} / 1000.0),
      nodes_done = ${outcome.nodesDone}, nodes_failed = ${outcome.failedNodes.length},
      failed_nodes = ${outcome.failedNodes}::text[],
      duration_ms = greatest(0, round(${outcome.finishedAtMs} - extract(epoch from started_at) * 1000))::int4
    where id = ${runId} and status = 'running'
    returning id`;
  return rows.length > 0;
}

// Read by the API

/** The end of the tenant's latest run window (epoch ms), or null before any run. */
export async function latestWindowEndMs(db: Db, tenantId: string): Promise<number | null> {
  const rows = await db<{ ms: number | null }[]>`
    select (extract(epoch from max(window_to)) * 1000)::float8 as ms from runs where tenant_id = ${tenantId}`;
  return rows[0]?.ms ?? null;
}

/** Bytes the tenant's runs of the last 24 hours processed. */
export async function bytesProcessedLastDay(db: Db, tenantId: string): Promise<number> {
  const [bytes] = await db<{ day: number }[]>`
    select coalesce(sum(bytes_processed), 0)::float8 as day from runs
    where tenant_id = ${tenantId} and started_at > now() - interval '24 hours'`;
  return bytes?.day ?? 0;
}

// Written by the cycle's aggregate step, purged by its maintenance step

/**
 * Records one applied batch (its reading-time span lets the rollup recompute only those days), as a
 * part of the node batch's combined write (batch-write.ts).
 */
export function recordAppliedBatchPart(batch: AppliedBatch & { nodeId: string }): WritePart {
  const row = [
    batch.runId,
    batch.nodeId,
    batch.part,
    batch.readings,
    JSON.stringify(batch.rejected),
    batch.minTs,
    batch.maxTs,
  ];
  return {
    ctes: (n) => [
      `insert into applied_batches (run_id, node_id, part, readings, rejected, min_ts, max_ts)
       values ($${n}, $${n + 1}, $${n + 2}::int4, $${n + 3}::int4, $${n + 4}::text::jsonb,
               to_timestamp($${n + 5}::float8 / 1000.0), to_timestamp($${n + 6}::float8 / 1000.0))
       on conflict do nothing`,
    ],
    params: row,
    merge: { kind: 'applied', rows: [row], of: appliedRowsPart },
  };
}

/** Several nodes' batch records as one part: what recordAppliedBatchPart writes. */
function appliedRowsPart(rows: unknown[]): WritePart {
  const r = rows as [string, string, number, number, string, number | null, number | null][];
  const texts = (k: 0 | 1 | 4) => textArray(r.map((x) => x[k]));
  const numbers = (k: 2 | 3 | 5 | 6) => numberArray(r.map((x) => x[k]));
  return {
    ctes: (n) => [
      `insert into applied_batches (run_id, node_id, part, readings, rejected, min_ts, max_ts)
       select x.r, x.n, x.p, x.c, x.j::jsonb, to_timestamp(x.lo / 1000.0), to_timestamp(x.hi / 1000.0)
       from unnest($${n}::text::text[], $${n + 1}::text::text[], $${n + 2}::text::int4[], $${n + 3}::text::int4[],
                   $${n + 4}::text::text[], $${n + 5}::text::float8[], $${n + 6}::text::float8[])
         as x(r, n, p, c, j, lo, hi)
       on conflict do nothing`,
    ],
    params: [texts(0), texts(1), numbers(2), numbers(3), texts(4), numbers(5), numbers(6)],
  };
}

export async function purgeRuns(db: Db, before: Date): Promise<number> {
  return (await db`delete from runs where started_at < ${before}`).count;
}

export async function purgeAppliedBatches(db: Db, before: Date): Promise<number> {
  return (await db`delete from applied_batches where applied_at < ${before}`).count;
}
