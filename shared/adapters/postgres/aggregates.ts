/**
 * Partial aggregates in PostgreSQL: merge-upserts at 5m, 1h and 1d, and the reads that roll them
 * up into the windows the API serves. Writes are batched (one unnest upsert per table), never a
 * statement per row.
 */
import { emptyPartial, mergeInto, type PartialRow, partialKey, sketchBytes } from '../../domain/aggregate.ts';
import { METRICS, type Metric } from '../../domain/readings.ts';
import { encodeSketch, newSketch } from '../../domain/sketch.ts';
import { numberArray, textArray } from './array-literal.ts';
import type { WritePart } from './batch-write.ts';
import type { Sql, TransactionSql } from './client.ts';
import { type NodeQuery, readMany } from './coalesce.ts';
import { fromPartitionOf, type TimeSeriesTable, textsByPartitions } from './partitions.ts';

type Db = Sql | TransactionSql;

const EMPTY_SKETCH = encodeSketch(newSketch());

export interface AggRow {
  node_id: string;
  metric: number;
  bucket_ms: number;
  count: number;
  sum: number;
  m2: number;
  min: number;
  max: number;
  first_ts_ms: number;
  first: number;
  last_ts_ms: number;
  last: number;
  sketch: Uint8Array | null;
  seen: Uint8Array | null;
}

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;
export const selectColumns = `node_id, metric, ${ms('bucket')} as bucket_ms, count, sum, m2, min, max,
  ${ms('first_ts')} as first_ts_ms, first, ${ms('last_ts')} as last_ts_ms, last, sketch, seen`;

export function rowToPartial(row: AggRow): PartialRow {
  return {
    nodeId: row.node_id,
    metric: METRICS[row.metric] as Metric,
    bucketMs: row.bucket_ms,
    count: row.count,
    sum: row.sum,
    m2: row.m2,
    min: row.min,
    max: row.max,
    firstTs: row.first_ts_ms,
    first: row.first,
    lastTs: row.last_ts_ms,
    last: row.last,
    sketch: row.sketch ?? EMPTY_SKETCH,
    ...(row.seen ? { seen: new Uint8Array(row.seen) } : {}),
  };
}

/** One node's stored partials of a table in the given buckets. */
export async function readBuckets(
  db: Db,
  table: TimeSeriesTable,
  nodeId: string,
  bucketsMs: Iterable<number>,
) {
  const buckets = [...new Set(bucketsMs)];
  if (buckets.length === 0) return [];
  const found = await db.unsafe<AggRow[]>(
    `select ${selectColumns} from ${table} where node_id = $1 and ${inBuckets(2)}`,
    [nodeId, ...bucketParams(buckets)],
    // Prepared (one text per table): postgres.js then sends it without waiting on a Parse/Describe
    // round trip first, so a node batch's statements issued together pipeline (here and below).
    { prepare: true },
  );
  return found.map(rowToPartial);
}

/**
 * The buckets (epoch ms) as parameters $n, $n+1, $n+2: the list, its lowest and its highest. The
 * range bounds let PostgreSQL prune partitions when the statement runs (the array alone cannot):
 * without them a day's batch probed every daily partition of agg_5m, 288 keys each (~0.6 s per node
 * with 70 partitions; 2 ms with them).
 */
const inBuckets = (n: number) =>
  `bucket = any(array(select to_timestamp(b / 1000.0) from unnest($${n}::float8[]) b))
     and bucket >= to_timestamp($${n + 1} / 1000.0) and bucket <= to_timestamp($${n + 2} / 1000.0)`;
function bucketParams(buckets: number[]): [number[], number, number] {
  let lo = buckets[0]!;
  let hi = lo;
  for (const b of buckets) {
    if (b < lo) lo = b;
    if (b > hi) hi = b;
  }
  return [buckets, lo, hi];
}

/**
 * As `inBuckets`, the list given as timestamps (ISO text): no subquery, so the K-node form of the batch
 * read (coalesce.ts) holds none either — PostgreSQL evaluated such an uncorrelated subquery (an
 * InitPlan under the partitions' Append) for the first node only and reused it for the others.
 */
const inBucketList = (n: number) =>
  `bucket = any($${n}::timestamptz[])
     and bucket >= to_timestamp($${n + 1} / 1000.0) and bucket <= to_timestamp($${n + 2} / 1000.0)`;

const BATCH_TABLES = ['agg_5m', 'agg_1h', 'agg_1d'] as const;
/**
 * The batch's read for the partitions its buckets fall in (`fromPartitionOf`: it runs on the batch's
 * generic plans, which would otherwise hold and lock every partition retention keeps).
 */
const readBatchBucketsText = textsByPartitions((starts) =>
  BATCH_TABLES.map(
    (table, i) =>
      `select ${i} as t, ${selectColumns} from ${table} where node_id = $1 and ${starts[i]} and ${inBucketList(2 + 3 * i)}`,
  ).join('\n  union all '),
);

