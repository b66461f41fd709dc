/**
 * Consumption patterns (owner of consumption_patterns): what the rollup computes them from — hourly flow
 * summed per district and node kind, in SQL, so a day's refresh reads a few thousand rows, not every
 * node's partials — and the stored patterns per district ('*' = the network).
 */
import type { PatternFlowRow, StoredPatterns } from '../../cycle/rollup/store.ts';
import { metricIndex } from '../../domain/readings.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

/** Hourly flow of the tenant's nodes, summed per district, node kind and hour, over [fromMs, toMs). */
export async function readPatternFlows(
  db: Db,
  tenantId: string,
  fromMs: number,
  toMs: number,
): Promise<PatternFlowRow[]> {
  const rows = await db.unsafe<
    { district_id: string; kind: string; ms: number; flow: number; nodes: number }[]
  >(
    `select n.district_id, n.kind, (extract(epoch from a.bucket) * 1000)::float8 as ms,
       sum(a.sum / a.count)::float8 as flow, count(*)::int4 as nodes
     from agg_1h a join nodes n on n.id = a.node_id
     where n.tenant_id = $1 and n.district_id is not null and a.metric = $2 and a.count > 0
       and a.bucket >= to_timestamp($3 / 1000.0) and a.bucket < to_timestamp($4 / 1000.0)
     group by n.district_id, n.kind, a.bucket
     order by a.bucket`,
    [tenantId, metricIndex('flow'), fromMs, toMs],
  );
  return rows.map((r) => ({
    districtId: r.district_id,
    kind: r.kind,
    bucketMs: r.ms,
    flow: r.flow,
    nodes: r.nodes,
  }));
}

/** JSON text per statement of `writePatterns` (the rows of one statement are serialized together). */
export const MAX_PATTERN_STATEMENT_BYTES = 1 << 20;

/**
 * Upserts the patterns in order, in statements of up to MAX_PATTERN_STATEMENT_BYTES of JSON, one after
 * the other, each row serialized just before its statement: at 10,000 nodes (833 districts, ~12 MiB of
 * JSON) one statement held every body's text, its array literal and the socket's buffer at once (the
 * aggregator's peak). One transaction: a failure part-way leaves every stored pattern as it was (never
 * some districts on the new day and the rest, or the network's row, on the old one).
 */
export async function writePatterns(sql: Sql, rows: readonly StoredPatterns[]): Promise<void> {
  if (rows.length === 0) return;
  await sql.begin((tx) => writePatternsIn(tx, rows));
}

async function writePatternsIn(db: TransactionSql, rows: readonly StoredPatterns[]): Promise<void> {
  let batch: { row: StoredPatterns; body: string }[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await db.unsafe(
      `insert into consumption_patterns (tenant_id, district_id, as_of_day, computed_at, body)
       select t, d, a, to_timestamp(c / 1000.0), b::jsonb
       from unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[]) as x(t, d, a, c, b)
       on conflict (tenant_id, district_id) do update set
         as_of_day = excluded.as_of_day, computed_at = excluded.computed_at, body = excluded.body`,
      [
        batch.map((r) => r.row.tenantId),
        batch.map((r) => r.row.districtId),
        batch.map((r) => r.row.asOfDay),
        batch.map((r) => r.row.computedAtMs),
        batch.map((r) => r.body),
      ],
    );
    batch = [];
    bytes = 0;
  };
  for (const row of rows) {
    const body = JSON.stringify(row.body);
    if (bytes + body.length > MAX_PATTERN_STATEMENT_BYTES) await flush();
    batch.push({ row, body });
    bytes += body.length;
  }
  await flush();
}

/** The local day the tenant's network patterns were last computed for, or null. */
export async function readPatternsDay(db: Db, tenantId: string): Promise<string | null> {
  const rows = await db<{ as_of_day: string }[]>`
    select as_of_day from consumption_patterns where tenant_id = ${tenantId} and district_id = '*'`;
  return rows[0]?.as_of_day ?? null;
}

/** The stored patterns of a district ('*' = the network), or null. */
export async function readPatterns(db: Db, tenantId: string, districtId: string): Promise<unknown | null> {
  const rows = await db<{ body: unknown }[]>`
    select body from consumption_patterns where tenant_id = ${tenantId} and district_id = ${districtId}`;
  return rows[0]?.body ?? null;
}
