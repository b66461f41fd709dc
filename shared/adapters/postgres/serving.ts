/** The serving tables: what the API reads from PostgreSQL when the faster tiers miss. */

import type { WindowFigures } from '../../cycle/rollup/store.ts';
import type { LatestBody, StoredLatest } from '../../domain/payloads.ts';
import type { WindowFigureValues } from '../../domain/windows.ts';
import { numberArray, textArray } from './array-literal.ts';
import type { WritePart } from './batch-write.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

export async function readLatest(db: Db, nodeId: string): Promise<StoredLatest | null> {
  const rows = await db<{ ts_ms: number; body: LatestBody }[]>`
    select (extract(epoch from ts) * 1000)::float8 as ts_ms, body from node_latest where node_id = ${nodeId}`;
  const row = rows[0];
  return row ? { tsMs: row.ts_ms, body: row.body } : null;
}

/** A node's latest values, as a part of its batch's combined write (batch-write.ts). */
export function writeLatestPart(nodeId: string, tsMs: number, body: LatestBody): WritePart {
  return {
    ctes: (n) => [
      `insert into node_latest (node_id, ts, body) values ($${n}, to_timestamp($${n + 1}::float8 / 1000.0), $${n + 2}::text::jsonb)
       on conflict (node_id) do update set ts = excluded.ts, body = excluded.body`,
    ],
    params: [nodeId, tsMs, JSON.stringify(body)],
    merge: { kind: 'latest', rows: [[nodeId, tsMs, JSON.stringify(body)]], of: latestRowsPart },
  };
}

/** Several nodes' latest values (rows of node, time, body text) as one part: what writeLatestPart writes. */
function latestRowsPart(rows: unknown[]): WritePart {
  const r = rows as [string, number, string][];
  return {
    ctes: (n) => [
      `insert into node_latest (node_id, ts, body)
       select x.n, to_timestamp(x.t / 1000.0), x.b::jsonb
       from unnest($${n}::text::text[], $${n + 1}::text::float8[], $${n + 2}::text::text[]) as x(n, t, b)
       on conflict (node_id) do update set ts = excluded.ts, body = excluded.body`,
    ],
    params: [textArray(r.map((x) => x[0])), numberArray(r.map((x) => x[1])), textArray(r.map((x) => x[2]))],
  };
}

/**
 * A node's window views as its one row (node_windows): each body given as its JSON text (`json`, made
 * once for the hot key too), sent as one JSON object keyed by range and stored as that text (json:
 * checked, not rebuilt). Committed without waiting for the WAL flush (this statement's own transaction
 * only): every refresh recomputes the row from the partials, so a crash that loses the last ones
 * loses nothing the next cycle does not rewrite; the batch's own commit (partials, watermark) stays
 * synchronous.
 */
export async function writeWindows(
  db: Db,
  nodeId: string,
  asOfMs: number,
  windows: { range: string; json: string; figures: WindowFigureValues }[],
): Promise<void> {
  if (windows.length === 0) return;
  const byRange = `{${windows.map((w) => `${JSON.stringify(w.range)}:${w.json}`).join(',')}}`;
  const figures = JSON.stringify(
    Object.fromEntries(windows.map((w) => [w.range, FIGURES.map((f) => w.figures[f])])),
  );
  await db`
    insert into node_windows (node_id, as_of, body, figures)
    select ${nodeId}, to_timestamp(${asOfMs} / 1000.0), ${byRange}::text::json, ${figures}::text::json
    from (select set_config('synchronous_commit', 'off', true)) c
    on conflict (node_id) do update set as_of = excluded.as_of, body = excluded.body, figures = excluded.figures`;
}

type WindowsRow = Parameters<typeof writeWindows>[3];
/** The row writeWindows writes: its body and figures as JSON texts. */
function windowsTexts(windows: WindowsRow) {
  return {
    body: `{${windows.map((w) => `${JSON.stringify(w.range)}:${w.json}`).join(',')}}`,
    figures: JSON.stringify(
      Object.fromEntries(windows.map((w) => [w.range, FIGURES.map((f) => w.figures[f])])),
    ),
  };
}

/**
 * Several nodes' window rows (`writeWindows`) in ONE statement (one unnest upsert), committed as
 * writeWindows commits. A node given twice: its later row is written after its earlier one (in a
 * statement of its own, as an upsert cannot touch a row twice).
 */
export async function writeManyWindows(
  db: Db,
  items: readonly { nodeId: string; asOfMs: number; windows: WindowsRow }[],
): Promise<void> {
  let rest = items.filter((it) => it.windows.length > 0);
  while (rest.length > 0) {
    const seen = new Set<string>();
    const now: typeof rest = [];
    const later: typeof rest = [];
    for (const it of rest) {
      if (seen.has(it.nodeId)) later.push(it);
      else {
        seen.add(it.nodeId);
        now.push(it);
      }
    }
    const texts = now.map((it) => windowsTexts(it.windows));
    await db.unsafe(
      `insert into node_windows (node_id, as_of, body, figures)
       select n, to_timestamp(a / 1000.0), b::json, f::json
       from unnest($1::text[], $2::numeric[], $3::text[], $4::text[]) as t(n, a, b, f),
            (select set_config('synchronous_commit', 'off', true)) c
       on conflict (node_id) do update set as_of = excluded.as_of, body = excluded.body, figures = excluded.figures`,
      [
        now.map((it) => it.nodeId),
        now.map((it) => it.asOfMs),
        texts.map((t) => t.body),
        texts.map((t) => t.figures),
      ] as never[],
      { prepare: true },
    );
    rest = later;
  }
}

