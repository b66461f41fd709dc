/**
 * Data-quality counters in PostgreSQL: mergeable counters per node and 5-minute bucket (quality_5m,
 * what the API reads), rolled up per hour and per day (quality_1h, quality_1d) so a node's 24-hour and
 * 7-day scores read a few dozen rows, and the node's latest scores (node_quality). Everything a batch
 * needs is one read and one write, inside the batch's transaction.
 */
import type { QualityCounters } from '../../analytics/quality.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

export const QUALITY_TABLES = { m5: 'quality_5m', h1: 'quality_1h', d1: 'quality_1d' } as const;
export type QualityResolution = keyof typeof QUALITY_TABLES;
const RESOLUTIONS = Object.keys(QUALITY_TABLES) as QualityResolution[];

export type QualityBuckets = Record<QualityResolution, Map<number, QualityCounters>>;

/** What a batch's counting starts from (read by node-state.ts with the node's other analytics). */
export interface QualityState {
  /** Stored counters of the buckets asked for and of the windows, per resolution (bucket start → counters). */
  buckets: QualityBuckets;
  /** The latest reading time counted for the node so far (null before its first reading). */
  maxTs: number | null;
}

/**
 * Writes merged counters (replacing the stored ones) of every resolution and the node's scores — and,
 * when given, the node's new ingestion watermark (the batch's last write): one statement.
 */
export async function writeQualityState(
  db: Db,
  nodeId: string,
  changed: QualityBuckets,
  scores: { asOfMs: number; body: unknown },
  watermarkMs?: number,
): Promise<void> {
  const params: unknown[] = [nodeId, scores.asOfMs, JSON.stringify(scores.body)];
  const inserts = RESOLUTIONS.map((res) => {
    const m = changed[res];
    params.push(
      [...m.keys()],
      [...m.values()].map((c) => JSON.stringify(c)),
    );
    const b = params.length - 1;
    return `${res} as (
       insert into ${QUALITY_TABLES[res]} (node_id, bucket, counters)
       select $1, to_timestamp(b / 1000.0), c::jsonb from unnest($${b}::float8[], $${b + 1}::text[]) as t(b, c)
       on conflict (node_id, bucket) do update set counters = excluded.counters
       returning 1)`;
  });
  if (watermarkMs !== undefined) {
    params.push(watermarkMs);
    inserts.push(`wm as (
       insert into node_watermarks (node_id, ingested_to) values ($1, to_timestamp($${params.length} / 1000.0))
       on conflict (node_id) do update set ingested_to = excluded.ingested_to
       returning 1)`);
  }
  await db.unsafe(
    `with ${inserts.join(',\n')}
     insert into node_quality (node_id, as_of, body) values ($1, to_timestamp($2 / 1000.0), $3::text::jsonb)
     on conflict (node_id) do update set as_of = excluded.as_of, body = excluded.body`,
    params as never[],
  );
}

/** A node's latest scores (null before its first batch). */
export async function readNodeQuality(db: Db, nodeId: string): Promise<unknown | null> {
  const rows = await db<{ body: unknown }[]>`select body from node_quality where node_id = ${nodeId}`;
  return rows[0]?.body ?? null;
}

export interface NodeQualityRow {
  nodeId: string;
  kind: string;
  districtId: string | null;
  asOfMs: number;
  body: unknown;
}

/** Every node's latest scores of a tenant (the rollup's network score). */
export async function readTenantQuality(db: Db, tenantId: string): Promise<NodeQualityRow[]> {
  const rows = await db<
    { node_id: string; kind: string; district_id: string | null; ms: number; body: unknown }[]
  >`
    select q.node_id, n.kind, n.district_id, (extract(epoch from q.as_of) * 1000)::float8 as ms, q.body
    from node_quality q join nodes n on n.id = q.node_id
    where n.tenant_id = ${tenantId}
    order by q.node_id`;
  return rows.map((r) => ({
    nodeId: r.node_id,
    kind: r.kind,
    districtId: r.district_id,
    asOfMs: r.ms,
    body: r.body,
  }));
}
