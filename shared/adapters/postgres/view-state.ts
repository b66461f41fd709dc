/**
 * The node's served views' inputs in PostgreSQL: the view read (the partials the windows and the 7-day
 * series are computed from) and the table `node_view_state`, which this module owns: per node, its
 * settled view state (`domain/view-state.ts`) for its latest reading's day, so the view read of every
 * cycle reads that day's rows (and the last 24 hours') instead of the 168 hours and 30 days behind them.
 *
 * The state is written only under the node's lock (a node batch rebuilds it when the day changes or the
 * batch touched an earlier day's buckets; the bulk backfill deletes it for the nodes it writes), so it is
 * always as current as the partials committed with it. A read whose state is missing or of another day
 * gets every row, as before the state existed (one statement either way).
 */
import type { PartialAggregate, PartialRow } from '../../domain/aggregate.ts';
import { METRICS, type Metric } from '../../domain/readings.ts';
import { encodeSketch, newSketch } from '../../domain/sketch.ts';
import {
  DAILY_RANGES,
  dayOf,
  lightRow,
  type SettledView,
  settledDaysFrom,
  settledHoursFrom,
  settleView,
} from '../../domain/view-state.ts';
import type { Sql, TransactionSql } from './client.ts';
import { type NodeQuery, readMany } from './coalesce.ts';
import { fromPartitionOf, textsByPartitions } from './partitions.ts';

type Db = Sql | TransactionSql;

const EMPTY_SKETCH = encodeSketch(newSketch());

/** Where a node's view reads start. */
export interface ViewBounds {
  m5FromMs: number;
  h1FromMs: number;
  /** Hourly rows before this carry only what the 7-day series and forecasts use (see below). */
  h1FullFromMs: number;
  d1FromMs: number;
  /** The latest reading's UTC day: the settled state read with the rows if it is of this day. */
  dayMs: number;
}

interface ViewRow {
  t: number;
  metric: number;
  bucket_ms: number;
  count: number;
  sum: number;
  m2: number | null;
  min: number;
  max: number;
  first_ts_ms: number | null;
  first: number | null;
  last_ts_ms: number | null;
  last: number | null;
  sketch: Uint8Array | null;
}

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;
const at = (n: number) => `to_timestamp($${n}::float8 / 1000)`;
const fullOrNull = (column: string) => `case when bucket >= ${at(4)} then ${column} end`;
/** With a state of the day ($6): hourly rows from the full ones ($4) on and today's daily row only. */
const hasState = 'exists (select from s)';
/**
 * The view read's text for the partitions its bounds fall in: each table's scan also carries the
 * start of the partition its earliest bound falls in as a literal (`bucket >= '…'`, implied by the
 * parameter's bound), so the plan — generic too — holds only the partitions from there on, not every
 * partition retention keeps (90 days of agg_5m). Its generic plan then costs what a custom plan costs,
 * and `plan_cache_mode = auto` switches to it after five executions per connection: the statement is
 * no longer planned at every execution (it was: a generic plan over every partition, pruned only when
 * it runs, is costed as if it read them all, so custom plans always won). One text per set of
 * partitions: a new one per day (prepared again on each connection), a few when nodes' days differ.
 */
function viewInputsText(from5m: string, from1h: string, from1d: string): string {
  return `
  with s as (select body from node_view_state where node_id = $1 and day = ${at(6)})
  select 0 as t, metric, ${ms('bucket')} as bucket_ms, count, sum, m2, min, max, ${ms('first_ts')} as first_ts_ms,
    first, ${ms('last_ts')} as last_ts_ms, last, sketch
  from agg_5m where node_id = $1 and ${from5m} and bucket >= ${at(2)}
  union all
  select 1, metric, ${ms('bucket')}, count, sum, ${fullOrNull('m2')}, min, max, ${fullOrNull(ms('first_ts'))},
    ${fullOrNull('first')}, ${fullOrNull(ms('last_ts'))}, ${fullOrNull('last')}, ${fullOrNull('sketch')}
  from agg_1h where node_id = $1 and ${from1h}
    and bucket >= to_timestamp((case when ${hasState} then $4::float8 else $3::float8 end) / 1000)
  union all
  select 2, metric, ${ms('bucket')}, count, sum, m2, min, max, ${ms('first_ts')}, first, ${ms('last_ts')}, last, sketch
  from agg_1d where node_id = $1 and ${from1d}
    and bucket >= to_timestamp((case when ${hasState} then $6::float8 else $5::float8 end) / 1000)
  union all
  select 3, null, null, null, null, null, null, null, null, null, null, null, body from s
  order by t, metric, bucket_ms`;
}

const viewInputsStatement = textsByPartitions(([from5m, from1h, from1d]) =>
  viewInputsText(from5m!, from1h!, from1d!),
);
/** The earliest bound each table can be read from (without a settled state: $3 and $5). */
const viewInputsStarts = (b: ViewBounds) => [
  fromPartitionOf('agg_5m', b.m5FromMs),
  fromPartitionOf('agg_1h', Math.min(b.h1FromMs, b.h1FullFromMs)),
  fromPartitionOf('agg_1d', Math.min(b.d1FromMs, b.dayMs)),
];

