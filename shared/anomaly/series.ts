/** Regular-grid bucket series (see `BucketSeries`): building them from stored rows, rolling up, reading windows. */
import type { AggregateBucket, BucketSeries, MetricHistory } from './types.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;
export const FIVE_MINUTES_MS = 5 * MINUTE_MS;

/** An empty series of `length` buckets from `startMs` (which should be aligned to `stepMs`). */
export function emptySeries(startMs: number, stepMs: number, length: number): BucketSeries {
  const col = () => new Float64Array(length);
  return {
    startMs,
    stepMs,
    length,
    count: col(),
    sum: col(),
    sumSq: col(),
    min: col(),
    max: col(),
    first: col(),
    last: col(),
  };
}

/** Puts stored rows (any order) on the grid [fromMs, toMs) of `stepMs`; rows outside it are ignored. */
export function toBucketSeries(
  rows: Iterable<AggregateBucket>,
  grid: { fromMs: number; toMs: number; stepMs: number },
): BucketSeries {
  const startMs = Math.floor(grid.fromMs / grid.stepMs) * grid.stepMs;
  const length = Math.max(0, Math.ceil((grid.toMs - startMs) / grid.stepMs));
  const s = emptySeries(startMs, grid.stepMs, length);
  const sorted = [...rows].sort((a, b) => a.bucketMs - b.bucketMs);
  for (const row of sorted) {
    const i = Math.floor((row.bucketMs - startMs) / grid.stepMs);
    if (i < 0 || i >= length || row.count <= 0) continue;
    if (s.count[i]! > 0) {
      // Several (finer) rows in one grid bucket: merge; rows are in time order, so the latest row's last wins.
      s.count[i]! += row.count;
      s.sum[i]! += row.sum;
      s.sumSq[i]! += row.sumSq;
      s.min[i] = Math.min(s.min[i]!, row.min);
      s.max[i] = Math.max(s.max[i]!, row.max);
      s.last[i] = row.last;
      continue;
    }
    s.count[i] = row.count;
    s.sum[i] = row.sum;
    s.sumSq[i] = row.sumSq;
    s.min[i] = row.min;
    s.max[i] = row.max;
    s.first[i] = row.first;
    s.last[i] = row.last;
  }
  return s;
}

/** Merges consecutive buckets into coarser ones (5 min → 1 h). `stepMs` must be a multiple of the series step. */
export function rollUpSeries(series: BucketSeries, stepMs: number): BucketSeries {
  const factor = Math.round(stepMs / series.stepMs);
  if (factor < 1 || factor * series.stepMs !== stepMs) {
    throw new RangeError(`cannot roll up ${series.stepMs} ms buckets into ${stepMs} ms`);
  }
  const startMs = Math.floor(series.startMs / stepMs) * stepMs;
  const offset = (series.startMs - startMs) / series.stepMs;
  const out = emptySeries(startMs, stepMs, Math.ceil((series.length + offset) / factor));
  for (let i = 0; i < series.length; i++) {
    const c = series.count[i]!;
    if (c <= 0) continue;
    const j = Math.floor((i + offset) / factor);
    if (out.count[j] === 0) {
      out.min[j] = series.min[i]!;
      out.max[j] = series.max[i]!;
      out.first[j] = series.first[i]!;
    } else {
      out.min[j] = Math.min(out.min[j]!, series.min[i]!);
      out.max[j] = Math.max(out.max[j]!, series.max[i]!);
    }
    out.count[j]! += c;
    out.sum[j]! += series.sum[i]!;
    out.sumSq[j]! += series.sumSq[i]!;
    out.last[j] = series.last[i]!;
  }
  return out;
}

/** Index of the bucket containing `ms` (may be out of range). */
export const bucketIndex = (s: BucketSeries, ms: number): number => Math.floor((ms - s.startMs) / s.stepMs);

/** Mean of bucket `i`, or NaN when it is empty or out of range. */
export function bucketMean(s: BucketSeries, i: number): number {
  if (i < 0 || i >= s.length) return Number.NaN;
  const c = s.count[i]!;
  return c > 0 ? s.sum[i]! / c : Number.NaN;
}

/**
 * Mean of the values in [fromMs, toMs), bucket-aligned, and the share of buckets that held data. NaN mean when
 * no bucket did.
 */
export function meanOver(s: BucketSeries, fromMs: number, toMs: number): { mean: number; coverage: number } {
  const a = Math.max(0, bucketIndex(s, fromMs));
  const b = Math.min(s.length, bucketIndex(s, toMs - 1) + 1);
  const wanted = Math.max(1, Math.round((toMs - fromMs) / s.stepMs));
  let count = 0;
  let sum = 0;
  let filled = 0;
  for (let i = a; i < b; i++) {
    const c = s.count[i]!;
    if (c <= 0) continue;
    count += c;
    sum += s.sum[i]!;
    filled++;
  }
  return { mean: count > 0 ? sum / count : Number.NaN, coverage: filled / wanted };
}

/** Mean over [fromMs, toMs) from the hourly roll-up when it covers the window and is aligned, else the 5-minute series. */
export function historyMeanOver(
  h: MetricHistory,
  fromMs: number,
  toMs: number,
): { mean: number; coverage: number } {
  const hourly = h.hourly;
  if (
    hourly &&
    (fromMs - hourly.startMs) % hourly.stepMs === 0 &&
    (toMs - fromMs) % hourly.stepMs === 0 &&
    fromMs >= hourly.startMs &&
    toMs <= hourly.startMs + hourly.length * hourly.stepMs
  ) {
    return meanOver(hourly, fromMs, toMs);
  }
  return meanOver(h.fiveMinute, fromMs, toMs);
}

/** End time of the latest non-empty bucket before `nowMs`, or null (looks back at most `maxBackMs`). */
export function lastDataBefore(s: BucketSeries, nowMs: number, maxBackMs: number): number | null {
  const stop = Math.max(0, bucketIndex(s, nowMs - maxBackMs));
  for (let i = Math.min(s.length - 1, bucketIndex(s, nowMs - 1)); i >= stop; i--) {
    if (s.count[i]! > 0) return Math.min(nowMs, s.startMs + (i + 1) * s.stepMs);
  }
  return null;
}
