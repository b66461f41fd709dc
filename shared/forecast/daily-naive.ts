/**
 * The fallback for a short history (under eight days): each hour repeats the median of the same hour of
 * the day over the last seven days (a day of history is enough). Its intervals come from its own replayed
 * forecasts at every earlier day, so they are wide when the days differ and rest on few errors — which is
 * what a target with two days of data deserves. The weekly seasonal naive takes over once a week and a
 * day are there, the trained champion after three weeks (`cycle/forecasting/fallback.ts`).
 */
import {
  buildResidualModel,
  forecastStartMs,
  type Hindcast,
  hindcastOrigins,
  median,
  type ResidualModel,
  withIntervals,
} from './intervals.ts';
import {
  assertHorizon,
  assertHourAligned,
  DAY_HOURS,
  type Forecast,
  type ForecastMethod,
  HOUR_MS,
  type HourlySeries,
  MAX_HORIZON_HOURS,
  WEEK_HOURS,
} from './types.ts';

const DAYS_BACK = 7;

export interface DailyNaiveModel {
  kind: 'daily-naive';
  /** The last week of the history (all the forecast reads). */
  tail: HourlySeries;
  residuals: ResidualModel;
}

/** Point forecasts for hours cutoff … cutoff+horizon−1 from `y` before `cutoff`. */
export function dailyNaivePoint(y: Float64Array, cutoff: number, horizon: number): Float64Array {
  const out = new Float64Array(horizon);
  const fallback = median(y.subarray(Math.max(0, cutoff - DAYS_BACK * DAY_HOURS), cutoff));
  const same: number[] = [];
  for (let k = 0; k < horizon; k++) {
    same.length = 0;
    // The same hour of the day on each of the last seven days before the cutoff.
    const first = cutoff - DAY_HOURS + (k % DAY_HOURS);
    for (let d = 0; d < DAYS_BACK; d++) {
      const s = first - d * DAY_HOURS;
      if (s < 0) break;
      const v = y[s] as number;
      if (!Number.isNaN(v)) same.push(v);
    }
    out[k] = same.length ? median(same) : fallback;
  }
  return out;
}

export function fitDailyNaive(history: HourlySeries): { model: DailyNaiveModel; hindcasts: Hindcast[] } {
  assertHourAligned(history);
  const y = history.values;
  if (y.length < DAY_HOURS) throw new RangeError(`daily naive needs a day of history, got ${y.length} h`);
  const hindcasts: Hindcast[] = hindcastOrigins(y.length, DAY_HOURS).map((origin) => ({
    origin,
    mean: dailyNaivePoint(y, origin, MAX_HORIZON_HOURS),
  }));
  const keep = Math.min(y.length, WEEK_HOURS);
  const tail = { startMs: forecastStartMs(history) - keep * HOUR_MS, values: y.slice(y.length - keep) };
  return {
    model: { kind: 'daily-naive', tail, residuals: buildResidualModel(history, hindcasts) },
    hindcasts,
  };
}

export const dailyNaive: ForecastMethod<DailyNaiveModel> = {
  id: 'daily-naive',
  description: 'daily naive: the median of the same hour over the last seven days (short histories)',
  fit: (history) => fitDailyNaive(history).model,
  forecast(model, horizonHours): Forecast {
    assertHorizon(horizonHours);
    const y = model.tail.values;
    return withIntervals(
      forecastStartMs(model.tail),
      dailyNaivePoint(y, y.length, horizonHours),
      model.residuals,
    );
  },
};