type BatchTable = (typeof BATCH_TABLES)[number];
type BatchBuckets = Record<BatchTable, PartialRow[]>;
/** The batch read's parameter types, for its K-node form (coalesce.ts). */
const BATCH_TYPES = ['text', ...BATCH_TABLES.flatMap(() => ['timestamptz[]', 'numeric', 'numeric'])];
const isoList = (buckets: number[]) => buckets.map((b) => new Date(b).toISOString());

/** A node batch's read of its buckets as a query (null when it asks for none). */
export function batchBucketsQuery(
  nodeId: string,
  bucketsMs: Record<BatchTable, Iterable<number>>,
): NodeQuery | null {
  const lists = BATCH_TABLES.map((t) => [...new Set(bucketsMs[t])]);
  if (lists.every((l) => l.length === 0)) return null;
  // An empty list matches nothing (its bounds are null).
  const params = lists.flatMap((l) => {
    if (l.length === 0) return [[], null, null];
    const [buckets, lo, hi] = bucketParams(l);
    return [isoList(buckets), lo, hi];
  });
  // A table with no buckets asked for reads nothing: any start will do (the 5-minute one's).
  const anyMs = (params[1] ?? params[4] ?? params[7]) as number;
  const starts = BATCH_TABLES.map((table, i) =>
    fromPartitionOf(table, (params[3 * i + 1] as number | null) ?? anyMs),
  );
  return { text: readBatchBucketsText(starts), params: [nodeId, ...params], types: BATCH_TYPES };
}

function batchBucketsOf(found: readonly (AggRow & { t: number })[]): BatchBuckets {
  const out: BatchBuckets = { agg_5m: [], agg_1h: [], agg_1d: [] };
  for (const row of found) out[BATCH_TABLES[row.t]!].push(rowToPartial(row));
  return out;
}

/**
 * One node's stored partials of its 5-minute, hourly and daily buckets, in ONE statement (a node batch
 * reads all three: two statements fewer per node than readBuckets thrice). A table with no buckets
 * asked for gets none. Each table's part prunes its partitions as readBuckets does.
 */
export async function readBatchBuckets(
  db: Db,
  nodeId: string,
  bucketsMs: Record<BatchTable, Iterable<number>>,
): Promise<BatchBuckets> {
  const q = batchBucketsQuery(nodeId, bucketsMs);
  if (!q) return batchBucketsOf([]);
  return batchBucketsOf(
    await db.unsafe<(AggRow & { t: number })[]>(q.text, q.params as never[], { prepare: true }),
  );
}

/** Several nodes' batch reads (`readBatchBuckets`), one statement per text (coalesce.ts), in order. */
export async function readManyBatchBuckets(
  db: Db,
  reads: readonly { nodeId: string; bucketsMs: Record<BatchTable, Iterable<number>> }[],
): Promise<BatchBuckets[]> {
  const queries = reads.map((r) => batchBucketsQuery(r.nodeId, r.bucketsMs));
  const asked = queries.filter((q): q is NodeQuery => q !== null);
  const found = await readMany<AggRow & { t: number }>(db, asked);
  let next = 0;
  return queries.map((q) => batchBucketsOf(q ? found[next++]! : []));
}

/** `delta` (partials of one node) merged into `stored` (its stored rows of those buckets), in memory. */
function mergedRows(delta: readonly PartialRow[], stored: readonly PartialRow[]): PartialRow[] {
  const merged = new Map<string, PartialRow>();
  for (const row of stored) {
    merged.set(partialKey(row.nodeId, row.metric, row.bucketMs), row);
  }
  for (const row of delta) {
    const key = partialKey(row.nodeId, row.metric, row.bucketMs);
    let target = merged.get(key);
    if (!target) {
      target = { nodeId: row.nodeId, metric: row.metric, bucketMs: row.bucketMs, ...emptyPartial() };
      merged.set(key, target);
    }
    mergeInto(target, row);
  }
  return [...merged.values()];
}

/**
 * Merges `delta` (partials of one node) into the stored partials of `table`: reads the affected
 * rows, merges in memory (sketches cannot be merged in SQL), writes them back in one upsert.
 * The caller holds the node's lock, so no other writer touches these rows meanwhile.
 */
export async function mergePartials(
  db: Db,
  table: TimeSeriesTable,
  nodeId: string,
  delta: PartialRow[],
  stored?: PartialRow[],
) {
  if (delta.length === 0) return;
  const existing =
    stored ??
    (await readBuckets(
      db,
      table,
      nodeId,
      delta.map((r) => r.bucketMs),
    ));
  await upsertPartials(db, table, mergedRows(delta, existing));
}

/**
 * The merge of `delta` into `stored` (the node's stored rows of its buckets, read before) as a part of
 * a batch's combined write (batch-write.ts); null when there is nothing to write.
 */
export function mergePartialsPart(
  table: TimeSeriesTable,
  delta: readonly PartialRow[],
  stored: readonly PartialRow[],
): WritePart | null {
  if (delta.length === 0) return null;
  return partialsPart(table, mergedRows(delta, stored));
}