function toPartial(nodeId: string, row: ViewRow): PartialRow {
  return {
    nodeId,
    metric: METRICS[row.metric] as Metric,
    bucketMs: row.bucket_ms,
    count: row.count,
    sum: row.sum,
    m2: row.m2 ?? Number.NaN,
    min: row.min,
    max: row.max,
    firstTs: row.first_ts_ms ?? Number.NaN,
    first: row.first ?? Number.NaN,
    lastTs: row.last_ts_ms ?? Number.NaN,
    last: row.last ?? Number.NaN,
    sketch: row.sketch ?? EMPTY_SKETCH,
  };
}

export type ViewRows = Record<'5m' | '1h' | '1d', PartialRow[]>;

/**
 * What a node's served views are computed from, in ONE statement (it runs for every node every cycle),
 * each table's rows ordered by metric and bucket, without the duplicate bitmaps (the views do not use
 * them). With the node's settled state of `dayMs` (`settled`): the 5-minute rows from `m5FromMs`, the
 * hourly rows from `h1FullFromMs` and the daily rows of that day. Without: the 5-minute, hourly and
 * daily rows from `m5FromMs`, `h1FromMs` and `d1FromMs`, where hourly rows before `h1FullFromMs` come
 * with count, sum, min and max only — all the 7-day series and the forecasts read of them (the hourly
 * windows start at or after it): their variance, first and last fields are NaN and their sketch empty.
 */
export async function readNodeViewInputs(
  db: Db,
  nodeId: string,
  b: ViewBounds,
): Promise<{ rows: ViewRows; settled: SettledView | null }> {
  const q = viewInputsQuery(nodeId, b);
  return viewInputsOf(nodeId, b, await db.unsafe<ViewRow[]>(q.text, q.params as never[], { prepare: true }));
}

/** The view read as a query (coalesce.ts: its K-node form). */
function viewInputsQuery(nodeId: string, b: ViewBounds): NodeQuery {
  return {
    text: viewInputsStatement(viewInputsStarts(b)),
    params: [nodeId, b.m5FromMs, b.h1FromMs, b.h1FullFromMs, b.d1FromMs, b.dayMs],
    types: ['text', 'float8', 'float8', 'float8', 'float8', 'float8'],
    orderBy: 't, metric, bucket_ms',
  };
}

/** Several nodes' view reads (`readNodeViewInputs`), one statement per text, in the order given. */
export async function readManyNodeViewInputs(
  db: Db,
  reads: readonly { nodeId: string; bounds: ViewBounds }[],
): Promise<{ rows: ViewRows; settled: SettledView | null }[]> {
  const found = await readMany<ViewRow>(
    db,
    reads.map((r) => viewInputsQuery(r.nodeId, r.bounds)),
  );
  return reads.map((r, i) => viewInputsOf(r.nodeId, r.bounds, found[i]!));
}

function viewInputsOf(
  nodeId: string,
  b: ViewBounds,
  found: readonly ViewRow[],
): { rows: ViewRows; settled: SettledView | null } {
  const rows: ViewRows = { '5m': [], '1h': [], '1d': [] };
  const tables = [rows['5m'], rows['1h'], rows['1d']];
  let settled: SettledView | null = null;
  for (const row of found) {
    if (row.t === 3) settled = decodeSettled(nodeId, b.dayMs, row.sketch!);
    else tables[row.t]!.push(toPartial(nodeId, row));
  }
  return { rows, settled };
}

/** The day of the node's settled state (null without one). */
export async function readViewStateDay(db: Db, nodeId: string): Promise<number | null> {
  const rows = await db.unsafe<{ day_ms: number }[]>(
    `select ${ms('day')} as day_ms from node_view_state where node_id = $1`,
    [nodeId],
    { prepare: true },
  );
  return rows[0]?.day_ms ?? null;
}

const SETTLED_ROWS = `
  select 1 as t, metric, ${ms('bucket')} as bucket_ms, count, sum, null::float8 as m2, min, max,
    null::float8 as first_ts_ms, null::float8 as first, null::float8 as last_ts_ms, null::float8 as last,
    null::bytea as sketch
  from agg_1h where node_id = $1 and bucket >= ${at(2)} and bucket < ${at(4)}
  union all
  select 2, metric, ${ms('bucket')}, count, sum, m2, min, max, ${ms('first_ts')}, first, ${ms('last_ts')}, last, sketch
  from agg_1d where node_id = $1 and bucket >= ${at(3)} and bucket < ${at(4)}
  order by t, metric, bucket_ms`;

/**
 * Rebuilds the node's settled state for the day of `latestMs` from its stored rows: two statements, run
 * only when the day changed or a batch touched an earlier day. The caller holds the node's lock.
 */
