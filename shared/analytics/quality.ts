/**
 * Data quality per node and window: completeness, validity, timeliness, flatline share, duplicates,
 * out-of-order share, an overall 0–100 score, and a network score.
 *
 * The aggregator sees 30 minutes of ingestion at a time and stores quality per node per 5-minute bucket,
 * so everything a window needs is a counter that merges: `countQuality` turns one batch of a node's raw
 * readings into counters, `mergeQuality` adds counters of buckets or cycles, `scoreQuality` (quality-score.ts)
 * reads a merged window, `networkQuality` (network-quality.ts) the network's nodes. Sums, minima and maxima
 * merge exactly in any order. Flatline runs merge exactly too, provided counters are merged in time order
 * (bucket a before bucket b): each side keeps the run at its start and at its end, and two runs of the same
 * value meeting at the edge are joined. The one approximation: late readings merged into a bucket that was
 * already counted are treated as if they followed its values in time, and a duplicate of a reading counted
 * in an earlier batch is not recognised.
 */
import { BUCKET_MS, bucketStart, MINUTE_MS } from '../domain/aggregate.ts';
import {
  KIND_METRICS,
  METRICS,
  type Metric,
  type NodeKind,
  PHYSICAL_LIMITS,
  type Reading,
} from '../domain/readings.ts';

/** Runs of identical consecutive values of one metric, in time order, summarised so two of them merge. */
export interface FlatRuns {
  /** Values seen. */
  n: number;
  /** Value and length of the run the values start with; value null for excluded true zeros. */
  firstValue: number | null;
  firstRun: number;
  /** Value and length of the run the values end with (the same run as the first when firstRun = n). */
  lastValue: number | null;
  lastRun: number;
  /** Values in runs longer than the limit that are neither the first nor the last run. */
  flat: number;
}

export interface QualityCounters {
  /** Rows received, duplicates and invalid ones included. */
  received: number;
  /** Distinct reading times, future ones excluded: the readings present for completeness. */
  present: number;
  valid: number;
  /** invalid = future + nan + outOfRange: each invalid reading is counted under its first failing rule. */
  invalid: number;
  /** Time stamped later than its ingestion (or than now) by more than the clock tolerance. */
  future: number;
  /** A NaN or infinite value, or no value at all. */
  nan: number;
  /** A value outside PHYSICAL_LIMITS. */
  outOfRange: number;
  /** Rows whose time was already received in the same batch. */
  duplicates: number;
  /** Rows that arrived with a time earlier than one already received. */
  outOfOrder: number;
  /** Earliest and latest reading time, future readings excluded. */
  minTs: number | null;
  maxTs: number | null;
  /** Σ (ingestedAt − ts) over non-future rows, ms. */
  ingestDelaySumMs: number;
  /** The longest run of identical values that is still normal; merged counters must agree on it. */
  flatlineMaxRun: number;
  flat: Partial<Record<Metric, FlatRuns>>;
}

export interface QualityContext {
  /** Processing time: readings later than this (plus tolerance) are from the future. */
  now: number;
  kind?: NodeKind;
  /** Metrics the node should report. Default: KIND_METRICS of the kind, else whatever each reading carries. */
  metrics?: readonly Metric[];
  /**
   * Metrics whose zero is a real state, not a stuck sensor: runs of zeros are not flatlines. Default by kind:
   * a pump that is off reads flow 0; a household uses no water for hours at night.
   */
  trueZeroMetrics?: readonly Metric[];
  /** The node's latest reading time before this batch (`maxTs` of its stored counters), for out-of-order. */
  previousMaxTs?: number | null;
  /** Clock skew tolerated before a reading counts as from the future. Default 5 minutes. */
  futureToleranceMs?: number;
  /** Default 12: an hour of 5-minute readings with not one changed digit is a stuck sensor or logger. */
  flatlineMaxRun?: number;
}

export const DEFAULT_FLATLINE_MAX_RUN = 12;
export const DEFAULT_FUTURE_TOLERANCE_MS = 5 * MINUTE_MS;

const TRUE_ZERO_METRICS: Partial<Record<NodeKind, readonly Metric[]>> = {
  pump: ['flow'],
  customer: ['flow'],
};

/**
 * Volume is a cumulative register that legitimately stands still whenever flow is zero, and temperature
 * moves slower than its resolution for hours: identical runs of either say nothing about the sensor.
 */
const NOT_FLATLINE_CHECKED: ReadonlySet<Metric> = new Set(['volume', 'temperature']);

export function emptyQuality(flatlineMaxRun: number = DEFAULT_FLATLINE_MAX_RUN): QualityCounters {
  return {
    received: 0,
    present: 0,
    valid: 0,
    invalid: 0,
    future: 0,
    nan: 0,
    outOfRange: 0,
    duplicates: 0,
    outOfOrder: 0,
    minTs: null,
    maxTs: null,
    ingestDelaySumMs: 0,
    flatlineMaxRun,
    flat: {},
  };
}

