/**
 * Gradient-boosted trees on calendar, weather and lag features (what the top BWDF entries used), and the blend of
 * those trees with the ensemble, the champion where history allows.
 *
 * `gbm`: each training row is one observed hour t paired with a forecast origin o = t − (lead − 1), the lead drawn
 * in 1..168 by a hash of t (so every lead and every origin hour of the day occur, and a stored model can be
 * refreshed at any hour). Its features come from the calendar at t (local hour, weekday, day type, holiday, bridge
 * day, holiday the day before / after), the weather at t, and the flow strictly before o: the level of the last
 * week, the profile (the mean of the same hour on the last four days of the same day type, holidays counting as
 * Sundays and left out of their weekday's profile), last week's value, whether that day was a holiday, how the last day before o sat against its profile. The target is the flow divided by the series'
 * scale minus the profile, so the trees learn departures from the recent profile and one model suits a district
 * of 5 L/s and one of 80. Rows are weighted by recency (half-life eight weeks) and follow the training mask.
 * Intervals rest on out-of-sample errors: trees fitted without the last six weeks, replayed over them.
 *
 * `blend`: the weighted mean of the ensemble and the trees, the weight (0, 0.1, …, 1) the one whose blend of their
 * replays over the same past origins (the last six weeks of the history, out of sample for both) erred least, so it
 * is chosen on past origins only; its intervals come from the blended replays.
 *
 * Longer than 400 lines because the trees' features, their fit with its out-of-sample replays and the blend that
 * weighs them on those replays share one frame of the series and read best together.
 */
import type { Calendar, LocalHour } from './calendar.ts';
import { italianCalendar } from './calendar.ts';
import { type EnsembleModel, ensemble, fitEnsemble } from './ensemble.ts';
import { DEFAULT_GBM_PARAMS, fitGbm, type GbmModel, type GbmParams, predictGbm } from './gbm.ts';
import {
  buildResidualModel,
  forecastStartMs,
  type Hindcast,
  hindcastOrigins,
  median,
  type ResidualModel,
  withIntervals,
} from './intervals.ts';
import { type HourContext, hourContexts } from './regression.ts';
import { hashUnit } from './sampling.ts';
import {
  assertHorizon,
  assertHourAligned,
  DAY_HOURS,
  type FitOptions,
  type Forecast,
  type ForecastMethod,
  HOUR_MS,
  type HourlySeries,
  MAX_HORIZON_HOURS,
  WEEK_HOURS,
  type WeatherSeries,
} from './types.ts';

export const GBM_FEATURES = [
  'hour',
  'weekday',
  'dayType',
  'holiday',
  'bridge',
  'holidayBefore',
  'holidayAfter',
  'lead',
  'temp',
  'heat',
  'rain1d',
  'rain3d',
  'level',
  'profile',
  'lastWeekDev',
  'lastWeekHoliday',
  'lastDayDev',
  'recentDev',
  'shift',
  'trend',
  'lastHourDev',
  'last6hDev',
] as const;
const P = GBM_FEATURES.length;

/** Hyper-parameters, chosen on origins before the evaluation year (eval/RESULTS.md). */
export interface GbmForecastParams {
  trees: GbmParams;
  halfLifeHours: number;
  lookbackHours: number;
  holdoutHours: number;
}
export const GBM_FORECAST_PARAMS: GbmForecastParams = {
  trees: { ...DEFAULT_GBM_PARAMS },
  halfLifeHours: 8 * WEEK_HOURS,
  lookbackHours: 365 * DAY_HOURS,
  holdoutHours: 6 * WEEK_HOURS,
};
const LEAD_SEED = 0x1ead;
const MIN_ROWS = 2 * WEEK_HOURS;

export interface GbmForecastModel {
  kind: 'gbm';
  trees: GbmModel;
  scale: number;
  startMs: number;
  /** The point forecast for the 168 hours after the history (weather included when it was given). */
  mean: Float64Array;
  residuals: ResidualModel;
}

/** Flow and calendar of one series, indexable up to 168 h past its end. */
export interface Frame {
  y: Float64Array;
  n: number;
  local: LocalHour[];
  holidayBefore: Uint8Array;
  holidayAfter: Uint8Array;
  ctx: HourContext[];
  scale: number;
}

