/**
 * Prediction intervals from the empirical distribution of a model's own past errors by lead time. A model replays
 * forecasts from earlier origins inside its history (hindcasts); their errors, grouped into lead-time buckets, give
 * quantiles that widen with lead time. Errors are divided by an hour-of-day scale first, so intervals are narrow
 * at night, when flow is low and steady, and wide in the day.
 */
import { absoluteHour, type Forecast, HOUR_MS } from './types.ts';

/** Upper bounds (inclusive) of the lead-time buckets, in hours. */
const BUCKET_ENDS = [3, 6, 12, 24, 48, 72, 96, 120, 144, 168] as const;
const MIN_PER_BUCKET = 40;
/** The narrowest an hour's scale may be relative to the average, so a flat night never gets a zero-width band. */
const MIN_HOUR_SCALE = 0.25;

export interface Hindcast {
  /** Index into the history of the first forecast hour. */
  origin: number;
  /** Point forecasts for hours origin, origin+1, …. */
  mean: Float64Array;
}

/** Quantiles of scaled errors (actual − forecast) per lead bucket, and the error scale per UTC hour of day. */
export interface ResidualModel {
  bucketEnds: readonly number[];
  q025: number[];
  q10: number[];
  q90: number[];
  q975: number[];
  hourScale: number[];
  /** Errors the quantiles rest on. */
  count: number;
}

/** Linear-interpolated quantile of a sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

export function median(values: ArrayLike<number>): number {
  const xs = Array.from(values).filter((x) => !Number.isNaN(x));
  xs.sort((a, b) => a - b);
  return quantileSorted(xs, 0.5);
}

/** Origins for hindcasts: every `stepHours` back from the end, as many as fit after `firstOrigin`. */
export function hindcastOrigins(length: number, firstOrigin: number, count = 56, stepHours = 24): number[] {
  const origins: number[] = [];
  for (let j = 1; j <= count; j++) {
    const o = length - j * stepHours;
    if (o < firstOrigin) break;
    origins.push(o);
  }
  return origins;
}

/**
 * Builds the residual model from hindcasts over `history`. Without enough hindcast errors (a short history) it
 * falls back on week-over-week differences, the errors of a seasonal-naive forecast, which every model should beat;
 * with none of those either, the intervals are NaN.
 */
export function buildResidualModel(
  history: { startMs: number; values: Float64Array },
  hindcasts: readonly Hindcast[],
  options: { calibrate?: boolean } = {},
): ResidualModel {
  const y = history.values;
  const h0 = absoluteHour(history.startMs);
  const leads: number[] = [];
  const errors: number[] = [];
  const hours: number[] = [];
  const origins: number[] = [];
  for (const hc of hindcasts) {
    for (let k = 0; k < hc.mean.length; k++) {
      const t = hc.origin + k;
      if (t >= y.length) break;
      const e = (y[t] as number) - (hc.mean[k] as number);
      if (!Number.isFinite(e)) continue;
      leads.push(k + 1);
      errors.push(e);
      hours.push((h0 + t) % 24);
      origins.push(hc.origin);
    }
  }
  const fromHindcasts = errors.length >= MIN_PER_BUCKET * 2;
  if (errors.length < MIN_PER_BUCKET * 2) {
    for (let t = 168; t < y.length; t++) {
      const e = (y[t] as number) - (y[t - 168] as number);
      if (!Number.isFinite(e)) continue;
      leads.push(1 + (t % 168));
      errors.push(e);
      hours.push((h0 + t) % 24);
    }
  }

  const absSum = new Array<number>(24).fill(0);
  const absCount = new Array<number>(24).fill(0);
  let total = 0;
  for (let i = 0; i < errors.length; i++) {
    const hour = hours[i]!;
    absSum[hour]! += Math.abs(errors[i]!);
    absCount[hour]!++;
    total += Math.abs(errors[i]!);
  }
  const overall = errors.length ? total / errors.length : 0;
  const hourScale = absSum.map((s, h) => {
    // Shrink towards the overall level when an hour has few errors.
    const n = absCount[h]!;
    const raw = overall > 0 ? (s + overall * 10) / (n + 10) / overall : 1;
    return Math.max(MIN_HOUR_SCALE, raw);
  });

  const model: ResidualModel = {
    bucketEnds: BUCKET_ENDS,
    q025: [],
    q10: [],
    q90: [],
    q975: [],
    hourScale,
    count: errors.length,
  };
  const scaled = errors.map((e, i) => e / hourScale[hours[i]!]!);
  Object.assign(model, bucketQuantiles(scaled, leads));
  if (options.calibrate && fromHindcasts) calibrate(model, scaled, leads, origins);
  return model;
}

