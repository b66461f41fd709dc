/**
 * The vocabulary of demand forecasting: hourly series in, point forecasts with intervals out.
 * Everything in `shared/forecast` is pure and deterministic: no I/O, no clocks, no randomness.
 */
import type { Calendar } from './calendar.ts';
import type { GbmModel } from './gbm.ts';

export const HOUR_MS = 3_600_000;
export const DAY_HOURS = 24;
export const WEEK_HOURS = 168;
/** The longest horizon any model here is asked for: seven days, as in the BWDF. */
export const MAX_HORIZON_HOURS = WEEK_HOURS;

/** An hourly series on UTC hour boundaries: `values[i]` is the hour starting at `startMs + i·HOUR_MS`. NaN is a gap. */
export interface HourlySeries {
  startMs: number;
  values: Float64Array;
}

/**
 * Hourly weather on the same grid convention as `HourlySeries` (its own start). For forecasting it should reach
 * past the end of the history (a weather forecast); hours it does not cover are filled by persistence (temperature)
 * and zero (rain).
 */
export interface WeatherSeries {
  startMs: number;
  /** °C; NaN where unknown. */
  airTemperature: Float64Array;
  /** mm in the hour; NaN where unknown. */
  rainfall: Float64Array;
}

export interface Forecast {
  /** Start of the first forecast hour (the hour right after the history). */
  startMs: number;
  mean: Float64Array;
  lo80: Float64Array;
  hi80: Float64Array;
  lo95: Float64Array;
  hi95: Float64Array;
}

export interface FitOptions {
  /** Local time and holidays; models that need it use Europe/Rome with Italian holidays when absent. */
  calendar?: Calendar;
  weather?: WeatherSeries;
  /**
   * 1 where an hour may be used as a training target, 0 where it is left out (see `trainingMask`); same length as
   * the history. Left-out hours can still serve as inputs (lags, recent level).
   */
  trainingMask?: Uint8Array;
  /** Trees fitted across many series (`fitGlobalTrees`): the models that use trees take them instead of fitting. */
  globalTrees?: GlobalTrees;
}

/**
 * Gradient-boosted trees fitted on the rows of many series at once, each series in units of its own level (see
 * `global.ts`), and the same trees fitted without the last weeks (`holdout`), for out-of-sample replays.
 */
export interface GlobalTrees {
  kind: 'global-trees';
  trees: GbmModel;
  /** Fitted on the target hours before `holdoutEndMs` only (undefined when too few). */
  holdout: GbmModel | undefined;
  /** End (exclusive) of the latest data any series contributed. */
  dataEndMs: number;
  holdoutEndMs: number;
  /** Series and training rows the trees rest on. */
  series: number;
  rows: number;
}

/** A forecasting method: `fit` learns from a history, `forecast` continues it right after its last hour. */
export interface ForecastMethod<M = unknown> {
  readonly id: string;
  readonly description: string;
  fit(history: HourlySeries, options?: FitOptions): M;
  forecast(model: M, horizonHours: number): Forecast;
}

export const absoluteHour = (ms: number): number => Math.floor(ms / HOUR_MS);

export function assertHorizon(horizonHours: number): void {
  if (!Number.isInteger(horizonHours) || horizonHours < 1 || horizonHours > MAX_HORIZON_HOURS) {
    throw new RangeError(
      `horizon must be an integer number of hours in 1..${MAX_HORIZON_HOURS}, got ${horizonHours}`,
    );
  }
}

export function assertHourAligned(series: HourlySeries): void {
  if (series.startMs % HOUR_MS !== 0)
    throw new RangeError(`series start ${series.startMs} is not on an hour`);
}
