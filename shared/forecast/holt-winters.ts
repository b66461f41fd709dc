/**
 * Double-seasonal exponential smoothing (Taylor 2003, "Short-term electricity demand forecasting using double
 * seasonal exponential smoothing"), additive, without trend: a level, a daily cycle (24 h) and a weekly cycle
 * (168 h), plus an AR(1) correction of the last error that fades with lead time. Smoothing parameters come from a
 * small grid searched on multi-step errors of replayed forecasts over the last four weeks, weighting day 1 and
 * days 2–7 equally as the BWDF does. Gaps and hours left out of training only carry the state forward; errors
 * are clipped at a few robust standard deviations so a burst or a faulty reading does not reset the profile.
 */
import {
  buildResidualModel,
  type Hindcast,
  hindcastOrigins,
  median,
  type ResidualModel,
  withIntervals,
} from './intervals.ts';
import {
  absoluteHour,
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
} from './types.ts';

export interface HoltWintersParams {
  /** Level smoothing. */
  alpha: number;
  /** Daily-cycle smoothing. */
  delta: number;
  /** Weekly-cycle smoothing. */
  omega: number;
  /** AR(1) coefficient of the error correction. */
  phi: number;
}

export interface HoltWintersState {
  /** Absolute hour (hours since the epoch) of the next step. */
  hour: number;
  level: number;
  /** Indexed by absolute hour mod 24. */
  daily: Float64Array;
  /** Indexed by absolute hour mod 168. */
  weekly: Float64Array;
  lastError: number;
}

export interface HoltWintersModel {
  kind: 'holt-winters';
  params: HoltWintersParams;
  state: HoltWintersState;
  residuals: ResidualModel;
}

export const HOLT_WINTERS_GRID = {
  alpha: [0.01, 0.03, 0.1],
  delta: [0, 0.05, 0.15],
  omega: [0.05, 0.15, 0.3],
  phi: [0, 0.6, 0.9],
} as const;

const INIT_WEEKS = 4;
const CLIP_SIGMAS = 4;
const SEARCH_ORIGINS = 28;

const cloneState = (s: HoltWintersState): HoltWintersState => ({
  hour: s.hour,
  level: s.level,
  daily: s.daily.slice(),
  weekly: s.weekly.slice(),
  lastError: s.lastError,
});

export function forecastFromState(
  state: HoltWintersState,
  params: HoltWintersParams,
  horizon: number,
): Float64Array {
  const out = new Float64Array(horizon);
  let ar = state.lastError;
  for (let k = 0; k < horizon; k++) {
    const h = state.hour + k;
    ar *= params.phi;
    out[k] = state.level + state.daily[h % DAY_HOURS]! + state.weekly[h % WEEK_HOURS]! + ar;
  }
  return out;
}

interface Prepared {
  y: Float64Array;
  /** Index where the filter starts (first kept value). */
  start: number;
  init: HoltWintersState;
  clip: number;
}

/** Start state from the first weeks with data: the median as level, hour-of-week medians as the weekly cycle. */
function prepare(history: HourlySeries, mask: Uint8Array | undefined): Prepared | undefined {
  const y = mask ? history.values.map((v, i) => (mask[i] ? v : Number.NaN)) : history.values;
  const start = y.findIndex((v) => !Number.isNaN(v));
  if (start < 0) return undefined;
  const h0 = absoluteHour(history.startMs);
  const window = y.subarray(start, Math.min(y.length, start + INIT_WEEKS * WEEK_HOURS));
  const level = median(window);
  const weekly = new Float64Array(WEEK_HOURS);
  for (let slot = 0; slot < WEEK_HOURS; slot++) {
    const xs: number[] = [];
    for (let i = 0; i < window.length; i++) {
      if ((h0 + start + i) % WEEK_HOURS === slot && !Number.isNaN(window[i]!)) xs.push(window[i]! - level);
    }
    weekly[slot] = xs.length ? median(xs) : 0;
  }
  return {
    y,
    start,
    init: { hour: h0 + start, level, daily: new Float64Array(DAY_HOURS), weekly, lastError: 0 },
    clip: clipBound(y, level),
  };
}

/**
 * The bound errors are clipped at: a few robust standard deviations of the week-over-week changes in
 * the last eight weeks of `y` (the scale of an ordinary error); a tenth of the level without any.
 */
function clipBound(y: Float64Array, level: number): number {
  const diffs: number[] = [];
  for (let t = Math.max(WEEK_HOURS, y.length - 8 * WEEK_HOURS); t < y.length; t++) {
    const d = y[t]! - y[t - WEEK_HOURS]!;
    if (!Number.isNaN(d)) diffs.push(Math.abs(d));
  }
  const sigma = 1.4826 * (diffs.length ? median(diffs) : Math.abs(level) * 0.1);
  return sigma > 0 ? CLIP_SIGMAS * sigma : Number.POSITIVE_INFINITY;
}

