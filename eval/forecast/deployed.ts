/**
 * The deployed configuration, for `eval:forecast`'s headline: the models as the cycle trains, selects and refreshes
 * them, through the cycle's own code — `trainModels` (each method backtested on the last week before the origin, then
 * fitted on all of it, with the cycle's calendar and training-window sampling), `refreshForecast` (the forecast the
 * cycle serves from a stored model) and the registry policy (`decideRegistry`, `afterTraining`: a champion, one
 * challenger in the rotation, promotion on a better mean over BACKTEST_WEEKS backtest weeks, rollback on a broken
 * live week). No weather: the cycle
 * has no weather source. No global trees either: the cycle does not fit them yet (global-trees.ts), so the rotation
 * skips `global-blend` there and here.
 *
 * The replay is week by week: at each weekly origin every deployable method is trained (so each is scored as it
 * would serve), the registry takes its weekly decision on the backtest scores and the served forecast of a week ago,
 * and `cycle` is the forecast of the method it leaves serving. The cycle backtests each of its two models on the
 * last BACKTEST_WEEKS weeks, a fit per week; here each origin's training backtests one week, and the registry's
 * score is the mean of the one-week backtests of the last BACKTEST_WEEKS origins: the same fits on the same data
 * (week k before the origin is fitted on the data before it, with the same training window), so the same numbers
 * (deployed.test.ts checks it) at a quarter of the cost. `cycle-7d` is what the cycle serves just before its
 * weekly retraining: last week's champion, as stored then, refreshed with the week's data to the origin.
 * Simplified against the cycle: its daily decision slot is taken at the origin, so a model is trained at the origin.
 *
 * Nothing at or after the origin is read: every step gets the series cut at the origin (deployed.test.ts perturbs
 * everything after it and asserts bit-identical forecasts).
 */
import { refreshForecast, type StoredModel } from '../../shared/cycle/forecasting/forecast-refresh.ts';
import {
  BACKTEST_WEEKS,
  challengerFor,
  firstChampion,
  nextChallenger,
  type TrainedModel,
  trainModels,
} from '../../shared/cycle/forecasting/forecast-training.ts';
import {
  afterTraining,
  decideRegistry,
  type RegistryEntry,
  type RegistryState,
} from '../../shared/forecast/registry-policy.ts';
import { bwdfTotal, scoreBwdf } from '../../shared/forecast/score.ts';
import { type Forecast, HOUR_MS, type HourlySeries, WEEK_HOURS } from '../../shared/forecast/types.ts';

/** The methods the cycle trains where no global trees exist (the rotation without `global-blend`). */
export const DEPLOYED_METHOD_IDS = [
  'seasonal-naive',
  'holt-winters',
  'regression',
  'ensemble',
  'gbm',
  'blend',
  'combination',
] as const;

export interface DeployedModel {
  trained: TrainedModel;
  /** The 168 hours from the origin as the cycle serves them (`refreshForecast` of the stored model). */
  forecast: Forecast;
}

/** The series' hours before `originMs`: all any step of the cycle is given. */
export function historyBefore(series: HourlySeries, originMs: number): HourlySeries {
  const cut = (originMs - series.startMs) / HOUR_MS;
  if (!Number.isInteger(cut) || cut <= 0) throw new RangeError('origin not an hour inside the series');
  return { startMs: series.startMs, values: series.values.slice(0, cut) };
}

/** Every deployable method trained at the origin by the cycle's code, each with the forecast the cycle serves. */
export function trainDeployed(
  history: HourlySeries,
  originMs: number,
  timeZone: string,
  methodIds: readonly string[] = DEPLOYED_METHOD_IDS,
): Map<string, DeployedModel> {
  const trained = trainModels({
    history,
    dataEndMs: originMs,
    timeZone,
    unit: 'L/s',
    methodIds,
    trainedMs: originMs,
    backtestWeeks: 1,
  });
  const empty = { startMs: originMs, values: new Float64Array(0) };
  return new Map(
    trained.map((t) => [t.methodId, { trained: t, forecast: refreshForecast(t.stored, empty, originMs) }]),
  );
}