// ---------------------------------------------------------------- flat runs

const runFlat = (length: number, value: number | null, maxRun: number): number =>
  value !== null && length > maxRun ? length : 0;

function pushValue(s: FlatRuns, value: number | null, maxRun: number): void {
  if (s.n === 0) {
    Object.assign(s, { n: 1, firstValue: value, firstRun: 1, lastValue: value, lastRun: 1, flat: 0 });
    return;
  }
  if (value === s.lastValue) {
    if (s.firstRun === s.n) s.firstRun++;
    s.lastRun++;
  } else {
    if (s.firstRun !== s.n) s.flat += runFlat(s.lastRun, s.lastValue, maxRun);
    s.lastValue = value;
    s.lastRun = 1;
  }
  s.n++;
}

/** Merges the runs of `a` followed in time by those of `b`. */
export function mergeFlatRuns(a: FlatRuns, b: FlatRuns, maxRun: number): FlatRuns {
  if (a.n === 0) return { ...b };
  if (b.n === 0) return { ...a };
  const aSingle = a.firstRun === a.n;
  const bSingle = b.firstRun === b.n;
  const n = a.n + b.n;
  if (a.lastValue === b.firstValue) {
    const joined = a.lastRun + b.firstRun;
    return {
      n,
      firstValue: a.firstValue,
      firstRun: aSingle ? joined : a.firstRun,
      lastValue: b.lastValue,
      lastRun: bSingle ? joined : b.lastRun,
      flat: a.flat + b.flat + (aSingle || bSingle ? 0 : runFlat(joined, a.lastValue, maxRun)),
    };
  }
  return {
    n,
    firstValue: a.firstValue,
    firstRun: a.firstRun,
    lastValue: b.lastValue,
    lastRun: b.lastRun,
    flat:
      a.flat +
      b.flat +
      (aSingle ? 0 : runFlat(a.lastRun, a.lastValue, maxRun)) +
      (bSingle ? 0 : runFlat(b.firstRun, b.firstValue, maxRun)),
  };
}

/** Values of one metric in runs longer than `maxRun`. */
export function flatCount(s: FlatRuns, maxRun: number): number {
  if (s.n === 0) return 0;
  if (s.firstRun === s.n) return runFlat(s.n, s.firstValue, maxRun);
  return s.flat + runFlat(s.firstRun, s.firstValue, maxRun) + runFlat(s.lastRun, s.lastValue, maxRun);
}

// ---------------------------------------------------------------- counting

type Status = 'valid' | 'nan' | 'outOfRange' | 'future';

interface Classified {
  reading: Reading;
  status: Status;
  duplicate: boolean;
  outOfOrder: boolean;
  /** The time that decides the bucket: the reading's own, or its arrival for a future reading. */
  at: number;
}

function valueStatus(reading: Reading, metrics: readonly Metric[] | undefined): Status {
  let any = false;
  let outOfRange = false;
  for (const m of metrics ?? (Object.keys(reading.values) as Metric[])) {
    const v = reading.values[m];
    const limits = PHYSICAL_LIMITS[m];
    if (v === undefined || v === null || !limits) continue;
    if (!Number.isFinite(v)) return 'nan';
    any = true;
    if (v < limits[0] || v > limits[1]) outOfRange = true;
  }
  if (!any) return 'nan';
  return outOfRange ? 'outOfRange' : 'valid';
}

// Arrival order is ingestion time, ties in the order given (the order the source returned them).
const metricsOf = (ctx: QualityContext): readonly Metric[] | undefined =>
  ctx.metrics ?? (ctx.kind ? KIND_METRICS[ctx.kind] : undefined);

function classify(readings: readonly Reading[], ctx: QualityContext): Classified[] {
  const tolerance = ctx.futureToleranceMs ?? DEFAULT_FUTURE_TOLERANCE_MS;
  const metrics = metricsOf(ctx);
  const arrival = readings.map((reading, i) => ({ reading, i }));
  arrival.sort((x, y) => x.reading.ingestedAt - y.reading.ingestedAt || x.i - y.i);
  let maxTs = ctx.previousMaxTs ?? Number.NEGATIVE_INFINITY;
  const seen = new Set<number>();
  return arrival.map(({ reading }) => {
    const arrivedAt = Number.isFinite(reading.ingestedAt) ? Math.min(ctx.now, reading.ingestedAt) : ctx.now;
    const future = reading.ts > arrivedAt + tolerance;
    const duplicate = !future && seen.has(reading.ts);
    const outOfOrder = !future && !duplicate && reading.ts < maxTs;
    if (!future) {
      seen.add(reading.ts);
      maxTs = Math.max(maxTs, reading.ts);
    }
    const status = future ? 'future' : valueStatus(reading, metrics);
    return { reading, status, duplicate, outOfOrder, at: future ? arrivedAt : reading.ts };
  });
}

