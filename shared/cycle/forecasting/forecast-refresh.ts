/**
 * Re-forecasting from a stored fitted model with the latest data, without refitting (fitting costs
 * 20–250 ms; this costs well under one). Each method's fitted state is moved forward to the end of the
 * data the same way its fit would have left it there, with the fitted parameters kept:
 * - seasonal naive: its eight-week tail takes in the new hours;
 * - holt-winters: the filter runs on over the new hours (its update, clipping as in its fit);
 * - regression: the origin features (recent level, last-week profile, day shift) and the calendar of the
 *   next 168 hours are recomputed at the new origin, the coefficients kept;
 * - ensemble: both members, combined with the fitted weights;
 * - gbm: the trees' features (lags, profile, calendar of the next 168 hours) are recomputed at the new origin;
 * - blend: the ensemble and the trees as above, combined with the fitted weights;
 * - global-blend: the same, the trees being the global ones it was fitted with (a copy is stored with it);
 * - combination: the blend's members as above, their trimmed mean (`combinationOf`).
 * Each method's module owns its step forward (`advanceHoltWinters`, `regressionFrom`);
 * `forecast-refresh.test.ts` holds refresh and fit to each other: refreshed with no new data, every
 * method reproduces its own forecast exactly. Weather is not used (none is stored).
 */
import { type BlendModel, blendValues, boostedFrom, type GbmForecastModel } from '../../forecast/boosted.ts';
import { type Calendar, configuredCalendar } from '../../forecast/calendar.ts';
import { combinationOf } from '../../forecast/combination.ts';
import type { EnsembleModel } from '../../forecast/ensemble.ts';
import {
  advanceHoltWinters,
  forecastFromState,
  type HoltWintersModel,
  holtWinters,
} from '../../forecast/holt-winters.ts';
import { withIntervals } from '../../forecast/intervals.ts';
import { type RegressionModel, regressionFrom } from '../../forecast/regression.ts';
import { type SeasonalNaiveModel, seasonalNaive } from '../../forecast/seasonal-naive.ts';
import {
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
  /** Hours of the history holding data (absent on models stored before it was kept). */
  historyHours?: number;
}

const calendars = new Map<string, Calendar>();
let holidaySpec: string | undefined;

/**
 * The holiday list every calendar of this process uses (`HOLIDAYS`, see `parseHolidays`; Italian public holidays
 * and bridge days when unset). Validated here, so a bad list fails at start-up, not inside a forecast.
 */
export function configureHolidays(spec: string | undefined): void {
  configuredCalendar('UTC', spec);
  holidaySpec = spec;
  calendars.clear();
}

/** The calendar of a time zone with the configured holidays (memoised: its hours are cached inside). */
export function calendarFor(timeZone: string): Calendar {
  let c = calendars.get(timeZone);
  if (!c) {
    c = configuredCalendar(timeZone, holidaySpec);
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

const combine = (a: number, b: number, w: readonly [number, number]) =>
  Number.isNaN(a) ? b : Number.isNaN(b) ? a : a * w[0] + b * w[1];

function ensembleFrom(
  model: EnsembleModel,
  y: HourlySeries,
  endMs: number,
  calendar: Calendar,
): Float64Array {
  const hw = advanceHoltWinters(model.holtWinters, y, endMs);
  const a = forecastFromState(hw.state, hw.params, MAX_HORIZON_HOURS);
  const b = regressionFrom(model.regression, y, calendar);
  return a.map((v, k) => combine(v, b[k]!, model.weights));
}

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
      const model = advanceHoltWinters(stored.model as HoltWintersModel, y, endMs);
      return holtWinters.forecast(model, MAX_HORIZON_HOURS);
    }
    case 'regression': {
      const model = stored.model as RegressionModel;
      return withIntervals(endMs, regressionFrom(model, y, calendar), model.residuals);
    }
    case 'ensemble': {
      const model = stored.model as EnsembleModel;
      return withIntervals(endMs, ensembleFrom(model, y, endMs, calendar), model.residuals);
    }
    case 'gbm': {
      const model = stored.model as GbmForecastModel;
      return withIntervals(endMs, boostedFrom(model, y, calendar), model.residuals);
    }
    case 'blend':
    case 'global-blend': {
      const model = stored.model as BlendModel;
      const a = ensembleFrom(model.ensemble, y, endMs, calendar);
      const b = boostedFrom(model.gbm, y, calendar);
      const mean = a.map((v, k) => blendValues(v, b[k]!, model.weights));
      return withIntervals(endMs, mean, model.residuals);
    }
    case 'combination': {
      const model = stored.model as BlendModel;
      const hw = advanceHoltWinters(model.ensemble.holtWinters, y, endMs);
      const mean = combinationOf(
        model,
        forecastFromState(hw.state, hw.params, MAX_HORIZON_HOURS),
        regressionFrom(model.ensemble.regression, y, calendar),
        boostedFrom(model.gbm, y, calendar),
      );
      return withIntervals(endMs, mean, model.residuals);
    }
    default:
      throw new RangeError(`no refresh for forecast method ${stored.methodId}`);
  }
}
