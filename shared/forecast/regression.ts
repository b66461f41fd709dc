/**
 * Calendar and weather regression: weighted ridge least squares on
 *   - hour-of-week dummies in local time, a public holiday counting as a Sunday;
 *   - the level of the week before the forecast origin, per local hour of day (the daily profile scales with it);
 *   - the seasonal-naive value and the four-week mean of the same hour of the week (the recent profile);
 *   - the shift of the last day before the origin against the same day a week earlier, fading over the first day;
 *   - when weather is given, per three-hour block of the local day: temperature, heat above 20 °C, and rain over
 *     the last day and the last three days (irrigation follows heat and stops after rain, at its own hours).
 * Each training hour is paired with the origin a forecast for it would have had (origins every 168 h back from the
 * end of the history), so the origin features mean in training what they mean when forecasting. Training hours
 * are weighted by recency (half-life four weeks): demand drifts with the season, and on the BWDF data a shorter
 * memory cut the error far more than any feature did (unweighted, the model beat the baseline by 16 %; weighted,
 * by 30 %). Everything the forecast needs is precomputed at fit time, so a fitted model is plain data.
 */
import { type Calendar, italianCalendar } from './calendar.ts';
import {
  buildResidualModel,
  forecastStartMs,
  type Hindcast,
  hindcastOrigins,
  median,
  type ResidualModel,
  withIntervals,
} from './intervals.ts';
import { NormalEquations, type SparseRow } from './ridge.ts';
import { seasonalNaivePoint } from './seasonal-naive.ts';
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

const RECENCY_HALF_LIFE_HOURS = 4 * WEEK_HOURS;
const HOLDOUT_HOURS = 6 * WEEK_HOURS;
const HEAT_THRESHOLD_C = 20;
const WEATHER_BLOCK_HOURS = 3;
const WEATHER_FEATURES = 4;
/** Light on the dummies (they carry the profile), firmer on everything else. */
const DUMMY_PENALTY = 0.01;
const PENALTY = 1;

const COL_HOW = 0;
const COL_LEVEL_BY_HOUR = COL_HOW + WEEK_HOURS;
const COL_SHIFT = COL_LEVEL_BY_HOUR + DAY_HOURS;
const COL_LAG_WEEK = COL_SHIFT + 1;
const COL_LAG_MEAN = COL_LAG_WEEK + 1;
const COL_WEATHER = COL_LAG_MEAN + 1;
const COLUMNS = COL_WEATHER + (DAY_HOURS / WEATHER_BLOCK_HOURS) * WEATHER_FEATURES;

/** What the regression knows of one hour besides the flow: calendar and weather, in feature units. */
export interface HourContext {
  dayTypeHourOfWeek: number;
  localHour: number;
  /** (°C − 15) / 10; NaN without weather. */
  temp: number;
  /** max(0, °C − 20) / 5; NaN without weather. */
  heat: number;
  /** log(1 + mm) of rain in the last 24 h and 72 h, this hour included. */
  rain1d: number;
  rain3d: number;
}

/** Features of a forecast origin, from the flow before it, in units of the model's scale. */
interface OriginFeatures {
  level: number;
  shift: number;
  /** The seasonal-naive forecast from the origin, hour by hour. */
  lagWeek: Float64Array;
  /** The mean of the same hour of the week over the four weeks before the origin. */
  lagMean: Float64Array;
}

export interface RegressionModel {
  kind: 'regression';
  coefficients: Float64Array;
  /** Flow unit of the fit (the median flow of the last eight weeks): features and targets are divided by it. */
  scale: number;
  startMs: number;
  origin: OriginFeatures;
  /** Contexts of the 168 hours after the history. */
  future: HourContext[];
  residuals: ResidualModel;
}