function accumulate(items: Classified[], ctx: QualityContext): QualityCounters {
  const maxRun = ctx.flatlineMaxRun ?? DEFAULT_FLATLINE_MAX_RUN;
  const c = emptyQuality(maxRun);
  for (const { reading, status, duplicate, outOfOrder } of items) {
    c.received++;
    if (status === 'valid') c.valid++;
    else {
      c.invalid++;
      c[status]++;
    }
    if (duplicate) c.duplicates++;
    if (outOfOrder) c.outOfOrder++;
    if (status === 'future') continue;
    if (!duplicate) c.present++;
    c.minTs = Math.min(c.minTs ?? reading.ts, reading.ts);
    c.maxTs = Math.max(c.maxTs ?? reading.ts, reading.ts);
    c.ingestDelaySumMs += reading.ingestedAt - reading.ts;
  }
  // Flatline runs follow reading time; duplicates and invalid values take no part.
  const inTime = items.filter((x) => !x.duplicate && x.status !== 'future');
  inTime.sort((x, y) => x.reading.ts - y.reading.ts);
  const trueZero = new Set(ctx.trueZeroMetrics ?? (ctx.kind ? (TRUE_ZERO_METRICS[ctx.kind] ?? []) : []));
  const metrics = metricsOf(ctx);
  for (const { reading } of inTime) {
    for (const m of metrics ?? (Object.keys(reading.values) as Metric[])) {
      const v = reading.values[m];
      const limits = PHYSICAL_LIMITS[m];
      if (!limits || NOT_FLATLINE_CHECKED.has(m)) continue;
      if (v === undefined || v === null || !Number.isFinite(v) || v < limits[0] || v > limits[1]) continue;
      c.flat[m] ??= { n: 0, firstValue: null, firstRun: 0, lastValue: null, lastRun: 0, flat: 0 };
      pushValue(c.flat[m], v === 0 && trueZero.has(m) ? null : v, maxRun);
    }
  }
  return c;
}

/** The quality counters of one batch of one node's raw readings. */
export function countQuality(readings: readonly Reading[], ctx: QualityContext): QualityCounters {
  return accumulate(classify(readings, ctx), ctx);
}

/**
 * The quality counters of one batch of one node's readings per bucket of reading time (5 minutes by
 * default), for storage. Out-of-order and duplicates are judged over the whole batch. A reading from the
 * future is counted in the bucket of its arrival, since its own time is meaningless.
 */
export function countQualityByBucket(
  readings: readonly Reading[],
  ctx: QualityContext,
  bucketMs: number = BUCKET_MS,
): Map<number, QualityCounters> {
  const buckets = new Map<number, Classified[]>();
  for (const item of classify(readings, ctx)) {
    const key = bucketStart(item.at, bucketMs);
    const list = buckets.get(key);
    if (list) list.push(item);
    else buckets.set(key, [item]);
  }
  const keys = [...buckets.keys()].sort((a, b) => a - b);
  return new Map(keys.map((k) => [k, accumulate(buckets.get(k)!, ctx)]));
}

const minOf = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);
const maxOf = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.max(a, b);

/** Merges counters of `a` followed in time by `b` (the order matters for flatline runs only). */
export function mergeQuality(a: QualityCounters, b: QualityCounters): QualityCounters {
  if (a.flatlineMaxRun !== b.flatlineMaxRun) {
    throw new RangeError(
      `cannot merge flatline runs counted with limits ${a.flatlineMaxRun} and ${b.flatlineMaxRun}`,
    );
  }
  const flat: Partial<Record<Metric, FlatRuns>> = {};
  for (const m of METRICS) {
    const x = a.flat[m];
    const y = b.flat[m];
    if (x && y) flat[m] = mergeFlatRuns(x, y, a.flatlineMaxRun);
    else if (x || y) flat[m] = { ...(x ?? y)! };
  }
  return {
    received: a.received + b.received,
    present: a.present + b.present,
    valid: a.valid + b.valid,
    invalid: a.invalid + b.invalid,
    future: a.future + b.future,
    nan: a.nan + b.nan,
    outOfRange: a.outOfRange + b.outOfRange,
    duplicates: a.duplicates + b.duplicates,
    outOfOrder: a.outOfOrder + b.outOfOrder,
    minTs: minOf(a.minTs, b.minTs),
    maxTs: maxOf(a.maxTs, b.maxTs),
    ingestDelaySumMs: a.ingestDelaySumMs + b.ingestDelaySumMs,
    flatlineMaxRun: a.flatlineMaxRun,
    flat,
  };
}
