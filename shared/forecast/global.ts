/**
 * A global model, as the top BWDF teams built: one set of gradient-boosted trees fitted on the rows of many series
 * at once (a utility's district inlets and districts), each series in units of its own level, so the trees learn
 * calendar, holiday, weather and lag effects from ten times the data a single series holds, and a new or short
 * series is forecast by what its peers taught them. The rows and features are those of `gbm` (`boosted.ts`); no
 * series identity is a feature, so the trees serve any series, including one they never saw.
 *
 * `fitGlobalTrees` fits them on every series' hours before the end of its history (each series' own training mask),
 * and again without the last six weeks, for the replays that choose blend weights and intervals.
 * `global-blend` (the champion where global trees exist): per series, the ensemble and the global trees weighted
 * in tenths by their replays over the last six weeks (as `blend` does with the series' own trees).
 */
import {
  type BlendModel,
  blend,
  collectRows,
  fitBlend,
  fitOnRows,
  frameOf,
  GBM_FORECAST_PARAMS,
  type GbmForecastParams,
  type Rows,
  scaleOf,
} from './boosted.ts';
import { italianCalendar } from './calendar.ts';
import { DEFAULT_GBM_PARAMS } from './gbm.ts';
import {
  assertHourAligned,
  type FitOptions,
  type ForecastMethod,
  type GlobalTrees,
  HOUR_MS,
  type HourlySeries,
  WEEK_HOURS,
} from './types.ts';

/**
 * Hyper-parameters of the global trees, chosen on the BWDF origins before the evaluation year (eval/RESULTS.md):
 * more rows than one series holds carry deeper trees.
 */
export const GLOBAL_GBM_PARAMS: GbmForecastParams = {
  ...GBM_FORECAST_PARAMS,
  trees: { ...DEFAULT_GBM_PARAMS, trees: 400, learningRate: 0.05, maxDepth: 6, minLeafWeight: 20 },
};

export interface GlobalSeries {
  history: HourlySeries;
  /** Which hours may be training targets (`trainingMask` at the history's end); all when absent. */
  trainingMask?: Uint8Array;
}

/**
 * Fits the global trees on `series` (each read only up to its own end). Throws a RangeError when all of them
 * together hold too few rows.
 */
export function fitGlobalTrees(
  series: readonly GlobalSeries[],
  options: Pick<FitOptions, 'calendar' | 'weather'> = {},
  params: GbmForecastParams = GLOBAL_GBM_PARAMS,
): GlobalTrees {
  if (series.length === 0) throw new RangeError('global trees: no series');
  const calendar = options.calendar ?? italianCalendar();
  let dataEndMs = Number.NEGATIVE_INFINITY;
  for (const s of series) {
    assertHourAligned(s.history);
    dataEndMs = Math.max(dataEndMs, s.history.startMs + s.history.values.length * HOUR_MS);
  }
  const holdoutEndMs = dataEndMs - params.holdoutHours * HOUR_MS;
  const all: Rows[] = [];
  const early: Rows[] = [];
  for (const s of series) {
    const { history, trainingMask } = s;
    const n = history.values.length;
    if (n <= WEEK_HOURS) continue;
    const f = frameOf(history, calendar, options.weather, scaleOf(history.values));
    all.push(collectRows(f, trainingMask, n, params));
    const cut = Math.min(n, Math.floor((holdoutEndMs - history.startMs) / HOUR_MS));
    if (cut > WEEK_HOURS) {
      const b = frameOf(history, calendar, options.weather, scaleOf(history.values.subarray(0, cut)));
      early.push(collectRows(b, trainingMask, cut, params));
    }
  }
  const trees = fitOnRows(all, params);
  if (!trees) throw new RangeError('global trees: the series hold too few values to train on');
  return {
    kind: 'global-trees',
    trees,
    holdout: fitOnRows(early, params),
    dataEndMs,
    holdoutEndMs,
    series: all.length,
    rows: all.reduce((n, r) => n + r.rows, 0),
  };
}

export const globalBlend: ForecastMethod<BlendModel> = {
  id: 'global-blend',
  description:
    'the ensemble and gradient-boosted trees fitted across all series (global), weighted as their replays suit best',
  fit(history, options = {}) {
    if (!options.globalTrees) {
      throw new RangeError('global-blend: no global trees to forecast with (fitGlobalTrees over the peers)');
    }
    return fitBlend(history, options).model;
  },
  forecast: (model, horizonHours) => blend.forecast(model, horizonHours),
};

/**
 * The same global trees as they stood at their holdout's end: the holdout trees serve as the trees (replays from
 * that end on are out of sample for them). What a backtest week inside the last six weeks is fitted with.
 */
export function earlierTrees(global: GlobalTrees): GlobalTrees | undefined {
  if (!global.holdout) return undefined;
  return {
    kind: 'global-trees',
    trees: global.holdout,
    holdout: undefined,
    dataEndMs: global.holdoutEndMs,
    holdoutEndMs: global.holdoutEndMs,
    series: global.series,
    rows: global.rows,
  };
}
