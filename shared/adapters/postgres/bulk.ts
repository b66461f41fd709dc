/**
 * The bulk backfill's statements besides COPY, each one statement for a whole chunk of nodes:
 * node locks, watermarks, the stored partials a backfill must merge with, latest values and the
 * audit rows. The per-cycle path does the same per node (shared/cycle/aggregate/).
 */
import type { BatchRecord, PartialKey } from '../../cycle/backfill/store.ts';
import type { LatestBody, StoredLatest } from '../../domain/payloads.ts';
import { METRICS, type Metric } from '../../domain/readings.ts';
import { type AggRow, rowToPartial, selectColumns } from './aggregates.ts';
import type { Sql, TransactionSql } from './client.ts';
import type { TimeSeriesTable } from './partitions.ts';

type Db = Sql | TransactionSql;

/** The same per-node advisory locks the aggregator takes, in id order (two bulk writers never deadlock). */
export async function lockNodes(tx: TransactionSql, nodeIds: readonly string[]): Promise<void> {
  await tx`
    select count(pg_advisory_xact_lock(hashtextextended(id, 0)))::int4 as locked
    from (select id from unnest(${[...nodeIds].sort()}::text[]) as id order by id) as ids`;
}

/** Ingestion watermarks of some nodes (absent: nothing applied yet). */
export async function readWatermarks(db: Db, nodeIds: readonly string[]): Promise<Map<string, number>> {
  const rows = await db<{ node_id: string; ms: number }[]>`
    select node_id, (extract(epoch from ingested_to) * 1000)::float8 as ms
    from node_watermarks where node_id = any(${[...nodeIds]}::text[])`;
  return new Map(rows.map((r) => [r.node_id, r.ms]));
}

export async function writeWatermarks(tx: TransactionSql, nodeIds: readonly string[], toMs: number) {
  if (nodeIds.length === 0) return;
  await tx`
    insert into node_watermarks (node_id, ingested_to)
    select id, to_timestamp(${toMs} / 1000.0) from unnest(${[...nodeIds]}::text[]) as id
    on conflict (node_id) do update set ingested_to = excluded.ingested_to`;
}

/** The keys of the stored partials of some nodes with buckets in [fromMs, toMs]: no payload. */
export async function readStoredKeys(
  db: Db,
  table: TimeSeriesTable,
  nodeIds: readonly string[],
  fromMs: number,
  toMs: number,
): Promise<PartialKey[]> {
  const rows = await db.unsafe<{ node_id: string; metric: number; bucket_ms: number }[]>(
    `select node_id, metric, (extract(epoch from bucket) * 1000)::float8 as bucket_ms from ${table}
     where node_id = any($1::text[]) and bucket >= to_timestamp($2 / 1000.0) and bucket <= to_timestamp($3 / 1000.0)`,
    [[...nodeIds], fromMs, toMs],
  );
  return rows.map((r) => ({ nodeId: r.node_id, metric: METRICS[r.metric] as Metric, bucketMs: r.bucket_ms }));
}

/** Stored partials by key, in full. */
export async function readPartials(db: Db, table: TimeSeriesTable, keys: readonly PartialKey[]) {
  if (keys.length === 0) return [];
  const rows = await db.unsafe<AggRow[]>(
    `select ${selectColumns} from ${table}
     where (node_id, metric, bucket) in (
       select n, m, to_timestamp(b / 1000.0) from unnest($1::text[], $2::int2[], $3::float8[]) as k(n, m, b))`,
    [keys.map((k) => k.nodeId), keys.map((k) => METRICS.indexOf(k.metric)), keys.map((k) => k.bucketMs)],
  );
  return rows.map(rowToPartial);
}

/** The stored latest values of some nodes. */
export async function readLatestMany(db: Db, nodeIds: readonly string[]): Promise<Map<string, LatestBody>> {
  const rows = await db<{ node_id: string; body: LatestBody }[]>`
    select node_id, body from node_latest where node_id = any(${[...nodeIds]}::text[])`;
  return new Map(rows.map((r) => [r.node_id, r.body]));
}

export async function writeLatestMany(
  tx: TransactionSql,
  rows: readonly (StoredLatest & { nodeId: string })[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx`
    insert into node_latest (node_id, ts, body)
    select n, to_timestamp(t / 1000.0), b::jsonb
    from unnest(${rows.map((r) => r.nodeId)}::text[], ${rows.map((r) => r.tsMs)}::float8[],
                ${rows.map((r) => JSON.stringify(r.body))}::text[]) as x(n, t, b)
    on conflict (node_id) do update set ts = excluded.ts, body = excluded.body`;
}

/** One applied_batches row per node: what the backfill applied and what it rejected. */
export async function recordBatches(tx: TransactionSql, runId: string, rows: readonly BatchRecord[]) {
  if (rows.length === 0) return;
  await tx`
    insert into applied_batches (run_id, node_id, part, readings, rejected, min_ts, max_ts)
    select ${runId}, n, 0, r, j::jsonb, to_timestamp(lo / 1000.0), to_timestamp(hi / 1000.0)
    from unnest(${rows.map((r) => r.nodeId)}::text[], ${rows.map((r) => r.readings)}::int4[],
                ${rows.map((r) => JSON.stringify(r.rejected))}::text[],
                ${rows.map((r) => r.minTs) as number[]}::float8[], ${rows.map((r) => r.maxTs) as number[]}::float8[])
         as x(n, r, j, lo, hi)
    on conflict do nothing`;
}
