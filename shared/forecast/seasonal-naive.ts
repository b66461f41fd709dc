/**
 * The baseline: each hour repeats the same hour one week earlier. A gap there is filled from up to four weeks back,
 * then from the median of that hour of the week over the last eight weeks, then from the median of the last four
 * weeks, so a forecast is only NaN when the history holds no value at all.
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
  type Forecast,
  type ForecastMethod,
  HOUR_MS,
  type HourlySeries,
  MAX_HORIZON_HOURS,
  WEEK_HOURS,
} from './types.ts';

const EXACT_WEEKS_BACK = 4;
const MEDIAN_WEEKS_BACK = 8;

export interface SeasonalNaiveModel {
  kind: 'seasonal-naive';
  /** The last eight weeks of the history (all the forecast reads). */
  tail: HourlySeries;
  residuals: ResidualModel;
}

/** Point forecasts for hours cutoff … cutoff+horizon−1 from `y` before `cutoff`. */
export function seasonalNaivePoint(y: Float64Array, cutoff: number, horizon: number): Float64Array {
  const out = new Float64Array(horizon);
  const fallback = median(y.subarray(Math.max(0, cutoff - EXACT_WEEKS_BACK * WEEK_HOURS), cutoff));
  const recent: number[] = [];
  for (let k = 0; k < horizon; k++) {
    const t = cutoff + k;
    let value = Number.NaN;
    recent.length = 0;
    for (let m = 1; m <= MEDIAN_WEEKS_BACK; m++) {
      const s = t - m * WEEK_HOURS;
      if (s < 0) break;
      if (s >= cutoff) continue;
      const v = y[s] as number;
      if (Number.isNaN(v)) continue;
      if (m <= EXACT_WEEKS_BACK && Number.isNaN(value)) value = v;
      recent.push(v);
    }
    if (Number.isNaN(value)) value = recent.length ? median(recent) : fallback;
    out[k] = value;
  }
  return out;
}

/** Fits the baseline and returns the replayed forecasts its intervals rest on (for ensembles). */
export function fitSeasonalNaive(history: HourlySeries): {
  model: SeasonalNaiveModel;
  hindcasts: Hindcast[];
} {
  assertHourAligned(history);
  const y = history.values;
  const hindcasts: Hindcast[] = hindcastOrigins(y.length, WEEK_HOURS).map((origin) => ({
    origin,
    mean: seasonalNaivePoint(y, origin, MAX_HORIZON_HOURS),
  }));
  const keep = Math.min(y.length, MEDIAN_WEEKS_BACK * WEEK_HOURS);
  const tail = {
    startMs: forecastStartMs(history) - keep * HOUR_MS,
    values: y.slice(y.length - keep),
  };
  return {
    model: { kind: 'seasonal-naive', tail, residuals: buildResidualModel(history, hindcasts) },
    hindcasts,
  };
}

export const seasonalNaive: ForecastMethod<SeasonalNaiveModel> = {
  id: 'seasonal-naive',
  description: 'weekly seasonal naive: the value 168 h earlier, gaps filled from earlier weeks',
  fit: (history) => fitSeasonalNaive(history).model,
  forecast(model, horizonHours): Forecast {
    assertHorizon(horizonHours);
    const y = model.tail.values;
    return withIntervals(
      forecastStartMs(model.tail),
      seasonalNaivePoint(y, y.length, horizonHours),
      model.residuals,
    );
  },
};