export function frameOf(
  history: HourlySeries,
  calendar: Calendar,
  weather: WeatherSeries | undefined,
  scale: number,
): Frame {
  const y = history.values;
  const n = y.length;
  const total = n + MAX_HORIZON_HOURS;
  const local: LocalHour[] = [];
  const holidayBefore = new Uint8Array(total);
  const holidayAfter = new Uint8Array(total);
  for (let i = 0; i < total; i++) {
    const ms = history.startMs + i * HOUR_MS;
    local.push(calendar.at(ms));
    holidayBefore[i] = calendar.at(ms - DAY_HOURS * HOUR_MS).holiday ? 1 : 0;
    holidayAfter[i] = calendar.at(ms + DAY_HOURS * HOUR_MS).holiday ? 1 : 0;
  }
  const ctx = hourContexts(history.startMs, total, calendar, weather);
  return { y, n, local, holidayBefore, holidayAfter, ctx, scale };
}

/** Mean of the values in [from, to), gaps skipped: summed directly, so hours outside never touch it. */
function meanRange(f: Frame, from: number, to: number): number {
  let s = 0;
  let c = 0;
  for (let i = Math.max(0, from); i < Math.min(f.n, to); i++) {
    const v = f.y[i]!;
    if (!Number.isNaN(v)) {
      s += v;
      c++;
    }
  }
  return c > 0 ? s / c : Number.NaN;
}

/** Day types for the profile: Monday … Saturday (0–5) and Sunday with the holidays (6). */
const dayKey = (local: LocalHour): number => (local.holiday || local.weekday === 6 ? 6 : local.weekday);

/**
 * The profile of hour t: the mean of the same hour on the last four days of its day type before the origin o
 * (a holiday Wednesday takes its profile from Sundays and holidays, an ordinary Wednesday skips holidays).
 */
function profileAt(f: Frame, t: number, o: number): number {
  const key = dayKey(f.local[t]!);
  let s = 0;
  let c = 0;
  for (let j = 1; j <= 42 && c < 4; j++) {
    const i = t - j * DAY_HOURS;
    if (i < 0) break;
    if (i >= o || dayKey(f.local[i]!) !== key) continue;
    const v = f.y[i]!;
    if (!Number.isNaN(v)) {
      s += v;
      c++;
    }
  }
  return c ? s / c : Number.NaN;
}

