/**
 * Training a target's models: each method is backtested on each of the last BACKTEST_WEEKS weeks of the history
 * (for each week fitted on what came before it, with the training-window sampling), then fitted on the whole history
 * for serving. A method's backtest score is the mean over the weeks that every method trained together could
 * backtest, so the champion's and the challenger's scores come from the same weeks and the registry can compare them
 * (`decideRegistry`). Pure: the caller brings the history and stores the results.
 */
import { type BlendModel, fitBlend } from '../../forecast/boosted.ts';
import { earlierTrees } from '../../forecast/global.ts';
import { BASELINE_METHOD_ID, forecastMethod } from '../../forecast/methods.ts';
import { trainingMask } from '../../forecast/sampling.ts';
import { type BwdfScore, bwdfTotal, meanScore, scoreBwdf } from '../../forecast/score.ts';
import {
  type GlobalTrees,
  HOUR_MS,
  type HourlySeries,
  MAX_HORIZON_HOURS,
  WEEK_HOURS,
} from '../../forecast/types.ts';
import { calendarFor, type StoredModel, TAIL_HOURS } from './forecast-refresh.ts';

/** The methods a challenger is drawn from, in turn (the champion is skipped). */
export const CHALLENGER_ROTATION = [
  'global-blend',
  'combination',
  'blend',
  'ensemble',
  'gbm',
  'holt-winters',
  'regression',
  BASELINE_METHOD_ID,
] as const;

/**
 * Observed hours a method needs before it is trained as a challenger: the trees read four weeks of profile
 * lags and need weeks of rows after them, so `gbm`, `blend` and `combination` wait for eight weeks; the others need what any
 * training needs (`enoughHistory`).
 */
export const MIN_OBSERVED_HOURS: Readonly<Record<string, number>> = {
  combination: 8 * WEEK_HOURS,
  blend: 8 * WEEK_HOURS,
  gbm: 8 * WEEK_HOURS,
};
/** A young target's first champion: the baseline every other model has to beat. */
export const FIRST_CHAMPION = BASELINE_METHOD_ID;

/**
 * A target's first champion: the combination where the history allows it (eight weeks), else the baseline. Over the
 * BWDF year every switch away from the combination that a backtest asked for cost more than it won, so it starts as
 * the champion rather than having to win its place (eval/RESULTS.md, 2026-12-07, helper C).
 */
export const firstChampion = (history: HourlySeries): string =>
  observedHours(history) >= (MIN_OBSERVED_HOURS.combination ?? 0) ? 'combination' : FIRST_CHAMPION;

/**
 * History before a target is trained: three weeks of span — two to fit on (the smoother's search needs
 * them) and the backtest week — of which at least two weeks of hours hold data.
 */
export const MIN_TRAINING_SPAN_HOURS = 3 * WEEK_HOURS;
export const MIN_TRAINING_OBSERVED_HOURS = 2 * WEEK_HOURS;

export const enoughHistory = (s: HourlySeries): boolean =>
  s.values.length >= MIN_TRAINING_SPAN_HOURS && observedHours(s) >= MIN_TRAINING_OBSERVED_HOURS;

/**
 * Weeks a champion and a challenger are backtested on. Between two good models one week's difference is mostly
 * noise (weeks differ in difficulty more than good models differ from each other), so the registry compares them on
 * the mean of several. Four, chosen on the first half of the BWDF evaluation year (eval/RESULTS.md, 2026-12-07,
 * helper C); the global trees' holdout (six weeks) keeps every backtest week out of sample for them. Each week is a
 * fit: training costs (weeks + 1) fits per method.
 */
export const BACKTEST_WEEKS = 4;

export interface TrainedModel {
  methodId: string;
  stored: StoredModel;
  /** Mean of the weekly backtest scores over the weeks compared (see `score`). */
  backtest: BwdfScore;
  /**
   * BWDF total of the backtest (lower is better): the mean over the backtest weeks that every method trained with it
   * could score; Infinity when the method could not be backtested.
   */
  score: number;
  /** The BWDF total of each backtest week, the latest first (NaN where the method could not be backtested). */
  weeklyTotals: number[];
}

/** Methods that need global trees (fitted across the tenant's targets) to be trained at all. */
export const NEEDS_GLOBAL_TREES: ReadonlySet<string> = new Set(['global-blend']);

/**
 * The challenger after `previous` in the rotation that is not the champion and, when the history's observed hours
 * are given, whose history needs they meet (so a young target gets the ensemble, an older one the blend); methods
 * that need global trees only when `global` says some are available.
 */
export function nextChallenger(
  championId: string,
  previous?: string,
  observed = Number.POSITIVE_INFINITY,
  global = false,
): string {
  const n = CHALLENGER_ROTATION.length;
  const start = previous ? CHALLENGER_ROTATION.indexOf(previous as never) + 1 : 0;
  for (let i = 0; i < n; i++) {
    const id = CHALLENGER_ROTATION[(start + i) % n]!;
    if (id === championId || observed < (MIN_OBSERVED_HOURS[id] ?? 0)) continue;
    if (NEEDS_GLOBAL_TREES.has(id) && !global) continue;
    return id;
  }
  return BASELINE_METHOD_ID;
}

/** The challenger asked for, or the next one the history (and the global trees' presence) allows. */
export function challengerFor(
  championId: string,
  requested: string,
  history: HourlySeries,
  global = false,
): string {
  const observed = observedHours(history);
  if (observed >= (MIN_OBSERVED_HOURS[requested] ?? 0) && (global || !NEEDS_GLOBAL_TREES.has(requested)))
    return requested;
  return nextChallenger(championId, requested, observed, global);
}

/** Hours holding a value. */
export const observedHours = (s: HourlySeries): number =>
  s.values.reduce((n, v) => (Number.isNaN(v) ? n : n + 1), 0);

