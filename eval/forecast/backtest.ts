/**
 * Rolling-origin backtest: from each origin, fit every method on the history before it (with the training-window
 * sampling), forecast the next hours and score them against what happened, BWDF-style, along with how often the
 * truth fell inside the 80 % and 95 % intervals.
 */
import type { Calendar } from '../../shared/forecast/calendar.ts';
import { fitGlobalTrees } from '../../shared/forecast/global.ts';
import { intervalCoverage } from '../../shared/forecast/intervals.ts';
import { DEFAULT_SAMPLING, type SamplingPolicy, trainingMask } from '../../shared/forecast/sampling.ts';
import { type BwdfScore, scoreBwdf } from '../../shared/forecast/score.ts';
import {
  type FitOptions,
  type Forecast,
  type ForecastMethod,
  type GlobalTrees,
  HOUR_MS,
  type HourlySeries,
  MAX_HORIZON_HOURS,
  WEEK_HOURS,
  type WeatherSeries,
} from '../../shared/forecast/types.ts';

export interface BacktestInput {
  series: HourlySeries;
  methods: readonly ForecastMethod[];
  /** Forecast origins (epoch ms, on the hour, inside the series). */
  originsMs: readonly number[];
  horizonHours?: number;
  /** Weather over the history and the forecast hours (a perfect weather forecast, as the BWDF gave its teams). */
  weather?: WeatherSeries;
  calendar?: Calendar;
  /** `false` trains on the whole history. */
  sampling?: SamplingPolicy | false;
  /**
   * Further forecasts read from a fitted model (e.g. a combination's members), scored as methods of their own:
   * each member is then fitted once, inside the combination, on exactly the same data.
   */
  /** Further fit options per origin (e.g. the global trees fitted on every series before it). */
  optionsAt?: (originMs: number, methodId: string) => Partial<FitOptions>;
  members?: (
    methodId: string,
    model: unknown,
    horizonHours: number,
  ) => { methodId: string; forecast: Forecast }[];
}

export interface BacktestOutcome {
  methodId: string;
  originMs: number;
  score: BwdfScore;
  /** Share of actual hours inside the interval; NaN without actuals. */
  coverage80: number;
  coverage95: number;
  forecast: Forecast;
}

/** The last `count` origins, `stepHours` apart, each leaving `horizonHours` of the series after it. */
export function rollingOrigins(
  series: HourlySeries,
  count: number,
  stepHours = WEEK_HOURS,
  horizonHours = MAX_HORIZON_HOURS,
): number[] {
  const endMs = series.startMs + series.values.length * HOUR_MS;
  const origins: number[] = [];
  for (let j = count; j >= 1; j--) {
    const originMs = endMs - horizonHours * HOUR_MS - (j - 1) * stepHours * HOUR_MS;
    if (originMs > series.startMs) origins.push(originMs);
  }
  return origins;
}

export function rollingOriginBacktest(input: BacktestInput): BacktestOutcome[] {
  const { series, methods } = input;
  const horizon = input.horizonHours ?? MAX_HORIZON_HOURS;
  const sampling = input.sampling ?? DEFAULT_SAMPLING;
  const outcomes: BacktestOutcome[] = [];
  for (const originMs of input.originsMs) {
    const cut = (originMs - series.startMs) / HOUR_MS;
    if (!Number.isInteger(cut) || cut <= 0 || cut >= series.values.length) {
      throw new RangeError(`origin ${new Date(originMs).toISOString()} is not an hour inside the series`);
    }
    const history = { startMs: series.startMs, values: series.values.slice(0, cut) };
    const actual = series.values.subarray(cut, cut + horizon);
    const trainingMaskOption = sampling ? trainingMask(history.startMs, cut, originMs, sampling) : undefined;
    for (const method of methods) {
      const model = method.fit(history, {
        ...input.optionsAt?.(originMs, method.id),
        ...(input.calendar ? { calendar: input.calendar } : {}),
        ...(input.weather ? { weather: input.weather } : {}),
        ...(trainingMaskOption ? { trainingMask: trainingMaskOption } : {}),
      });
      const forecasts = [
        ...(input.members?.(method.id, model, horizon) ?? []),
        { methodId: method.id, forecast: method.forecast(model, horizon) },
      ];
      for (const { methodId, forecast } of forecasts) {
        outcomes.push({
          methodId,
          originMs,
          score: scoreBwdf(actual, forecast.mean),
          coverage80: intervalCoverage(actual, forecast.lo80, forecast.hi80),
          coverage95: intervalCoverage(actual, forecast.lo95, forecast.hi95),
          forecast,
        });
      }
    }
  }
  return outcomes;
}

/** The global trees at an origin: every series' hours before it, each with its training-window sampling. */
export function globalTreesBefore(
  series: readonly HourlySeries[],
  originMs: number,
  options: Pick<FitOptions, 'calendar' | 'weather'>,
): GlobalTrees {
  return fitGlobalTrees(
    series.map((s) => {
      const cut = (originMs - s.startMs) / HOUR_MS;
      return {
        history: { startMs: s.startMs, values: s.values.slice(0, cut) },
        trainingMask: trainingMask(s.startMs, cut, originMs),
      };
    }),
    options,
  );
}