export async function rebuildViewState(db: Db, nodeId: string, latestMs: number): Promise<void> {
  const dayMs = dayOf(latestMs);
  const found = await db.unsafe<ViewRow[]>(
    SETTLED_ROWS,
    [nodeId, settledHoursFrom(dayMs), settledDaysFrom(dayMs), dayMs],
    { prepare: true },
  );
  const hourly: PartialRow[] = [];
  const daily: PartialRow[] = [];
  for (const row of found) (row.t === 1 ? hourly : daily).push(toPartial(nodeId, row));
  const body = encodeSettled(settleView(dayMs, hourly, daily));
  await db.unsafe(
    `insert into node_view_state (node_id, day, body) values ($1, ${at(2)}, $3)
     on conflict (node_id) do update set day = excluded.day, body = excluded.body`,
    [nodeId, dayMs, body] as never[],
    { prepare: true },
  );
}

/** Forgets the nodes' settled states (their partials were written outside a node batch). */
export async function deleteViewStates(db: Db, nodeIds: readonly string[]): Promise<void> {
  if (nodeIds.length === 0) return;
  await db`delete from node_view_state where node_id = any(${nodeIds as string[]}::text[])`;
}

/** Forgets every settled state (partitions of partials were dropped). */
export async function deleteAllViewStates(db: Db): Promise<void> {
  await db`delete from node_view_state`;
}

// The state's bytes: float64 words in the platform's byte order (as the sketches' own encoding):
// [version, hourly rows, prefixes], then per hourly row [metric, hour, count, sum, min, max], then per
// prefix [range, metric, count, sum, m2, min, max, firstTs, first, lastTs, last, sketch bytes] and the
// sketch's bytes padded to whole words.
const FORMAT = 1;
const HOURLY_WORDS = 6;
const PREFIX_WORDS = 12;

export function encodeSettled(state: SettledView): Buffer {
  const prefixes: { range: number; metric: Metric; p: PartialAggregate }[] = [];
  DAILY_RANGES.forEach((range, i) => {
    for (const [metric, p] of state.prefixes[range]) prefixes.push({ range: i, metric, p });
  });
  let words = 3 + HOURLY_WORDS * state.hourly.length;
  for (const { p } of prefixes) words += PREFIX_WORDS + Math.ceil((p.sketch as Uint8Array).byteLength / 8);
  const f = new Float64Array(words);
  const bytes = new Uint8Array(f.buffer);
  f[0] = FORMAT;
  f[1] = state.hourly.length;
  f[2] = prefixes.length;
  let w = 3;
  for (const r of state.hourly) {
    f.set([METRICS.indexOf(r.metric), r.bucketMs, r.count, r.sum, r.min, r.max], w);
    w += HOURLY_WORDS;
  }
  for (const { range, metric, p } of prefixes) {
    const sketch = p.sketch as Uint8Array;
    f.set(
      [
        range,
        METRICS.indexOf(metric),
        p.count,
        p.sum,
        p.m2,
        p.min,
        p.max,
        p.firstTs,
        p.first,
        p.lastTs,
        p.last,
      ],
      w,
    );
    f[w + 11] = sketch.byteLength;
    w += PREFIX_WORDS;
    bytes.set(sketch, w * 8);
    w += Math.ceil(sketch.byteLength / 8);
  }
  return Buffer.from(f.buffer);
}

export function decodeSettled(nodeId: string, dayMs: number, body: Uint8Array): SettledView {
  // A copy: the driver's buffer may not be aligned for float64 words.
  const buffer = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  const f = new Float64Array(buffer);
  if (f[0] !== FORMAT) throw new Error(`unknown view state format ${f[0]}`);
  const hourly: PartialRow[] = [];
  const nHourly = f[1]!;
  const nPrefixes = f[2]!;
  let w = 3;
  for (let i = 0; i < nHourly; i++, w += HOURLY_WORDS) {
    hourly.push(
      lightRow(nodeId, METRICS[f[w]!] as Metric, f[w + 1]!, f[w + 2]!, f[w + 3]!, f[w + 4]!, f[w + 5]!),
    );
  }
  const prefixes = Object.fromEntries(DAILY_RANGES.map((r) => [r, new Map()])) as SettledView['prefixes'];
  for (let i = 0; i < nPrefixes; i++) {
    const length = f[w + 11]!;
    const sketch = new Uint8Array(buffer, (w + PREFIX_WORDS) * 8, length);
    prefixes[DAILY_RANGES[f[w]!]!].set(METRICS[f[w + 1]!] as Metric, {
      count: f[w + 2]!,
      sum: f[w + 3]!,
      m2: f[w + 4]!,
      min: f[w + 5]!,
      max: f[w + 6]!,
      firstTs: f[w + 7]!,
      first: f[w + 8]!,
      lastTs: f[w + 9]!,
      last: f[w + 10]!,
      sketch,
    });
    w += PREFIX_WORDS + Math.ceil(length / 8);
  }
  return { dayMs, hourly, prefixes };
}