const WEEK_MS = WEEK_HOURS * HOUR_MS;

/**
 * One target's registry replayed week by week, as the forecaster drives it (forecaster.ts `decide`): the first
 * training makes the baseline champion with the rotation's first challenger the history allows; each later week the
 * policy sees the served forecast of a week ago scored against the week (rollback, drift), retrains the champion with
 * the next challenger (the schedule: seven days) and promotes a challenger whose backtest week is better.
 */
export class RegistryReplay {
  state: RegistryState | undefined;
  private served: { modelId: string; stored: StoredModel; forecast: Forecast; originMs: number } | undefined;
  /** Each method's one-week backtest total at each origin trained (method → origin → total). */
  private readonly weekly = new Map<string, Map<number, number>>();

  private readonly backtestWeeks: number;

  constructor(backtestWeeks = BACKTEST_WEEKS) {
    this.backtestWeeks = backtestWeeks;
  }

  /** Keeps the one-week backtests of the models trained at `originMs` (every origin, warm-up ones too). */
  record(originMs: number, models: ReadonlyMap<string, DeployedModel>): void {
    for (const [id, m] of models) {
      const mine = this.weekly.get(id) ?? new Map<number, number>();
      this.weekly.set(id, mine);
      mine.set(originMs, m.trained.weeklyTotals[0] ?? Number.NaN);
    }
  }

  /**
   * Registry entries of a champion and a challenger trained together at `originMs`, scored as `trainModels` scores
   * them over BACKTEST_WEEKS weeks: the mean over the weeks both could backtest.
   */
  private entries(originMs: number, ids: readonly string[]): (RegistryEntry | undefined)[] {
    const totals = ids.map((id) =>
      Array.from(
        { length: this.backtestWeeks },
        (_, k) => this.weekly.get(id)?.get(originMs - k * WEEK_MS) ?? Number.NaN,
      ),
    );
    const common = totals[0]!.map((_, k) => k).filter((k) => totals.every((t) => Number.isFinite(t[k]!)));
    return ids.map((id, i) => {
      if (!this.weekly.get(id)?.has(originMs)) return undefined;
      const own = totals[i]!.map((_, k) => k).filter((k) => Number.isFinite(totals[i]![k]!));
      const weeks = common.length ? common : own;
      const score = weeks.length ? weeks.reduce((s, k) => s + totals[i]![k]!, 0) / weeks.length : Number.NaN;
      return {
        modelId: id,
        backtestScore: Number.isFinite(score) ? score : Number.MAX_VALUE,
        trainedMs: originMs,
      };
    });
  }