/** A window's figures as node_windows.figures keeps them: one array per range, in this order. */
const FIGURES = [
  'reporting',
  'flow_mean',
  'pressure_mean',
  'pressure_min',
  'chlorine_min',
  'turbidity_max',
] as const satisfies readonly (keyof WindowFigureValues)[];

export async function readWindow(db: Db, nodeId: string, range: string): Promise<unknown | null> {
  const rows = await db<{ body: unknown }[]>`
    select body -> ${range}::text as body from node_windows where node_id = ${nodeId}`;
  return rows[0]?.body ?? null;
}

/**
 * A node's window of the tenant (null for another tenant's node, or none): ownership and the body
 * in one statement, so an API miss is one round trip.
 */
export async function readOwnedWindow(
  db: Db,
  tenantId: string,
  nodeId: string,
  range: string,
): Promise<unknown | null> {
  const rows = await db<{ body: unknown }[]>`
    select w.body -> ${range}::text as body from node_windows w join nodes n on n.id = w.node_id
    where w.node_id = ${nodeId} and n.tenant_id = ${tenantId}`;
  return rows[0]?.body ?? null;
}

/** A node's latest values, if the node is the tenant's: one statement (see readOwnedWindow). */
export async function readOwnedLatest(
  db: Db,
  tenantId: string,
  nodeId: string,
): Promise<StoredLatest | null> {
  const rows = await db<{ ts_ms: number; body: LatestBody }[]>`
    select (extract(epoch from l.ts) * 1000)::float8 as ts_ms, l.body
    from node_latest l join nodes n on n.id = l.node_id
    where l.node_id = ${nodeId} and n.tenant_id = ${tenantId}`;
  const row = rows[0];
  return row ? { tsMs: row.ts_ms, body: row.body } : null;
}

export async function writeSnapshot(db: Db, tenantId: string, kind: string, asOfMs: number, body: unknown) {
  await db`
    insert into network_snapshots (tenant_id, kind, as_of, body)
    values (${tenantId}, ${kind}, to_timestamp(${asOfMs} / 1000.0), ${db.json(body as never)})
    on conflict (tenant_id, kind) do update set as_of = excluded.as_of, body = excluded.body`;
}

export async function readSnapshot(db: Db, tenantId: string, kind: string): Promise<unknown | null> {
  const rows = await db<{ body: unknown }[]>`
    select body from network_snapshots where tenant_id = ${tenantId} and kind = ${kind}`;
  return rows[0]?.body ?? null;
}

// Read by the API

/**
 * A network snapshot's body. Snapshots written as JSON text into a jsonb parameter arrive as a jsonb
 * string (postgres.js serialises json parameters itself): read either form.
 */
export async function readSnapshotValue(db: Db, tenantId: string, kind: string): Promise<unknown | null> {
  const body = await readSnapshot(db, tenantId, kind);
  return typeof body === 'string' ? JSON.parse(body) : body;
}

/** The time of the tenant's latest reading (epoch ms), or null before any. */
export async function latestReadingMs(db: Db, tenantId: string): Promise<number | null> {
  const [latest] = await db<{ ts: Date | null }[]>`
    select max(l.ts) as ts from node_latest l join nodes n on n.id = l.node_id where n.tenant_id = ${tenantId}`;
  return latest?.ts?.getTime() ?? null;
}

// Read by the cycle's rollup

/**
 * What the network figures need of every node window of a tenant: a handful of numbers, extracted in
 * SQL (at 10,000 nodes × 6 ranges the whole window bodies would not fit a small instance's heap).
 */
export async function readWindowFigures(db: Db, tenantId: string) {
  return db<WindowFigures[]>`
    select n.kind, r.key as range, (extract(epoch from w.as_of) * 1000)::float8 as as_of_ms,
           (r.value ->> 0)::boolean as reporting, (r.value ->> 1)::float8 as flow_mean,
           (r.value ->> 2)::float8 as pressure_mean, (r.value ->> 3)::float8 as pressure_min,
           (r.value ->> 4)::float8 as chlorine_min, (r.value ->> 5)::float8 as turbidity_max
    from node_windows w join nodes n on n.id = w.node_id, json_each(w.figures) r
    where n.tenant_id = ${tenantId}`;
}

/** A step's progress kept as a snapshot (`{ lastMs }`): when it last ran for the tenant. */
export async function readEvaluatedMs(db: Db, tenantId: string, kind: string): Promise<number | null> {
  const rows = await db<{ ms: number | null }[]>`
    select (body->>'lastMs')::float8 as ms from network_snapshots where tenant_id = ${tenantId} and kind = ${kind}`;
  return rows[0]?.ms ?? null;
}

export async function writeEvaluatedMs(db: Db, tenantId: string, kind: string, ms: number): Promise<void> {
  await db`
    insert into network_snapshots (tenant_id, kind, as_of, body)
    values (${tenantId}, ${kind}, to_timestamp(${ms} / 1000.0), ${db.json({ lastMs: ms })})
    on conflict (tenant_id, kind) do update set as_of = excluded.as_of, body = excluded.body
    where network_snapshots.as_of <= excluded.as_of`;
}
