/**
 * The state a cycle leaves, and a comparison of two such states.
 *
 * Floating-point sums depend on the order of additions in their last bits, and batches split the
 * same readings differently when runs overlap or messages are replayed. So sums and means must agree
 * to 1e-12 relative, and second moments (m2, stddev) to 1e-6: their rounding error grows with
 * mean²/variance, ~10¹⁵ for cumulative volume registers. Everything else — counts, min, max, first,
 * last, quantile sketches, seen-bitmaps, watermarks, timestamps — must be bit-identical.
 */
import type { Redis } from '@upstash/redis';
import type postgres from 'postgres';

const TABLES: Record<string, string> = {
  agg_5m: 'node_id, metric, bucket',
  agg_1h: 'node_id, metric, bucket',
  agg_1d: 'node_id, metric, bucket',
  node_latest: 'node_id',
  node_watermarks: 'node_id',
  node_windows: 'node_id',
};

/** Tables compared by a query of their own: the event log, without its positions and write times. */
const QUERIES: Record<string, string> = {
  anomaly_events: 'select tenant_id, anomaly_id, kind, payload from anomaly_events order by anomaly_id, id',
};

/**
 * The event log as changes only: which anomaly changed how, in order, without the snapshot's
 * `lastSeenAt` and `evidence`, which say when and on what the change was seen. For runs whose
 * cycles cover different windows (an outage that makes one cycle carry the next one's readings):
 * the same change is then seen a cycle later, on other readings.
 */
const CHANGE_QUERIES: Record<string, string> = {
  anomaly_events:
    "select tenant_id, anomaly_id, kind, payload - 'lastSeenAt' - 'evidence' as payload from anomaly_events order by anomaly_id, id",
};

const SECOND_MOMENTS = new Set(['m2', 'stddev']);

export async function tableState(
  sql: postgres.Sql,
  options: { events?: 'exact' | 'changes' } = {},
): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, order] of Object.entries(TABLES))
    out[table] = [...(await sql.unsafe(`select * from ${table} order by ${order}`))];
  const queries = options.events === 'changes' ? CHANGE_QUERIES : QUERIES;
  for (const [table, query] of Object.entries(queries)) out[table] = [...(await sql.unsafe(query))];
  return out;
}

export async function nodeKeyState(redis: Redis, prefix: string, tenant: string, nodeIds: string[]) {
  const keys = nodeIds.flatMap((id) =>
    ['latest', 'metadata', 'metrics:1h', 'metrics:24h', 'metrics:7d', 'metrics:30d', 'timeseries:7d'].map(
      (k) => `${prefix}t:${tenant}:node:${id}:${k}`,
    ),
  );
  const values = await redis.mget<unknown[]>(...keys);
  const missing = keys.filter((_, i) => values[i] === null);
  if (missing.length > 0) throw new Error(`missing hot keys: ${missing.slice(0, 5).join(', ')}`);
  return values;
}

/** The paths where two states differ (empty when they are the same within the tolerances above). */
export function differences(a: unknown, b: unknown, path = '$', key = '', out: string[] = []): string[] {
  if (out.length >= 10) return out;
  if (typeof a === 'number' && typeof b === 'number') {
    const rel = SECOND_MOMENTS.has(key) ? 1e-6 : 1e-12;
    if (
      Number.isInteger(a) && Number.isInteger(b)
        ? a !== b
        : Math.abs(a - b) > rel * Math.max(1e-9, Math.abs(a), Math.abs(b))
    ) {
      out.push(`${path}: ${a} ≠ ${b}`);
    }
    return out;
  }
  if (a instanceof Date && b instanceof Date) {
    if (a.getTime() !== b.getTime()) out.push(`${path}: ${a.toISOString()} ≠ ${b.toISOString()}`);
    return out;
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (Buffer.compare(a, b) !== 0) out.push(`${path}: bytes differ`);
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path}: ${a.length} ≠ ${b.length} items`);
    else for (const [i, x] of a.entries()) differences(x, b[i], `${path}[${i}]`, key, out);
    return out;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      differences(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${path}.${k}`,
        k,
        out,
      );
    }
    return out;
  }
  if (a !== b) out.push(`${path}: ${String(a)} ≠ ${String(b)}`);
  return out;
}
