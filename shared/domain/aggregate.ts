/**
 * Mergeable partial aggregates. A partial summarises the values of one metric of one node inside
 * one time bucket: count, sum, sum of squares, min, max, first and last (by reading time), and a
 * quantile sketch. The sum of squares is kept in its numerically stable form, m2 = Σ(v − mean)²
 * (Welford; merged with Chan's formula; Σv² = m2 + sum²/count): cumulative volume registers read
 * around 10⁹ m³, where a raw Σv² would cancel away the whole variance. Merging two partials is associative and commutative, so buckets can be built
 * from any split of the readings, in any order, and rolled up to coarser buckets without going
 * back to the raw readings.
 */
import { METRICS, type Metric, type Reading } from './readings.ts';
import {
  decodeSketch,
  encodeSketch,
  isEncoded,
  liveSketch,
  mergeEncoded,
  mergeSketch,
  newSketch,
  quantile,
  type StoredSketch,
} from './sketch.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
/** The base resolution of partial aggregates. */
export const BUCKET_MS = 5 * MINUTE_MS;

export const RESOLUTIONS = { '5m': BUCKET_MS, '1h': HOUR_MS, '1d': DAY_MS } as const;
export type Resolution = keyof typeof RESOLUTIONS;

/** What every partial carries besides its sketch: the moments, extremes and first/last values. */
export interface Moments {
  count: number;
  sum: number;
  /** Σ(v − mean)²: the sum of squared deviations. */
  m2: number;
  min: number;
  max: number;
  firstTs: number;
  first: number;
  lastTs: number;
  last: number;
}

export interface PartialAggregate extends Moments {
  /**
   * The quantile sketch: live while it is being built, or the canonical bytes as stored (rows read
   * from PostgreSQL stay encoded: merging adds their bins without building a sketch per row).
   */
  sketch: StoredSketch;
  /**
   * 5-minute partials only: which seconds of the bucket already hold a value (a 300-bit bitmap),
   * so a reading delivered again in a later batch is recognised as a duplicate and not counted twice.
   */
  seen?: Uint8Array;
}

export const SEEN_BYTES = Math.ceil(BUCKET_MS / 1000 / 8);
const secondOf = (ts: number) => Math.floor((ts - bucketStart(ts)) / 1000);
export const hasSeen = (seen: Uint8Array | undefined, ts: number): boolean => {
  if (!seen) return false;
  const s = secondOf(ts);
  return ((seen[s >> 3] ?? 0) & (1 << (s & 7))) !== 0;
};
function markSeen(p: PartialAggregate, ts: number): void {
  p.seen ??= new Uint8Array(SEEN_BYTES);
  const s = secondOf(ts);
  p.seen[s >> 3]! |= 1 << (s & 7);
}

export interface PartialRow extends PartialAggregate {
  nodeId: string;
  metric: Metric;
  /** Bucket start, epoch ms (UTC-aligned to the bucket size). */
  bucketMs: number;
}

export const bucketStart = (ts: number, sizeMs: number = BUCKET_MS): number =>
  Math.floor(ts / sizeMs) * sizeMs;

export function emptyPartial(): PartialAggregate {
  return {
    count: 0,
    sum: 0,
    m2: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    firstTs: Number.POSITIVE_INFINITY,
    first: Number.NaN,
    lastTs: Number.NEGATIVE_INFINITY,
    last: Number.NaN,
    sketch: newSketch(),
  };
}

// First and last are ordered by (time, value), so equal times resolve the same way in any order.
export function takeFirst(p: Moments, ts: number, value: number): void {
  if (ts < p.firstTs || (ts === p.firstTs && value < p.first)) {
    p.firstTs = ts;
    p.first = value;
  }
}
export function takeLast(p: Moments, ts: number, value: number): void {
  if (ts > p.lastTs || (ts === p.lastTs && value > p.last)) {
    p.lastTs = ts;
    p.last = value;
  }
}

export function addValue(p: PartialAggregate, ts: number, value: number): void {
  const delta = p.count === 0 ? 0 : value - p.sum / p.count;
  p.count += 1;
  p.sum += value;
  p.m2 += delta * (value - p.sum / p.count);
  if (value < p.min) p.min = value;
  if (value > p.max) p.max = value;
  takeFirst(p, ts, value);
  takeLast(p, ts, value);
  if (isEncoded(p.sketch)) p.sketch = decodeSketch(p.sketch);
  p.sketch.accept(value);
}

/**
 * Adds the moments of a non-empty `source` into `target` in place: Chan's parallel formula for m2, so the
 * per-cycle partials and the bulk backfill's builders merge with the same arithmetic.
 */