/** One hour of the filter: the state takes in `v` (NaN: the error correction only fades) and moves on. */
function step(s: HoltWintersState, v: number, params: HoltWintersParams, clip: number): void {
  const { alpha, delta, omega, phi } = params;
  const di = s.hour % DAY_HOURS;
  const wi = s.hour % WEEK_HOURS;
  if (Number.isNaN(v)) {
    s.lastError *= phi;
  } else {
    // The AR part is the expected share of the error; the cycles learn only what it does not explain.
    const r = Math.max(-clip, Math.min(clip, v - (s.level + s.daily[di]! + s.weekly[wi]!)));
    const e = r - phi * s.lastError;
    s.level += alpha * e;
    s.daily[di] = s.daily[di]! + delta * e;
    s.weekly[wi] = s.weekly[wi]! + omega * e;
    s.lastError = r;
  }
  s.hour++;
}

/** Runs the filter over the whole history; returns the final state and copies taken just before each origin. */
function runFilter(
  p: Prepared,
  params: HoltWintersParams,
  origins: readonly number[],
): { final: HoltWintersState; snapshots: Map<number, HoltWintersState> } {
  const s = cloneState(p.init);
  const wanted = new Set(origins);
  const snapshots = new Map<number, HoltWintersState>();
  const { y, clip } = p;
  for (let t = p.start; t < y.length; t++) {
    if (wanted.has(t)) snapshots.set(t, cloneState(s));
    step(s, y[t]!, params, clip);
  }
  return { final: s, snapshots };
}

/**
 * A fitted model moved forward to `endMs` without refitting: the filter runs on over the hours of `y`
 * (hourly; hours it does not cover count as missing) with the fitted parameters, clipping at the bound
 * the fit would compute from `y`.
 */
export function advanceHoltWinters(
  model: HoltWintersModel,
  y: HourlySeries,
  endMs: number,
): HoltWintersModel {
  const s = cloneState(model.state);
  const clip = clipBound(y.values, s.level);
  const endHour = Math.floor(endMs / HOUR_MS);
  const y0 = absoluteHour(y.startMs);
  while (s.hour < endHour) step(s, y.values[s.hour - y0] ?? Number.NaN, model.params, clip);
  return { ...model, state: s };
}

function hindcastsFrom(
  snapshots: Map<number, HoltWintersState>,
  params: HoltWintersParams,
  length: number,
): Hindcast[] {
  return [...snapshots].map(([origin, state]) => ({
    origin,
    mean: forecastFromState(state, params, Math.min(MAX_HORIZON_HOURS, length - origin)),
  }));
}

/** Equal weight to the mean absolute error of day 1 and of days 2–7 over the replayed forecasts. */
function searchLoss(y: Float64Array, hindcasts: readonly Hindcast[]): number {
  let s1 = 0;
  let n1 = 0;
  let s2 = 0;
  let n2 = 0;
  for (const hc of hindcasts) {
    for (let k = 0; k < hc.mean.length; k++) {
      const e = Math.abs(y[hc.origin + k]! - hc.mean[k]!);
      if (Number.isNaN(e)) continue;
      if (k < DAY_HOURS) {
        s1 += e;
        n1++;
      } else {
        s2 += e;
        n2++;
      }
    }
  }
  return (n1 ? s1 / n1 : 0) + (n2 ? s2 / n2 : 0);
}

/** Fits the smoother and returns the replayed forecasts its intervals rest on (for ensembles). */
export function fitHoltWinters(
  history: HourlySeries,
  options: FitOptions = {},
): { model: HoltWintersModel; hindcasts: Hindcast[] } {
  assertHourAligned(history);
  const p = prepare(history, options.trainingMask);
  if (!p) throw new RangeError('holt-winters: the history holds no value to train on');
  const n = p.y.length;
  const firstOrigin = p.start + 2 * WEEK_HOURS;
  const searchOrigins = hindcastOrigins(n, firstOrigin, SEARCH_ORIGINS);
  let best: HoltWintersParams = { alpha: 0.03, delta: 0.05, omega: 0.15, phi: 0.6 };
  let bestLoss = Number.POSITIVE_INFINITY;
  if (searchOrigins.length > 0) {
    for (const alpha of HOLT_WINTERS_GRID.alpha)
      for (const delta of HOLT_WINTERS_GRID.delta)
        for (const omega of HOLT_WINTERS_GRID.omega)
          for (const phi of HOLT_WINTERS_GRID.phi) {
            const params = { alpha, delta, omega, phi };
            const { snapshots } = runFilter(p, params, searchOrigins);
            const loss = searchLoss(p.y, hindcastsFrom(snapshots, params, n));
            if (loss < bestLoss) {
              bestLoss = loss;
              best = params;
            }
          }
  }
  const { final, snapshots } = runFilter(p, best, hindcastOrigins(n, firstOrigin));
  const hindcasts = hindcastsFrom(snapshots, best, n);
  const residuals = buildResidualModel({ startMs: history.startMs, values: p.y }, hindcasts);
  return { model: { kind: 'holt-winters', params: best, state: final, residuals }, hindcasts };
}

export const holtWinters: ForecastMethod<HoltWintersModel> = {
  id: 'holt-winters',
  description: 'double-seasonal (24 h + 168 h) exponential smoothing with AR(1) error correction',
  fit: (history, options) => fitHoltWinters(history, options).model,
  forecast(model, horizonHours): Forecast {
    assertHorizon(horizonHours);
    const startMs = model.state.hour * HOUR_MS;
    return withIntervals(
      startMs,
      forecastFromState(model.state, model.params, horizonHours),
      model.residuals,
    );
  },
};