/** The upsert of `rows` as a part several nodes' parts merge into (their rows carry their node). */
function partialsPart(table: TimeSeriesTable, rows: readonly PartialRow[]): WritePart {
  // Built when sent alone only: merged, only the merged part's literals are built.
  let built: WritePart | undefined;
  const part = () => {
    built ??= upsertPart(table, rows);
    return built;
  };
  return {
    ctes: (first) => part().ctes(first),
    get params() {
      return part().params;
    },
    merge: { kind: `partials:${table}`, rows, of: (all) => partialsPart(table, all as PartialRow[]) },
  };
}

/** Writes partials as they are (replacing stored values) with one unnest upsert. */
export async function upsertPartials(db: Db, table: TimeSeriesTable, rows: PartialRow[]) {
  if (rows.length === 0) return;
  const part = upsertPart(table, rows);
  await db.unsafe(part.ctes(1)[0]!, part.params as never[], { prepare: true });
}

const upsertText = (table: TimeSeriesTable, p: (i: number) => string) =>
  `insert into ${table} (node_id, metric, bucket, count, sum, m2, min, max, first_ts, first, last_ts, last, sketch, seen)
     select n, m, to_timestamp(b / 1000.0), c, s, m2, mn, mx, to_timestamp(ft / 1000.0), f, to_timestamp(lt / 1000.0), l,
            decode(sk, 'base64'), decode(sn, 'base64')
     from unnest(${p(1)}::text::text[], ${p(2)}::text::int2[], ${p(3)}::text::float8[], ${p(4)}::text::int4[], ${p(5)}::text::float8[],
                 ${p(6)}::text::float8[], ${p(7)}::text::float8[], ${p(8)}::text::float8[], ${p(9)}::text::float8[], ${p(10)}::text::float8[],
                 ${p(11)}::text::float8[], ${p(12)}::text::float8[], ${p(13)}::text::text[], ${p(14)}::text::text[])
          as t(n, m, b, c, s, m2, mn, mx, ft, f, lt, l, sk, sn)
     on conflict (node_id, metric, bucket) do update set
       count = excluded.count, sum = excluded.sum, m2 = excluded.m2, min = excluded.min, max = excluded.max,
       first_ts = excluded.first_ts, first = excluded.first, last_ts = excluded.last_ts, last = excluded.last,
       sketch = excluded.sketch, seen = excluded.seen`;

/** The upsert of `rows` into `table`: its text from parameter `first` on, and its 14 parameters. */
function upsertPart(table: TimeSeriesTable, rows: readonly PartialRow[]): WritePart {
  const col = {
    node: [] as string[],
    metric: [] as number[],
    bucket: [] as number[],
    count: [] as number[],
    sum: [] as number[],
    m2: [] as number[],
    min: [] as number[],
    max: [] as number[],
    firstTs: [] as number[],
    first: [] as number[],
    lastTs: [] as number[],
    last: [] as number[],
    sketch: [] as string[],
    seen: [] as (string | null)[],
  };
  for (const r of rows) {
    col.node.push(r.nodeId);
    col.metric.push(METRICS.indexOf(r.metric));
    col.bucket.push(r.bucketMs);
    col.count.push(r.count);
    col.sum.push(r.sum);
    col.m2.push(r.m2);
    col.min.push(r.min);
    col.max.push(r.max);
    col.firstTs.push(r.firstTs);
    col.first.push(r.first);
    col.lastTs.push(r.lastTs);
    col.last.push(r.last);
    col.sketch.push(Buffer.from(sketchBytes(r)).toString('base64'));
    col.seen.push(r.seen ? Buffer.from(r.seen).toString('base64') : null);
  }
  return {
    ctes: (first) => [upsertText(table, (i) => `$${first + i - 1}`)],
    // Each column as one array literal (array-literal.ts): the statement casts them.
    params: [
      textArray(col.node),
      numberArray(col.metric),
      numberArray(col.bucket),
      numberArray(col.count),
      numberArray(col.sum),
      numberArray(col.m2),
      numberArray(col.min),
      numberArray(col.max),
      numberArray(col.firstTs),
      numberArray(col.first),
      numberArray(col.lastTs),
      numberArray(col.last),
      textArray(col.sketch),
      textArray(col.seen),
    ],
  };
}

/** A node's partials of one table in [fromMs, toMs), for history. */
export async function readNodeRange(
  db: Db,
  table: TimeSeriesTable,
  nodeId: string,
  fromMs: number,
  toMs: number,
): Promise<PartialRow[]> {
  const rows = await db.unsafe<AggRow[]>(
    `select ${selectColumns} from ${table}
     where node_id = $1 and bucket >= to_timestamp($2 / 1000.0) and bucket < to_timestamp($3 / 1000.0)
     order by bucket, metric`,
    [nodeId, fromMs, toMs],
  );
  return rows.map(rowToPartial);
}