export function mergeMoments(target: Moments, source: Moments): void {
  if (target.count === 0) {
    target.m2 = source.m2;
  } else {
    const delta = source.sum / source.count - target.sum / target.count;
    target.m2 += source.m2 + (delta * delta * target.count * source.count) / (target.count + source.count);
  }
  target.count += source.count;
  target.sum += source.sum;
  if (source.min < target.min) target.min = source.min;
  if (source.max > target.max) target.max = source.max;
  takeFirst(target, source.firstTs, source.first);
  takeLast(target, source.lastTs, source.last);
}

/** Adds `source` into `target` in place and returns `target`. */
export function mergeInto(target: PartialAggregate, source: PartialAggregate): PartialAggregate {
  if (source.count === 0) return target;
  mergeMoments(target, source);
  if (isEncoded(target.sketch)) target.sketch = decodeSketch(target.sketch);
  if (isEncoded(source.sketch)) mergeEncoded(target.sketch, source.sketch);
  else mergeSketch(target.sketch, source.sketch);
  if (source.seen) {
    target.seen ??= new Uint8Array(SEEN_BYTES);
    for (let i = 0; i < SEEN_BYTES; i++) target.seen[i]! |= source.seen[i] ?? 0;
  }
  return target;
}

export const partialKey = (nodeId: string, metric: Metric, bucketMs: number): string =>
  `${nodeId}\u0000${metric}\u0000${bucketMs}`;

/**
 * Aggregates valid readings into partials per (node, metric, bucket). Readings must already be
 * cleaned (see `cleanReadings`): every value present here is counted.
 */
export function aggregateReadings(readings: Iterable<Reading>, sizeMs: number = BUCKET_MS): PartialRow[] {
  // (At 5 minutes each partial also records the seconds it holds: see `seen`.)
  const rows = new Map<string, PartialRow>();
  for (const r of readings) {
    const bucketMs = bucketStart(r.ts, sizeMs);
    for (const metric of METRICS) {
      const v = r.values[metric];
      if (v === undefined || v === null) continue;
      const key = partialKey(r.nodeId, metric, bucketMs);
      let row = rows.get(key);
      if (!row) {
        row = { nodeId: r.nodeId, metric, bucketMs, ...emptyPartial() };
        rows.set(key, row);
      }
      addValue(row, r.ts, v);
      if (sizeMs === BUCKET_MS) markSeen(row, r.ts);
    }
  }
  return [...rows.values()];
}

/** Merges partial rows into coarser buckets (e.g. 5m → 1h). Inputs are not modified. */
export function rollUp(rows: Iterable<PartialRow>, sizeMs: number): PartialRow[] {
  const out = new Map<string, PartialRow>();
  for (const row of rows) {
    const bucketMs = bucketStart(row.bucketMs, sizeMs);
    const key = partialKey(row.nodeId, row.metric, bucketMs);
    let target = out.get(key);
    if (!target) {
      target = { nodeId: row.nodeId, metric: row.metric, bucketMs, ...emptyPartial() };
      out.set(key, target);
    }
    // The seen-bitmap is per 5-minute bucket: it does not roll up.
    mergeInto(target, { ...row, seen: undefined });
  }
  return [...out.values()];
}

export interface Stats {
  count: number;
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  stddev: number | null;
  p05: number | null;
  p50: number | null;
  p95: number | null;
  first: number | null;
  last: number | null;
  firstTs: number | null;
  lastTs: number | null;
}

/** Summary statistics of a partial. Quantiles are within SKETCH_RELATIVE_ACCURACY of the truth. */
export function summarize(p: PartialAggregate): Stats {
  if (p.count === 0) {
    return {
      count: 0,
      sum: 0,
      mean: null,
      min: null,
      max: null,
      stddev: null,
      p05: null,
      p50: null,
      p95: null,
      first: null,
      last: null,
      firstTs: null,
      lastTs: null,
    };
  }
  const mean = p.sum / p.count;
  const variance = p.count > 1 ? Math.max(0, p.m2 / (p.count - 1)) : 0;
  // Quantiles from the sketch, kept inside the exact min/max.
  const sketch = liveSketch(p.sketch);
  const q = (x: number) => Math.min(p.max, Math.max(p.min, quantile(sketch, x) ?? mean));
  return {
    count: p.count,
    sum: p.sum,
    mean,
    min: p.min,
    max: p.max,
    stddev: Math.sqrt(variance),
    p05: q(0.05),
    p50: q(0.5),
    p95: q(0.95),
    first: p.first,
    last: p.last,
    firstTs: p.firstTs,
    lastTs: p.lastTs,
  };
}

/** The sketch as stored (canonical bytes) and back. */
export const sketchBytes = (p: PartialAggregate): Uint8Array =>
  isEncoded(p.sketch) ? p.sketch : encodeSketch(p.sketch);