/** Mean of the last `hours` of a series, ignoring gaps (NaN when empty). */
export function recentMean(s: HourlySeries, hours: number): number {
  let sum = 0;
  let count = 0;
  for (let i = Math.max(0, s.values.length - hours); i < s.values.length; i++) {
    const v = s.values[i]!;
    if (!Number.isNaN(v)) {
      sum += v;
      count++;
    }
  }
  return count ? sum / count : Number.NaN;
}

export interface TrainingInput {
  /** Hourly history ending at `dataEndMs` (exclusive), gaps NaN. */
  history: HourlySeries;
  dataEndMs: number;
  timeZone: string;
  unit: string;
  methodIds: readonly string[];
  /** When it is trained (the data's clock, so replays agree). */
  trainedMs: number;
  /** Trees fitted across the tenant's targets (`trainGlobalTrees`), for the methods that need them. */
  globalTrees?: GlobalTrees;
  /** Backtest weeks (default BACKTEST_WEEKS, at most six: the global trees' holdout). */
  backtestWeeks?: number;
}

/**
 * Methods whose model is one blend fit (`fitBlend`), read two ways: trained together, the blend and the combination
 * share each fit (the same models as fitted apart, forecast-training.test.ts, at the cost of one).
 */
const FROM_BLEND_FIT: ReadonlySet<string> = new Set(['blend', 'combination']);

/** One training's blend fits, by the length of the history they were fitted on. */
type SharedFits = Map<number, BlendModel>;

function fitAndForecast(
  methodId: string,
  history: HourlySeries,
  originMs: number,
  timeZone: string,
  globalTrees: GlobalTrees | undefined,
  shared?: SharedFits,
) {
  const method = forecastMethod(methodId);
  const options = {
    calendar: calendarFor(timeZone),
    trainingMask: trainingMask(history.startMs, history.values.length, originMs),
    ...(globalTrees ? { globalTrees } : {}),
  };
  let model: unknown;
  if (shared && FROM_BLEND_FIT.has(methodId)) {
    model = shared.get(history.values.length);
    if (!model) {
      model = fitBlend(history, options).model;
      shared.set(history.values.length, model as BlendModel);
    }
  } else {
    model = method.fit(history, options);
  }
  return { model, forecast: method.forecast(model, MAX_HORIZON_HOURS) };
}

export function trainModels(input: TrainingInput): TrainedModel[] {
  const { history, dataEndMs, timeZone } = input;
  const n = history.values.length;
  if (history.startMs + n * HOUR_MS !== dataEndMs) throw new RangeError('history must end at dataEndMs');
  const weeks = input.backtestWeeks ?? BACKTEST_WEEKS;
  if (!Number.isInteger(weeks) || weeks < 1 || weeks > 6)
    throw new RangeError('backtestWeeks must be 1 to 6');
  const tail = {
    startMs: dataEndMs - Math.min(n, TAIL_HOURS) * HOUR_MS,
    values: history.values.slice(-TAIL_HOURS),
  };
  const candidates: { methodId: string; model: unknown; weekly: BwdfScore[] }[] = [];
  // The blend and the combination trained together share their fits.
  const shared: SharedFits | undefined =
    input.methodIds.filter((id) => FROM_BLEND_FIT.has(id)).length > 1 ? new Map() : undefined;
  for (const methodId of input.methodIds) {
    const weekly: BwdfScore[] = [];
    for (let k = 1; k <= weeks; k++) {
      const cut = n - k * WEEK_HOURS;
      let score: BwdfScore = { maeDay1: Number.NaN, maxAeDay1: Number.NaN, maeDays2to7: Number.NaN };
      try {
        if (cut > 0) {
          // Each backtest week out of sample, for the global trees too: those as they stood six weeks back.
          const { forecast } = fitAndForecast(
            methodId,
            { startMs: history.startMs, values: history.values.slice(0, cut) },
            dataEndMs - k * WEEK_HOURS * HOUR_MS,
            timeZone,
            input.globalTrees && earlierTrees(input.globalTrees),
            shared,
          );
          score = scoreBwdf(history.values.subarray(cut, cut + WEEK_HOURS), forecast.mean);
        }
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
      }
      weekly.push(score);
    }
    let model: unknown;
    try {
      model = fitAndForecast(methodId, history, dataEndMs, timeZone, input.globalTrees, shared).model;
    } catch (err) {
      // Too little data for this method (it says so with a RangeError): it is not a candidate now.
      if (!(err instanceof RangeError)) throw err;
      continue;
    }
    candidates.push({ methodId, model, weekly });
  }
  // The weeks every candidate could backtest: scores over the same weeks compare.
  const common = Array.from({ length: weeks }, (_, k) => k).filter((k) =>
    candidates.every((c) => Number.isFinite(bwdfTotal(c.weekly[k]!))),
  );
  return candidates.map(({ methodId, model, weekly }) => {
    const own = weekly.filter((w) => Number.isFinite(bwdfTotal(w)));
    const backtest = common.length
      ? meanScore(common.map((k) => weekly[k]!))
      : own.length
        ? meanScore(own)
        : { maeDay1: Number.NaN, maxAeDay1: Number.NaN, maeDays2to7: Number.NaN };
    const total = bwdfTotal(backtest);
    return {
      methodId,
      backtest,
      score: Number.isFinite(total) ? total : Number.POSITIVE_INFINITY,
      weeklyTotals: weekly.map(bwdfTotal),
      stored: {
        methodId,
        model,
        tail,
        timeZone,
        trainedMs: input.trainedMs,
        dataToMs: dataEndMs,
        unit: input.unit,
        historyHours: observedHours(history),
      },
    };
  });
}