/** Fills the features of target hour t forecast from origin o; returns the baseline (profile) in scale units. */
function fillRow(f: Frame, t: number, o: number, out: Float64Array, at: number): number {
  const s = f.scale;
  const lead = t - o + 1;
  const loc = f.local[t]!;
  const cx = f.ctx[t]!;
  const level = meanRange(f, o - WEEK_HOURS, o) / s;
  const month = meanRange(f, o - 4 * WEEK_HOURS, o) / s;
  const trend = level / month;
  // The profile scaled by how the last week stands against the last four (a level shift carries into the forecast).
  const profile = (profileAt(f, t, o) / s) * (Number.isFinite(trend) && trend > 0 ? trend : 1);
  const base = Number.isNaN(profile) ? (Number.isNaN(level) ? month : level) : profile;
  const lastWeek = t - WEEK_HOURS >= 0 && t - WEEK_HOURS < o ? f.y[t - WEEK_HOURS]! / s : Number.NaN;
  const lastDayIndex = o - DAY_HOURS + ((t - o) % DAY_HOURS);
  const lastDay = lastDayIndex >= 0 ? f.y[lastDayIndex]! / s : Number.NaN;
  const lastDayMean = meanRange(f, o - DAY_HOURS, o);
  let profileDay = 0;
  let profileDays = 0;
  for (let m = 1; m <= 4; m++) {
    const v = meanRange(f, o - DAY_HOURS - m * WEEK_HOURS, o - m * WEEK_HOURS);
    if (!Number.isNaN(v)) {
      profileDay += v;
      profileDays++;
    }
  }
  const dayWeekBefore = meanRange(f, o - DAY_HOURS - WEEK_HOURS, o - WEEK_HOURS);
  out[at] = loc.hour;
  out[at + 1] = loc.weekday;
  out[at + 2] = loc.holiday || loc.weekday === 6 ? 2 : loc.weekday === 5 ? 1 : 0;
  out[at + 3] = loc.holiday ? 1 : 0;
  out[at + 4] = loc.bridge ? 1 : 0;
  out[at + 5] = f.holidayBefore[t]!;
  out[at + 6] = f.holidayAfter[t]!;
  out[at + 7] = lead;
  out[at + 8] = cx.temp;
  out[at + 9] = cx.heat;
  out[at + 10] = Number.isNaN(cx.temp) ? Number.NaN : cx.rain1d;
  out[at + 11] = Number.isNaN(cx.temp) ? Number.NaN : cx.rain3d;
  out[at + 12] = level;
  out[at + 13] = base;
  out[at + 14] = lastWeek - base;
  out[at + 15] = t - WEEK_HOURS >= 0 ? (f.local[t - WEEK_HOURS]!.holiday ? 1 : 0) : Number.NaN;
  out[at + 16] = lastDay - base;
  out[at + 17] = profileDays ? (lastDayMean - profileDay / profileDays) / s : Number.NaN;
  out[at + 18] = ((lastDayMean - dayWeekBefore) / s) * Math.exp(-lead / DAY_HOURS);
  out[at + 19] = trend;
  // How the last hours before the origin sat against their own profile: what an AR term carries into day 1.
  let dev6 = 0;
  let devs = 0;
  for (let i = o - 6; i < o; i++) {
    if (i < 0) continue;
    const d = f.y[i]! / s - profileAt(f, i, o) / s;
    if (!Number.isNaN(d)) {
      dev6 += d;
      devs++;
    }
  }
  out[at + 20] = o >= 1 ? f.y[o - 1]! / s - profileAt(f, o - 1, o) / s : Number.NaN;
  out[at + 21] = devs ? dev6 / devs : Number.NaN;
  return base;
}

export function scaleOf(y: Float64Array): number {
  const m = median(y.subarray(Math.max(0, y.length - 8 * WEEK_HOURS)));
  return Number.isFinite(m) && Math.abs(m) > 1e-6 ? Math.abs(m) : 1;
}

/** Training rows of one frame: the target hours before `end` kept by the mask, their features, targets, weights. */
export interface Rows {
  rows: number;
  x: Float64Array;
  target: Float64Array;
  weight: Float64Array;
}

export function collectRows(
  f: Frame,
  mask: Uint8Array | undefined,
  end: number,
  params: GbmForecastParams,
): Rows {
  const targets: number[] = [];
  const origins: number[] = [];
  for (let t = Math.max(WEEK_HOURS, end - params.lookbackHours); t < end; t++) {
    if (Number.isNaN(f.y[t]!) || (mask && !mask[t])) continue;
    const lead = 1 + Math.floor(hashUnit(t, LEAD_SEED) * MAX_HORIZON_HOURS);
    const o = t - lead + 1;
    if (o < WEEK_HOURS) continue;
    targets.push(t);
    origins.push(o);
  }
  const x = new Float64Array(targets.length * P);
  const target = new Float64Array(targets.length);
  const weight = new Float64Array(targets.length);
  for (let r = 0; r < targets.length; r++) {
    const t = targets[r]!;
    const base = fillRow(f, t, origins[r]!, x, r * P);
    target[r] = f.y[t]! / f.scale - base;
    weight[r] = Number.isNaN(base) ? 0 : Math.exp((-Math.LN2 * (end - t)) / params.halfLifeHours);
  }
  return { rows: targets.length, x, target, weight };
}

/** Trees fitted on the rows of several frames at once (one frame: one series' trees), or undefined with too few. */
export function fitOnRows(parts: readonly Rows[], params: GbmForecastParams): GbmModel | undefined {
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  if (rows < MIN_ROWS) return undefined;
  if (parts.length === 1) {
    const p = parts[0]!;
    return fitGbm({ rows, features: P, x: p.x }, p.target, p.weight, params.trees);
  }
  const x = new Float64Array(rows * P);
  const target = new Float64Array(rows);
  const weight = new Float64Array(rows);
  let at = 0;
  for (const p of parts) {
    x.set(p.x, at * P);
    target.set(p.target, at);
    weight.set(p.weight, at);
    at += p.rows;
  }
  return fitGbm({ rows, features: P, x }, target, weight, params.trees);
}

