/**
 * Re-forecasting from a stored fitted model with the latest data, without refitting (fitting costs
 * 20–250 ms; this costs well under one). Each method's fitted state is moved forward to the end of the
 * data the same way its fit would have left it there, with the fitted parameters kept:
 * - seasonal naive: its eight-week tail takes in the new hours;
 * - holt-winters: the filter runs on over the new hours (its update, clipping as in its fit);
 * - regression: the origin features (recent level, last-week profile, day shift) and the calendar of the
 *   next 168 hours are recomputed at the new origin, the coefficients kept;
 * - ensemble: both members, combined with the fitted weights.
 * The regression's origin features and calendar rows mirror regression.ts (which does not export
 * them); `forecast-refresh.test.ts` holds the two to each other: refreshed with no new data, every
 * method reproduces its own forecast exactly. Weather is not used (none is stored).
 */
import { type Calendar, createCalendar } from '../../forecast/calendar.ts';
import type { EnsembleModel } from '../../forecast/ensemble.ts';
import { forecastFromState, type HoltWintersModel, holtWinters } from '../../forecast/holt-winters.ts';
import { median, withIntervals } from '../../forecast/intervals.ts';
import type { RegressionModel } from '../../forecast/regression.ts';
import { type SeasonalNaiveModel, seasonalNaive, seasonalNaivePoint } from '../../forecast/seasonal-naive.ts';
import {
  DAY_HOURS,
  type Forecast,
  HOUR_MS,
  type HourlySeries,
  MAX_HORIZON_HOURS,
  WEEK_HOURS,
} from '../../forecast/types.ts';

/**
 * Hours of history kept with a fitted model: every look-back of the refresh fits in it (eight weeks
 * of seasonal lags, and eight weeks of week-over-week changes for the smoother's clipping bound).
 */
export const TAIL_HOURS = 9 * WEEK_HOURS;

/** A fitted model as stored: the method's model, the tail of its history, the calendar it was fitted with. */
export interface StoredModel {
  methodId: string;
  model: unknown;
  tail: HourlySeries;
  timeZone: string;
  trainedMs: number;
  /** End (exclusive) of the history it was fitted on. */
  dataToMs: number;
  /** Flow unit of the series. */
  unit: string;
}

const calendars = new Map<string, Calendar>();
export function calendarFor(timeZone: string): Calendar {
  let c = calendars.get(timeZone);
  if (!c) {
    c = createCalendar({ timeZone });
    calendars.set(timeZone, c);
  }
  return c;
}

/** The last TAIL_HOURS hours before `endMs`: the stored tail overlaid with newer data where it has values. */
export function recentWindow(tail: HourlySeries, recent: HourlySeries, endMs: number): HourlySeries {
  const startMs = endMs - TAIL_HOURS * HOUR_MS;
  const values = new Float64Array(TAIL_HOURS).fill(Number.NaN);
  const lay = (s: HourlySeries, onlyValues: boolean) => {
    const offset = (s.startMs - startMs) / HOUR_MS;
    for (let i = 0; i < s.values.length; i++) {
      const j = offset + i;
      if (j < 0 || j >= TAIL_HOURS) continue;
      const v = s.values[i]!;
      if (!onlyValues || !Number.isNaN(v)) values[j] = v;
    }
  };
  lay(tail, false);
  lay(recent, true);
  // Leading hours before anything known are dropped, as a history that starts later would be.
  let first = 0;
  const tailStart = Math.min(tail.startMs, recent.startMs);
  while (first < TAIL_HOURS && startMs + first * HOUR_MS < tailStart) first++;
  return { startMs: startMs + first * HOUR_MS, values: values.slice(first) };
}

/** holt-winters.ts's clipping bound: four robust standard deviations of week-over-week changes. */
function clipOf(y: Float64Array, level: number): number {
  const diffs: number[] = [];
  for (let t = Math.max(WEEK_HOURS, y.length - 8 * WEEK_HOURS); t < y.length; t++) {
    const d = y[t]! - y[t - WEEK_HOURS]!;
    if (!Number.isNaN(d)) diffs.push(Math.abs(d));
  }
  const sigma = 1.4826 * (diffs.length ? median(diffs) : Math.abs(level) * 0.1);
  return sigma > 0 ? 4 * sigma : Number.POSITIVE_INFINITY;
}

/** The smoother's state run on over `y` (hourly, from `yStartMs`) up to `endMs`. */
export function advanceHoltWinters(
  model: HoltWintersModel,
  y: HourlySeries,
  endMs: number,
  clipSeries: Float64Array,
): HoltWintersModel {
  const s = {
    ...model.state,
    daily: model.state.daily.slice(),
    weekly: model.state.weekly.slice(),
  };
  const { alpha, delta, omega, phi } = model.params;
  const clip = clipOf(clipSeries, s.level);
  const endHour = Math.floor(endMs / HOUR_MS);
  const y0 = Math.floor(y.startMs / HOUR_MS);
  for (; s.hour < endHour; s.hour++) {
    const di = s.hour % DAY_HOURS;
    const wi = s.hour % WEEK_HOURS;
    const base = s.level + s.daily[di]! + s.weekly[wi]!;
    const v = y.values[s.hour - y0] ?? Number.NaN;
    if (Number.isNaN(v)) {
      s.lastError *= phi;
      continue;
    }
    const r = Math.max(-clip, Math.min(clip, v - base));
    const e = r - phi * s.lastError;
    s.level += alpha * e;
    s.daily[di] = s.daily[di]! + delta * e;
    s.weekly[wi] = s.weekly[wi]! + omega * e;
    s.lastError = r;
  }
  return { ...model, state: s };
}