/** Quantiles of scaled errors per lead bucket (pooling leads where a bucket has too few), widening with lead. */
function bucketQuantiles(
  scaled: readonly number[],
  leads: readonly number[],
): Pick<ResidualModel, 'q025' | 'q10' | 'q90' | 'q975'> {
  const out = { q025: [] as number[], q10: [] as number[], q90: [] as number[], q975: [] as number[] };
  let lo = 0;
  for (const end of BUCKET_ENDS) {
    let inBucket = scaled.filter((_, i) => leads[i]! > lo && leads[i]! <= end);
    // Too few errors at this lead: pool every lead up to the bucket's end.
    if (inBucket.length < MIN_PER_BUCKET) inBucket = scaled.filter((_, i) => leads[i]! <= end);
    if (inBucket.length < MIN_PER_BUCKET) inBucket = [...scaled];
    inBucket.sort((a, b) => a - b);
    // No error at all to learn from (a history shorter than a week): the width is unknown, not zero.
    const q = (p: number): number => (inBucket.length ? quantileSorted(inBucket, p) : Number.NaN);
    const at = out.q10.length;
    // Uncertainty does not shrink with lead time: each bucket is at least as wide as the one before.
    out.q025.push(Math.min(q(0.025), at ? out.q025[at - 1]! : 0));
    out.q10.push(Math.min(q(0.1), at ? out.q10[at - 1]! : 0));
    out.q90.push(Math.max(q(0.9), at ? out.q90[at - 1]! : 0));
    out.q975.push(Math.max(q(0.975), at ? out.q975[at - 1]! : 0));
    lo = end;
  }
  return out;
}

/** The factors a calibrated model's widths may take (a narrower band is allowed, down to 0.8). */
const CALIBRATION_FACTORS = Array.from({ length: 33 }, (_, i) => 0.8 + i * 0.05);

/**
 * Split-conformal calibration of the widths (in place): quantiles from the errors of the older half of the replay
 * origins, checked on the newer half; each band (80 %, 95 %) is then scaled by the smallest factor (0.8 … 2.4) whose
 * band held its share of the newer errors. So a series whose errors grew lately (a level shift, a change of habits)
 * gets wider bands, one whose errors shrank narrower ones, from its own recent replays only.
 */
function calibrate(model: ResidualModel, scaled: number[], leads: number[], origins: number[]): void {
  const sorted = [...new Set(origins)].sort((a, b) => a - b);
  if (sorted.length < 4) return;
  const split = sorted[Math.floor(sorted.length / 2)]!;
  const older = scaled.map((_, i) => i).filter((i) => origins[i]! < split);
  const newer = scaled.map((_, i) => i).filter((i) => origins[i]! >= split);
  if (older.length < MIN_PER_BUCKET * 2 || newer.length < MIN_PER_BUCKET) return;
  const q = bucketQuantiles(
    older.map((i) => scaled[i]!),
    older.map((i) => leads[i]!),
  );
  const bucketOf = (lead: number): number => {
    let b = 0;
    while (b < BUCKET_ENDS.length - 1 && lead > BUCKET_ENDS[b]!) b++;
    return b;
  };
  const factor = (lo: number[], hi: number[], share: number): number => {
    for (const f of CALIBRATION_FACTORS) {
      let inside = 0;
      for (const i of newer) {
        const b = bucketOf(leads[i]!);
        if (scaled[i]! >= f * lo[b]! && scaled[i]! <= f * hi[b]!) inside++;
      }
      if (inside >= share * newer.length) return f;
    }
    return CALIBRATION_FACTORS[CALIBRATION_FACTORS.length - 1]!;
  };
  const f80 = factor(q.q10, q.q90, 0.8);
  const f95 = factor(q.q025, q.q975, 0.95);
  model.q10 = model.q10.map((v) => v * f80);
  model.q90 = model.q90.map((v) => v * f80);
  // The 95 % band stays around the 80 % one.
  model.q025 = model.q025.map((v, b) => Math.min(v * f95, model.q10[b]!));
  model.q975 = model.q975.map((v, b) => Math.max(v * f95, model.q90[b]!));
}

/** Wraps a point forecast starting at `startMs` in the intervals of a residual model. */
export function withIntervals(startMs: number, mean: Float64Array, residuals: ResidualModel): Forecast {
  const n = mean.length;
  const lo80 = new Float64Array(n);
  const hi80 = new Float64Array(n);
  const lo95 = new Float64Array(n);
  const hi95 = new Float64Array(n);
  const h0 = absoluteHour(startMs);
  let b = 0;
  for (let k = 0; k < n; k++) {
    while (b < residuals.bucketEnds.length - 1 && k + 1 > residuals.bucketEnds[b]!) b++;
    const s = residuals.hourScale[(h0 + k) % 24]!;
    const m = mean[k]!;
    lo80[k] = m + s * residuals.q10[b]!;
    hi80[k] = m + s * residuals.q90[b]!;
    lo95[k] = m + s * residuals.q025[b]!;
    hi95[k] = m + s * residuals.q975[b]!;
  }
  return { startMs, mean, lo80, hi80, lo95, hi95 };
}

export const forecastStartMs = (history: { startMs: number; values: Float64Array }): number =>
  history.startMs + history.values.length * HOUR_MS;

/** Share of the actual hours (NaN skipped) that fall inside [lo, hi]; NaN without any actual. */
export function intervalCoverage(
  actual: ArrayLike<number>,
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
): number {
  let inside = 0;
  let count = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    if (Number.isNaN(a)) continue;
    count++;
    if (a >= lo[i]! && a <= hi[i]!) inside++;
  }
  return count ? inside / count : Number.NaN;
}