/** Trees fitted on the target hours before `end` (kept by the mask), or undefined with too few rows. */
function fitTrees(
  f: Frame,
  mask: Uint8Array | undefined,
  end: number,
  params: GbmForecastParams,
): GbmModel | undefined {
  return fitOnRows([collectRows(f, mask, end, params)], params);
}

/** The point forecast of `trees` from origin `o` (an index of the frame) for `horizon` hours. */
export function forecastFrom(f: Frame, trees: GbmModel, o: number, horizon: number): Float64Array {
  const out = new Float64Array(horizon);
  const row = new Float64Array(P);
  for (let k = 0; k < horizon; k++) {
    const base = fillRow(f, o + k, o, row, 0);
    out[k] = Number.isNaN(base) ? Number.NaN : f.scale * (base + predictGbm(trees, row));
  }
  return out;
}

/**
 * Fits the trees on the whole history and returns, besides the model, out-of-sample replays at `replayOrigins`
 * (indices into the history; by default daily over the last six weeks) from trees fitted before the first of them.
 * With `options.globalTrees` (trees fitted across many series, `fitGlobalTrees`) nothing is fitted here: the
 * series is forecast by those trees, and replayed only from origins at or after their holdout's end.
 */
export function fitBoosted(
  history: HourlySeries,
  options: FitOptions = {},
  replayOrigins?: readonly number[],
  params: GbmForecastParams = GBM_FORECAST_PARAMS,
): { model: GbmForecastModel; hindcasts: Hindcast[] } {
  assertHourAligned(history);
  const calendar = options.calendar ?? italianCalendar();
  const f = frameOf(history, calendar, options.weather, scaleOf(history.values));
  const n = f.n;
  const given = options.globalTrees;
  if (given && given.dataEndMs > forecastStartMs(history)) {
    throw new RangeError('gbm: the global trees were fitted on data after the end of this history');
  }
  const trees = given ? given.trees : fitTrees(f, options.trainingMask, n, params);
  if (!trees) throw new RangeError('gbm: the history holds too few values to train on');
  let origins = replayOrigins ?? hindcastOrigins(n, n - params.holdoutHours, params.holdoutHours / DAY_HOURS);
  if (origins.some((o) => o < 0)) {
    // Shorter than the replays (a backtest week of a young target): too little data, as a method says it.
    throw new RangeError(`gbm: ${n} hours, shorter than the ${params.holdoutHours} hours of replays`);
  }
  if (given) {
    const holdoutEnd = (given.holdoutEndMs - history.startMs) / HOUR_MS;
    origins = origins.filter((o) => o >= holdoutEnd);
  }
  const firstOrigin = origins.length ? Math.min(...origins) : n;
  // The replays read nothing at or after their first origin: trees and scale from the hours before it.
  const before = frameOf(
    history,
    calendar,
    options.weather,
    scaleOf(
      history.values.subarray(0, given ? (given.holdoutEndMs - history.startMs) / HOUR_MS : firstOrigin),
    ),
  );
  const holdout = given
    ? given.holdout
    : firstOrigin > WEEK_HOURS
      ? fitTrees(before, options.trainingMask, firstOrigin, params)
      : undefined;
  const hindcasts: Hindcast[] = origins.map((origin) => ({
    origin,
    mean: holdout
      ? forecastFrom(before, holdout, origin, MAX_HORIZON_HOURS)
      : forecastFrom(f, trees, origin, MAX_HORIZON_HOURS),
  }));
  return {
    model: {
      kind: 'gbm',
      trees,
      scale: f.scale,
      startMs: forecastStartMs(history),
      mean: forecastFrom(f, trees, n, MAX_HORIZON_HOURS),
      residuals: buildResidualModel(history, hindcasts),
    },
    hindcasts,
  };
}

/** The trees' point forecast at a new origin, the end of `y`, without refitting (no weather, as at refresh). */
export function boostedFrom(model: GbmForecastModel, y: HourlySeries, calendar: Calendar): Float64Array {
  const f = frameOf(y, calendar, undefined, model.scale);
  return forecastFrom(f, model.trees, f.n, MAX_HORIZON_HOURS);
}