  /**
   * The week's decision at `originMs` from the models trained there; returns the serving model and, when last
   * week's champion is known, its stored model refreshed to the origin with the week's data (`cycle-7d`).
   */
  step(
    /** The target's history, ending at the origin. */
    history: HourlySeries,
    originMs: number,
    models: ReadonlyMap<string, DeployedModel>,
  ): { serving: DeployedModel; weekOld: Forecast | undefined } | undefined {
    this.record(originMs, models);
    /** The champion's entry and its challenger's (the requested one or the next the history allows). */
    const trainedPair = (championId: string, requested: string) => {
      const id = challengerFor(championId, requested, history, false);
      const [champion, challenger] = this.entries(
        originMs,
        id === championId ? [championId] : [championId, id],
      );
      return { champion, challenger };
    };
    let weekOld: Forecast | undefined;
    const last = this.served;
    const lastWeek = last && last.originMs === originMs - WEEK_HOURS * HOUR_MS ? last : undefined;
    // A replay over saved forecasts (combination-study.ts) has no stored model to refresh: no `cycle-7d` there.
    if (lastWeek?.stored) {
      weekOld = refreshForecast(
        lastWeek.stored,
        { startMs: originMs - WEEK_HOURS * HOUR_MS, values: history.values.slice(-WEEK_HOURS) },
        originMs,
      );
    }
    if (!this.state) {
      const first = firstChampion(history);
      const { champion, challenger } = trainedPair(
        first,
        nextChallenger(first, undefined, Number.POSITIVE_INFINITY, true),
      );
      if (!champion) return undefined;
      const state: RegistryState = {
        champion,
        ...(challenger ? { challenger } : {}),
        lastTrainedMs: originMs,
      };
      this.state = decideRegistry(state, { nowMs: originMs }).next;
    } else {
      const evidence: { nowMs: number; liveScore?: number; liveHours?: number } = { nowMs: originMs };
      if (lastWeek && lastWeek.modelId === this.state.champion.modelId) {
        const actual = history.values.subarray(history.values.length - WEEK_HOURS);
        const total = bwdfTotal(scoreBwdf(actual, lastWeek.forecast.mean));
        if (Number.isFinite(total)) {
          evidence.liveScore = total;
          evidence.liveHours = actual.reduce((n, v) => (Number.isNaN(v) ? n : n + 1), 0);
        }
      }
      const decision = decideRegistry(this.state, evidence);
      let state = decision.next;
      if (decision.actions.some((a) => a.kind === 'retrain')) {
        const championId = state.champion.modelId;
        const { champion, challenger } = trainedPair(
          championId,
          nextChallenger(championId, state.challenger?.modelId, Number.POSITIVE_INFINITY, true),
        );
        if (champion) {
          state = afterTraining(state, {
            nowMs: originMs,
            champion,
            ...(challenger ? { challenger } : {}),
          });
          const after = decideRegistry(state, { nowMs: originMs });
          if (after.actions.some((a) => a.kind === 'promote')) state = after.next;
        }
      }
      this.state = state;
    }
    const serving = models.get(this.state.champion.modelId);
    if (!serving) return undefined;
    this.served = {
      modelId: serving.trained.methodId,
      stored: serving.trained.stored,
      forecast: serving.forecast,
      originMs,
    };
    return { serving, weekOld };
  }
}

export interface DeployedForecasts {
  originMs: number;
  /** Every trained method's, then `cycle` (the registry's champion; `servedBy` names it) and `cycle-7d`. */
  forecasts: { methodId: string; forecast: Forecast; servedBy?: string }[];
}

/**
 * One series replayed through the cycle at each origin (consecutive weeks), from two warm-up weeks before the first
 * (not yielded), so the registry has taken its first decision and `cycle-7d` has last week's
 * champion at every yielded origin; the models are trained from BACKTEST_WEEKS − 1 weeks earlier still, so the
 * registry's first decision has its backtest weeks. Lazy, an origin at a time (a run can go through its series in step and save as it
 * goes). Each origin reads the series only before it.
 */
export function* replayDeployed(
  series: HourlySeries,
  originsMs: readonly number[],
  timeZone: string,
  methodIds: readonly string[] = DEPLOYED_METHOD_IDS,
): Generator<DeployedForecasts> {
  const registry = new RegistryReplay();
  const first = originsMs[0];
  if (first === undefined) return;
  const before = (weeks: number) =>
    Array.from({ length: weeks }, (_, i) => first - (weeks - i) * WEEK_MS).filter(
      (ms) => ms > series.startMs,
    );
  const warmUp = before(2);
  const recordOnly = before(BACKTEST_WEEKS + 1).filter((ms) => !warmUp.includes(ms));
  for (const originMs of [...recordOnly, ...warmUp, ...originsMs]) {
    const history = historyBefore(series, originMs);
    const models = trainDeployed(history, originMs, timeZone, methodIds);
    if (recordOnly.includes(originMs)) {
      registry.record(originMs, models);
      continue;
    }
    const step = registry.step(history, originMs, models);
    if (warmUp.includes(originMs)) continue;
    const forecasts: DeployedForecasts['forecasts'] = [...models].map(([methodId, m]) => ({
      methodId,
      forecast: m.forecast,
    }));
    if (step) {
      forecasts.push({
        methodId: 'cycle',
        forecast: step.serving.forecast,
        servedBy: step.serving.trained.methodId,
      });
    }
    if (step?.weekOld) forecasts.push({ methodId: 'cycle-7d', forecast: step.weekOld });
    yield { originMs, forecasts };
  }
}