function meanFinite(y: Float64Array, from: number, to: number): { mean: number; count: number } {
  let s = 0;
  let c = 0;
  for (let i = Math.max(0, from); i < Math.min(to, y.length); i++) {
    const v = y[i]!;
    if (!Number.isNaN(v)) {
      s += v;
      c++;
    }
  }
  return { mean: c ? s / c : Number.NaN, count: c };
}

/** regression.ts's point forecast at a new origin (the end of `y`), with its fitted coefficients. */
export function regressionPoint(model: RegressionModel, y: HourlySeries, calendar: Calendar): Float64Array {
  const v = y.values;
  const origin = v.length;
  const scale = model.scale;
  const week = meanFinite(v, origin - WEEK_HOURS, origin);
  const month = week.count >= DAY_HOURS ? week : meanFinite(v, origin - 4 * WEEK_HOURS, origin);
  const level = month.count >= DAY_HOURS ? month.mean / scale : 1;
  const lastDay = meanFinite(v, origin - DAY_HOURS, origin);
  const dayBefore = meanFinite(v, origin - DAY_HOURS - WEEK_HOURS, origin - WEEK_HOURS);
  const shift = lastDay.count >= 12 && dayBefore.count >= 12 ? (lastDay.mean - dayBefore.mean) / scale : 0;
  const lagWeek = seasonalNaivePoint(v, origin, MAX_HORIZON_HOURS);
  const beta = model.coefficients;
  const startMs = y.startMs + origin * HOUR_MS;
  const out = new Float64Array(MAX_HORIZON_HOURS);
  for (let k = 0; k < MAX_HORIZON_HOURS; k++) {
    const lw = Number.isNaN(lagWeek[k]!) ? level : lagWeek[k]! / scale;
    let s = 0;
    let c = 0;
    for (let m = 1; m <= 4; m++) {
      const x = v[origin + k - m * WEEK_HOURS];
      if (origin + k - m * WEEK_HOURS < origin && x !== undefined && !Number.isNaN(x)) {
        s += x;
        c++;
      }
    }
    const lm = c ? s / c / scale : lw;
    const local = calendar.at(startMs + k * HOUR_MS);
    const lead = k + 1;
    // Columns as in regression.ts: hour-of-week dummy, level by local hour, shift, lag week, lag mean.
    const sum =
      beta[local.dayTypeHourOfWeek]! * 1 +
      beta[WEEK_HOURS + local.hour]! * (level - 1) +
      beta[WEEK_HOURS + DAY_HOURS]! * shift * Math.exp(-lead / DAY_HOURS) +
      beta[WEEK_HOURS + DAY_HOURS + 1]! * (lw - level) +
      beta[WEEK_HOURS + DAY_HOURS + 2]! * (lm - level);
    out[k] = scale * sum;
  }
  return out;
}

const combine = (a: number, b: number, w: readonly [number, number]) =>
  Number.isNaN(a) ? b : Number.isNaN(b) ? a : a * w[0] + b * w[1];

/**
 * The forecast for the 168 hours from `endMs` by a stored model, refreshed with `recent` (hourly data
 * up to `endMs`, NaN where missing). `endMs` must be on an hour, at or after the model's data end.
 */
export function refreshForecast(stored: StoredModel, recent: HourlySeries, endMs: number): Forecast {
  if (endMs % HOUR_MS !== 0) throw new RangeError(`forecast origin ${endMs} is not on an hour`);
  const y = recentWindow(stored.tail, recent, endMs);
  const calendar = calendarFor(stored.timeZone);
  switch (stored.methodId) {
    case 'seasonal-naive': {
      const model = stored.model as SeasonalNaiveModel;
      return seasonalNaive.forecast({ ...model, tail: y }, MAX_HORIZON_HOURS);
    }
    case 'holt-winters': {
      const model = advanceHoltWinters(stored.model as HoltWintersModel, y, endMs, y.values);
      return holtWinters.forecast(model, MAX_HORIZON_HOURS);
    }
    case 'regression': {
      const model = stored.model as RegressionModel;
      return withIntervals(endMs, regressionPoint(model, y, calendar), model.residuals);
    }
    case 'ensemble': {
      const model = stored.model as EnsembleModel;
      const hw = advanceHoltWinters(model.holtWinters, y, endMs, y.values);
      const a = forecastFromState(hw.state, hw.params, MAX_HORIZON_HOURS);
      const b = regressionPoint(model.regression, y, calendar);
      const mean = a.map((v, k) => combine(v, b[k]!, model.weights));
      return withIntervals(endMs, mean, model.residuals);
    }
    default:
      throw new RangeError(`no refresh for forecast method ${stored.methodId}`);
  }
}