export const gbm: ForecastMethod<GbmForecastModel> = {
  id: 'gbm',
  description:
    'gradient-boosted trees on calendar (holidays, bridge days), weather and lag features, departures from the profile',
  fit: (history, options) => fitBoosted(history, options).model,
  forecast(model, horizonHours): Forecast {
    assertHorizon(horizonHours);
    return withIntervals(model.startMs, model.mean.slice(0, horizonHours), model.residuals);
  },
};

export interface BlendModel {
  kind: 'blend';
  ensemble: EnsembleModel;
  gbm: GbmForecastModel;
  /** Weights of the ensemble and the trees, summing to 1. */
  weights: [number, number];
  residuals: ResidualModel;
}

/** Weighted mean of two forecasts where both have a value (else the one that has). */
export function blendValues(a: number, b: number, weights: readonly [number, number]): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return a * weights[0] + b * weights[1];
}

export function maeOver(y: Float64Array, hindcasts: readonly Hindcast[]): number {
  let s = 0;
  let c = 0;
  for (const h of hindcasts) {
    for (let k = 0; k < h.mean.length && h.origin + k < y.length; k++) {
      const e = Math.abs(y[h.origin + k]! - h.mean[k]!);
      if (!Number.isNaN(e)) {
        s += e;
        c++;
      }
    }
  }
  return c ? s / c : Number.NaN;
}

export function fitBlend(
  history: HourlySeries,
  options: FitOptions = {},
): { model: BlendModel; hindcasts: Hindcast[] } {
  const ens = fitEnsemble(history, options);
  const trees = fitBoosted(
    history,
    options,
    ens.hindcasts.map((h) => h.origin),
  );
  return blendOf(history, ens, trees);
}

/** The blend of a fitted ensemble and fitted trees, each with its replays (`fitEnsemble`, `fitBoosted`). */
export function blendOf(
  history: HourlySeries,
  ens: { model: EnsembleModel; hindcasts: Hindcast[] },
  trees: { model: GbmForecastModel; hindcasts: Hindcast[] },
): { model: BlendModel; hindcasts: Hindcast[] } {
  // Only the origins both replayed (the global trees replay from their holdout's end on).
  const treesAt = new Map(trees.hindcasts.map((h) => [h.origin, h.mean]));
  const shared = ens.hindcasts.filter((h) => treesAt.has(h.origin));
  const blended = (w: readonly [number, number]): Hindcast[] =>
    shared.map((h) => ({
      origin: h.origin,
      mean: h.mean.map((v, k) => blendValues(v, treesAt.get(h.origin)![k]!, w)),
    }));
  // The trees' weight: the one of 0, 0.1, …, 1 whose blended replays err least (ties: the smaller weight), so a
  // node where the trees do worse keeps the ensemble.
  let weights: [number, number] = [1, 0];
  let best = Number.POSITIVE_INFINITY;
  for (let step = 0; step <= 10; step++) {
    const w: [number, number] = [1 - step / 10, step / 10];
    const mae = maeOver(history.values, blended(w));
    if (mae < best - 1e-12) {
      best = mae;
      weights = w;
    }
  }
  const hindcasts = shared.length ? blended(weights) : ens.hindcasts;
  return {
    model: {
      kind: 'blend',
      ensemble: ens.model,
      gbm: trees.model,
      weights,
      residuals: buildResidualModel(history, hindcasts),
    },
    hindcasts,
  };
}

export const blend: ForecastMethod<BlendModel> = {
  id: 'blend',
  description: 'the ensemble and the boosted trees, weighted as their replays over past origins suit best',
  fit: (history, options) => fitBlend(history, options).model,
  forecast(model, horizonHours): Forecast {
    assertHorizon(horizonHours);
    const a = ensemble.forecast(model.ensemble, horizonHours).mean;
    const b = model.gbm.mean;
    const mean = a.map((v, k) => blendValues(v, b[k]!, model.weights));
    return withIntervals(model.gbm.startMs, mean, model.residuals);
  },
};