export function hourContexts(
  startMs: number,
  length: number,
  calendar: Calendar,
  weather: WeatherSeries | undefined,
): HourContext[] {
  const out: HourContext[] = [];
  const w0 = weather ? Math.round((startMs - weather.startMs) / HOUR_MS) : 0;
  const rainAt = (wi: number): number => {
    const r = weather && wi >= 0 && wi < weather.rainfall.length ? weather.rainfall[wi]! : Number.NaN;
    return Number.isNaN(r) ? 0 : Math.max(0, r);
  };
  let lastTemp = Number.NaN;
  let rain1d = 0;
  let rain3d = 0;
  for (let k = 1; k < 72; k++) {
    rain3d += rainAt(w0 - k);
    if (k < 24) rain1d += rainAt(w0 - k);
  }
  for (let k = 1; k <= 48 && weather && Number.isNaN(lastTemp); k++) {
    const t = weather.airTemperature[w0 - k];
    if (t !== undefined && !Number.isNaN(t)) lastTemp = t;
  }
  for (let i = 0; i < length; i++) {
    const wi = w0 + i;
    rain1d += rainAt(wi) - rainAt(wi - 24);
    rain3d += rainAt(wi) - rainAt(wi - 72);
    const t =
      weather && wi >= 0 && wi < weather.airTemperature.length ? weather.airTemperature[wi]! : Number.NaN;
    // Past the end of a weather forecast, persistence is the least surprising guess.
    if (!Number.isNaN(t)) lastTemp = t;
    const local = calendar.at(startMs + i * HOUR_MS);
    out.push({
      dayTypeHourOfWeek: local.dayTypeHourOfWeek,
      localHour: local.hour,
      temp: (lastTemp - 15) / 10,
      heat: Math.max(0, lastTemp - HEAT_THRESHOLD_C) / 5,
      rain1d: Math.log1p(Math.max(0, rain1d)),
      rain3d: Math.log1p(Math.max(0, rain3d)),
    });
  }
  return out;
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

/** With less than a day of data in the last week the level comes from the last four weeks, failing that the scale. */
function originFeatures(y: Float64Array, origin: number, scale: number): OriginFeatures {
  const week = meanFinite(y, origin - WEEK_HOURS, origin);
  const month = week.count >= DAY_HOURS ? week : meanFinite(y, origin - 4 * WEEK_HOURS, origin);
  const level = month.count >= DAY_HOURS ? month.mean / scale : 1;
  const lastDay = meanFinite(y, origin - DAY_HOURS, origin);
  const dayBefore = meanFinite(y, origin - DAY_HOURS - WEEK_HOURS, origin - WEEK_HOURS);
  const shift = lastDay.count >= 12 && dayBefore.count >= 12 ? (lastDay.mean - dayBefore.mean) / scale : 0;
  const lagWeek = seasonalNaivePoint(y, origin, MAX_HORIZON_HOURS);
  const lagMean = new Float64Array(MAX_HORIZON_HOURS);
  for (let k = 0; k < MAX_HORIZON_HOURS; k++) {
    lagWeek[k] = Number.isNaN(lagWeek[k]!) ? level : lagWeek[k]! / scale;
    let s = 0;
    let c = 0;
    for (let m = 1; m <= 4; m++) {
      const v = y[origin + k - m * WEEK_HOURS];
      if (origin + k - m * WEEK_HOURS < origin && v !== undefined && !Number.isNaN(v)) {
        s += v;
        c++;
      }
    }
    lagMean[k] = c ? s / c / scale : lagWeek[k]!;
  }
  return { level, shift, lagWeek, lagMean };
}

function featureRow(ctx: HourContext, origin: OriginFeatures, lead: number): SparseRow {
  const index = [
    COL_HOW + ctx.dayTypeHourOfWeek,
    COL_LEVEL_BY_HOUR + ctx.localHour,
    COL_SHIFT,
    COL_LAG_WEEK,
    COL_LAG_MEAN,
  ];
  const value = [
    1,
    origin.level - 1,
    origin.shift * Math.exp(-lead / DAY_HOURS),
    origin.lagWeek[lead - 1]! - origin.level,
    origin.lagMean[lead - 1]! - origin.level,
  ];
  if (!Number.isNaN(ctx.temp)) {
    const block = COL_WEATHER + WEATHER_FEATURES * Math.floor(ctx.localHour / WEATHER_BLOCK_HOURS);
    index.push(block, block + 1, block + 2, block + 3);
    value.push(ctx.temp, ctx.heat, ctx.rain1d, ctx.rain3d);
  }
  return { index, value };
}

function pointFrom(
  beta: Float64Array,
  contexts: readonly HourContext[],
  offset: number,
  origin: OriginFeatures,
  horizon: number,
  scale: number,
): Float64Array {
  const out = new Float64Array(horizon);
  for (let k = 0; k < horizon; k++) {
    const row = featureRow(contexts[offset + k]!, origin, k + 1);
    let s = 0;
    for (let a = 0; a < row.index.length; a++) s += beta[row.index[a]!]! * row.value[a]!;
    out[k] = scale * s;
  }
  return out;
}

/** Ridge coefficients from the hours before `end` (NaN-free, kept by the mask), or undefined with too few. */
function solveCoefficients(
  y: Float64Array,
  contexts: readonly HourContext[],
  mask: Uint8Array | undefined,
  end: number,
  scale: number,
): Float64Array | undefined {
  const eq = new NormalEquations(COLUMNS);
  for (let weekEnd = end; weekEnd - WEEK_HOURS > 0; weekEnd -= WEEK_HOURS) {
    const origin = weekEnd - WEEK_HOURS;
    const features = originFeatures(y, origin, scale);
    for (let t = origin; t < weekEnd; t++) {
      const v = y[t]!;
      if (Number.isNaN(v) || (mask && !mask[t])) continue;
      const weight = Math.exp((-Math.LN2 * (end - t)) / RECENCY_HALF_LIFE_HOURS);
      eq.add(featureRow(contexts[t]!, features, t - origin + 1), v / scale, weight);
    }
  }
  if (eq.rows < DAY_HOURS) return undefined;
  const penalty = new Float64Array(COLUMNS).fill(PENALTY).fill(DUMMY_PENALTY, COL_HOW, COL_HOW + WEEK_HOURS);
  return eq.solve(penalty);
}

/** Fits the regression and returns the replayed forecasts its intervals rest on (for ensembles). */
export function fitRegression(
  history: HourlySeries,
  options: FitOptions = {},
): { model: RegressionModel; hindcasts: Hindcast[] } {
  assertHourAligned(history);
  const calendar = options.calendar ?? italianCalendar();
  const y = history.values;
  const n = y.length;
  const mask = options.trainingMask;
  const contexts = hourContexts(history.startMs, n + MAX_HORIZON_HOURS, calendar, options.weather);
  const recentMedian = median(y.subarray(Math.max(0, n - 8 * WEEK_HOURS)));
  const scale = Number.isFinite(recentMedian) && Math.abs(recentMedian) > 1e-6 ? Math.abs(recentMedian) : 1;

  const beta = solveCoefficients(y, contexts, mask, n, scale);
  if (!beta) throw new RangeError('regression: the history holds too few values to train on');
  // Intervals rest on errors out of sample: coefficients fitted without the last six weeks, replayed over them.
  // In-sample errors of a fit weighted towards its last weeks were far too small (80 % intervals held 69 %).
  const holdoutStart = n - HOLDOUT_HOURS;
  const holdoutBeta =
    holdoutStart > WEEK_HOURS ? solveCoefficients(y, contexts, mask, holdoutStart, scale) : undefined;
  const hindcasts: Hindcast[] = hindcastOrigins(
    n,
    holdoutBeta ? holdoutStart : WEEK_HOURS,
    HOLDOUT_HOURS / DAY_HOURS,
  ).map((origin) => ({
    origin,
    mean: pointFrom(
      holdoutBeta ?? beta,
      contexts,
      origin,
      originFeatures(y, origin, scale),
      MAX_HORIZON_HOURS,
      scale,
    ),
  }));
  const model: RegressionModel = {
    kind: 'regression',
    coefficients: beta,
    scale,
    startMs: forecastStartMs(history),
    origin: originFeatures(y, n, scale),
    future: contexts.slice(n),
    residuals: buildResidualModel(history, hindcasts),
  };
  return { model, hindcasts };
}

/**
 * The point forecast of a fitted model at a new origin, the end of `y`, without refitting: the origin
 * features and the calendar of the next 168 hours are recomputed there, the coefficients kept. No
 * weather is known at refresh: its columns drop out, as for a model fitted without it.
 */
export function regressionFrom(model: RegressionModel, y: HourlySeries, calendar: Calendar): Float64Array {
  const n = y.values.length;
  const contexts = hourContexts(y.startMs + n * HOUR_MS, MAX_HORIZON_HOURS, calendar, undefined);
  const origin = originFeatures(y.values, n, model.scale);
  return pointFrom(model.coefficients, contexts, 0, origin, MAX_HORIZON_HOURS, model.scale);
}

export const regression: ForecastMethod<RegressionModel> = {
  id: 'regression',
  description:
    'ridge regression on local hour-of-week (holidays as Sundays), recent level and profile, weather',
  fit: (history, options) => fitRegression(history, options).model,
  forecast(model, horizonHours): Forecast {
    assertHorizon(horizonHours);
    const mean = pointFrom(model.coefficients, model.future, 0, model.origin, horizonHours, model.scale);
    return withIntervals(model.startMs, mean, model.residuals);
  },
};
