/**
 * What serves a target whose history is too short for the trained champion (under three weeks, see
 * `enoughHistory`), so that every district inlet and district has a forecast from its first day:
 * - a week and a day of span or more: the weekly seasonal naive (the registry's own baseline);
 * - two days or more: the daily naive (the median of the same hour over the last days);
 * - less: nothing yet (and nothing either when the intervals cannot be estimated).
 * Fitted from scratch each hour (both cost a few milliseconds on a short history) and never stored: the
 * registry trains the champion as soon as the history is long enough. Pure.
 */
import { dailyNaive, fitDailyNaive } from '../../forecast/daily-naive.ts';
import { fitSeasonalNaive, seasonalNaive } from '../../forecast/seasonal-naive.ts';
import {
  DAY_HOURS,
  type Forecast,
  type HourlySeries,
  MAX_HORIZON_HOURS,
  WEEK_HOURS,
} from '../../forecast/types.ts';
import { MIN_TRAINING_OBSERVED_HOURS, MIN_TRAINING_SPAN_HOURS, observedHours } from './forecast-training.ts';

export interface FallbackForecast {
  methodId: string;
  forecast: Forecast;
  /** Hours of the history holding data. */
  historyHours: number;
  /** Why the champion does not serve, for the status and the prediction. */
  note: string;
}

const days = (hours: number) => Math.round((hours / 24) * 10) / 10;

/** Leading gaps dropped: a history starts at its first value. */
function trimmed(history: HourlySeries): HourlySeries {
  let first = 0;
  while (first < history.values.length && Number.isNaN(history.values[first]!)) first++;
  return { startMs: history.startMs + first * 3_600_000, values: history.values.subarray(first) };
}

/** The fallback forecast from the end of `history`, or null when even a day of data is missing. */
export function fallbackForecast(raw: HourlySeries): FallbackForecast | null {
  const history = trimmed(raw);
  const observed = observedHours(history);
  const span = history.values.length;
  // Two days: the daily naive's intervals rest on its replayed forecast of the second day.
  if (span < 2 * DAY_HOURS || observed < DAY_HOURS) return null;
  const need = `the champion needs ${days(MIN_TRAINING_SPAN_HOURS)} days of history with ${days(MIN_TRAINING_OBSERVED_HOURS)} days of data; this target has ${days(observed)} days of data`;
  if (span >= WEEK_HOURS + DAY_HOURS) {
    const { model } = fitSeasonalNaive(history);
    const forecast = seasonalNaive.forecast(model, MAX_HORIZON_HOURS);
    if (!forecast.lo95.every(Number.isFinite) || !forecast.hi95.every(Number.isFinite)) return null;
    return {
      methodId: seasonalNaive.id,
      forecast,
      historyHours: observed,
      note: `fallback: ${need}`,
    };
  }
  const { model } = fitDailyNaive(history);
  const forecast = dailyNaive.forecast(model, MAX_HORIZON_HOURS);
  if (!forecast.lo95.every(Number.isFinite) || !forecast.hi95.every(Number.isFinite)) return null;
  return {
    methodId: dailyNaive.id,
    forecast,
    historyHours: observed,
    note: `fallback: ${need} (under 8 days: the daily pattern only)`,
  };
}
