/**
 * One target's forecast step, run when a new hour of data is complete (nodes: in the aggregator;
 * districts: in the rollup). Cheap in the usual case — the champion's stored model is refreshed with
 * the latest hours and forecasts the next 168 — and expensive only when the registry policy says so:
 *
 * - a target without a registry record is trained once it has MIN_TRAINING_HOURS of data: the
 *   combination (`firstChampion`) as champion and the blend as shadow challenger where eight weeks of history
 *   allow them, else the baseline and the ensemble, both backtested on the same weeks (the last BACKTEST_WEEKS);
 * - once a day, at a slot picked by a hash of the target (so a network's targets spread over the
 *   day), the policy is consulted (`decideRegistry`): the champion's forecast of a week ago is scored
 *   against what happened (live score → rollback, drift), the flow level is compared with the
 *   training data (drift), and seven days after the last training the target is retrained (champion
 *   refitted, next challenger in the rotation); a challenger whose backtest beats the champion's is
 *   promoted.
 *
 * Every time is the data's clock (the end of the last complete hour), never the wall clock, so a
 * replay computes the same forecasts.
 */
import { createHash } from 'node:crypto';
import type { ModelRegistry, RegistryRecord } from '../../adapters/coordination/model-registry.ts';
import type { PredictionRow } from '../../domain/predictions.ts';
import {
  afterTraining,
  decideRegistry,
  type RegistryEntry,
  type RegistryEvidence,
  type RegistryState,
} from '../../forecast/registry-policy.ts';
import { bwdfTotal, scoreBwdf } from '../../forecast/score.ts';
import {
  type Forecast,
  type GlobalTrees,
  HOUR_MS,
  type HourlySeries,
  WEEK_HOURS,
} from '../../forecast/types.ts';
import type { Logger } from '../../log.ts';
import { fallbackForecast } from './fallback.ts';
import { refreshForecast, type StoredModel } from './forecast-refresh.ts';
import {
  challengerFor,
  enoughHistory,
  firstChampion,
  nextChallenger,
  recentMean,
  type TrainedModel,
  trainModels,
} from './forecast-training.ts';
import { decodeModel, encodeModel } from './model-codec.ts';
import { predictionPayload, predictionRow } from './prediction-row.ts';
import type { ForecastStore, PerformanceRow } from './store.ts';

export { predictionPayload } from './prediction-row.ts';

const DAY_MS = 24 * HOUR_MS;
const SLOT_MS = 30 * 60_000;

export interface ForecastTarget {
  tenantId: string;
  targetId: string;
  targetKind: 'node' | 'district';
  timeZone: string;
  unit: string;
}

export interface ForecastDeps {
  store: ForecastStore;
  models: ModelRegistry;
  logger: Logger;
  /** Trainings still allowed in this invocation (shared by its targets); unlimited when absent. */
  trainingBudget?: { left: number };
  /**
   * The tenant's global trees fitted on data before `endMs` (`trainGlobalTrees`), or undefined: without them the
   * methods that need them (`global-blend`) are left out of the rotation.
   */
  globalTrees?: (endMs: number) => Promise<GlobalTrees | undefined>;
}

export interface ForecastInput {
  /** End of the last complete hour of data: the forecast starts here. */
  dataEndMs: number;
  /** Hourly values up to `dataEndMs`, at least the last week (what refresh and live scores read). */
  recent: HourlySeries;
  /** The whole stored history up to `dataEndMs`, read only when the target is trained. */
  loadHistory(): Promise<HourlySeries>;
}

export interface ForecastOutcome {
  prediction: PredictionRow;
  payload: ReturnType<typeof predictionPayload>;
  trained: boolean;
  actions: string[];
}

/** The target's daily decision slot: one of the day's 48 half hours, by a hash of its id. */
export function slotOffsetMs(targetId: string): number {
  return (createHash('sha1').update(targetId).digest().readUInt32BE(0) % 48) * SLOT_MS;
}

/** Whether a slot instant of the target lies in (afterMs, atMs]. */
export function slotDue(targetId: string, afterMs: number, atMs: number): boolean {
  const offset = slotOffsetMs(targetId);
  const firstAfter = (Math.floor((afterMs - offset) / DAY_MS) + 1) * DAY_MS + offset;
  return firstAfter <= atMs;
}

const entryOf = (t: TrainedModel): RegistryEntry => ({
  modelId: t.methodId,
  version: String(t.stored.trainedMs),
  // Firestore and JSON keep no Infinity: a method that could not be backtested scores the largest number.
  backtestScore: Number.isFinite(t.score) ? t.score : Number.MAX_VALUE,
  trainedMs: t.stored.trainedMs,
});

async function storeTraining(
  deps: ForecastDeps,
  target: ForecastTarget,
  trained: TrainedModel[],
  roles: string[],
) {
  await deps.store.saveModels(
    trained.map((t) => ({
      tenantId: target.tenantId,
      targetId: target.targetId,
      targetKind: target.targetKind,
      modelId: t.methodId,
      trainedMs: t.stored.trainedMs,
      dataToMs: t.stored.dataToMs,
      body: encodeModel(t.stored),
    })),
  );
  await deps.store.writePerformance(
    trained.map((t, i) => ({
      targetId: target.targetId,
      modelId: t.methodId,
      evaluatedAtMs: t.stored.trainedMs,
      role: (roles[i] ?? 'challenger') as PerformanceRow['role'],
      kind: 'backtest',
      ...t.backtest,
    })),
  );
}

/** Trains the champion's method and a challenger; null when the history is too short. */
async function train(
  deps: ForecastDeps,
  target: ForecastTarget,
  input: ForecastInput,
  /** The champion's method, or how to pick it from the history (the first training). */
  championOf: string | ((history: HourlySeries) => string),
  /** The challenger asked for, or (the first training) the rotation's first after the champion. */
  challengerOf: string | ((championId: string) => string),
): Promise<{ champion: TrainedModel; challenger?: TrainedModel; trainingMean: number } | null> {
  if (deps.trainingBudget) {
    if (deps.trainingBudget.left <= 0) return null;
    deps.trainingBudget.left -= 1;
  }
  const history = await input.loadHistory();
  if (!enoughHistory(history)) return null;
  const championId = typeof championOf === 'string' ? championOf : championOf(history);
  const challengerId = typeof challengerOf === 'string' ? challengerOf : challengerOf(championId);
  const globalTrees = await deps.globalTrees?.(input.dataEndMs);
  if (globalTrees && globalTrees.dataEndMs > input.dataEndMs) {
    throw new RangeError('global trees fitted on data after the training time');
  }
  const trained = trainModels({
    history,
    dataEndMs: input.dataEndMs,
    timeZone: target.timeZone,
    unit: target.unit,
    methodIds: [championId, challengerFor(championId, challengerId, history, globalTrees !== undefined)],
    trainedMs: input.dataEndMs,
    ...(globalTrees ? { globalTrees } : {}),
  });
  const champion = trained.find((t) => t.methodId === championId) ?? trained[0];
  if (!champion) return null;
  const challenger = trained.find((t) => t !== champion);
  await storeTraining(
    deps,
    target,
    [champion, ...(challenger ? [challenger] : [])],
    ['champion', 'challenger'],
  );
  return {
    champion,
    ...(challenger ? { challenger } : {}),
    trainingMean: recentMean(history, 4 * WEEK_HOURS),
  };
}

/** The champion's forecast of a week ago scored against the week that followed. */
async function liveEvidence(
  deps: ForecastDeps,
  target: ForecastTarget,
  record: RegistryRecord,
  input: ForecastInput,
): Promise<RegistryEvidence> {
  const evidence: RegistryEvidence = { nowMs: input.dataEndMs };
  const weekAgo = input.dataEndMs - WEEK_HOURS * HOUR_MS;
  const offset = (weekAgo - input.recent.startMs) / HOUR_MS;
  const actual = Float64Array.from(
    { length: WEEK_HOURS },
    (_, i) => input.recent.values[offset + i] ?? Number.NaN,
  );
  const level = recentMean({ startMs: weekAgo, values: actual }, WEEK_HOURS);
  if (record.trainingMean && Number.isFinite(level)) {
    evidence.levelShift = (level - record.trainingMean) / Math.abs(record.trainingMean);
  }
  const past = await deps.store.readPrediction(target.targetId, weekAgo);
  if (!past || past.modelId !== record.state.champion.modelId) return evidence;
  const mean = Float64Array.from(past.body.mean, (v) => v ?? Number.NaN);
  const score = scoreBwdf(actual, mean);
  const hours = actual.reduce((n, v) => (Number.isNaN(v) ? n : n + 1), 0);
  await deps.store.writePerformance([
    {
      targetId: target.targetId,
      modelId: past.modelId,
      evaluatedAtMs: input.dataEndMs,
      role: 'champion',
      kind: 'live',
      ...score,
    },
  ]);
  const total = bwdfTotal(score);
  if (Number.isFinite(total)) {
    evidence.liveScore = total;
    evidence.liveHours = hours;
  }
  return evidence;
}

/** Registry state after the policy and any training it asked for. */
async function decide(
  deps: ForecastDeps,
  target: ForecastTarget,
  input: ForecastInput,
  record: RegistryRecord | null,
): Promise<{ record: RegistryRecord; trained: boolean; actions: string[] } | null> {
  const now = input.dataEndMs;
  if (!record) {
    // The combination (or, young, the baseline) with the rotation's first other method (the global blend when
    // global trees exist; `challengerFor` moves on when not).
    const t = await train(deps, target, input, firstChampion, (championId) =>
      nextChallenger(championId, undefined, Number.POSITIVE_INFINITY, true),
    );
    if (!t) return null;
    const state: RegistryState = {
      champion: entryOf(t.champion),
      ...(t.challenger ? { challenger: entryOf(t.challenger) } : {}),
      lastTrainedMs: now,
    };
    const decision = decideRegistry(state, { nowMs: now });
    return {
      record: {
        tenantId: target.tenantId,
        targetId: target.targetId,
        targetKind: target.targetKind,
        state: decision.next,
        trainingMean: Number.isFinite(t.trainingMean) ? t.trainingMean : null,
        lastDecisionMs: now,
        reasons: ['first training', ...decision.reasons],
      },
      trained: true,
      actions: ['train', ...decision.actions.map((a) => a.kind)],
    };
  }
  if (!slotDue(target.targetId, record.lastDecisionMs, now)) return { record, trained: false, actions: [] };
  // Out of trainings for this invocation: the slot waits for a later one (the champion still serves).
  if (deps.trainingBudget && deps.trainingBudget.left <= 0) return { record, trained: false, actions: [] };
  const decision = decideRegistry(record.state, await liveEvidence(deps, target, record, input));
  const actions = decision.actions.map((a) => a.kind);
  let state = decision.next;
  let trainingMean = record.trainingMean;
  const reasons = [...decision.reasons];
  let trained = false;
  if (decision.actions.some((a) => a.kind === 'retrain')) {
    const championId = state.champion.modelId;
    const t = await train(
      deps,
      target,
      input,
      championId,
      nextChallenger(championId, state.challenger?.modelId, Number.POSITIVE_INFINITY, true),
    );
    if (t) {
      trained = true;
      state = afterTraining(state, {
        nowMs: now,
        champion: entryOf(t.champion),
        ...(t.challenger ? { challenger: entryOf(t.challenger) } : {}),
      });
      trainingMean = Number.isFinite(t.trainingMean) ? t.trainingMean : trainingMean;
      // A fresh challenger that already beats the champion is promoted now, not a day later.
      const after = decideRegistry(state, { nowMs: now });
      if (after.actions.some((a) => a.kind === 'promote')) {
        state = after.next;
        actions.push('promote');
        reasons.push(...after.reasons.filter((r) => r.startsWith('challenger')));
      }
    }
  }
  return {
    record: { ...record, state, trainingMean, lastDecisionMs: now, reasons },
    trained,
    actions,
  };
}

/** Runs the target's forecast step for the hour ending at `input.dataEndMs`; null when it has no model yet. */
export async function forecastTarget(
  deps: ForecastDeps,
  target: ForecastTarget,
  input: ForecastInput,
): Promise<ForecastOutcome | null> {
  const current = await deps.models.get(target.tenantId, target.targetId);
  const decided = await decide(deps, target, input, current);
  if (!decided) return serveFallback(deps, target, input);
  let { record } = decided;
  if (decided.record !== current) {
    const written = await deps.models.update(target.tenantId, target.targetId, (now) =>
      // Another instance decided this slot already: keep what it wrote.
      now && now.lastDecisionMs >= record.lastDecisionMs ? null : record,
    );
    if (written) record = written;
  }
  if (decided.actions.length > 0) {
    deps.logger.info('forecast model registry changed', {
      event: 'forecast.registry',
      targetId: target.targetId,
      actions: decided.actions,
      champion: record.state.champion.modelId,
      challenger: record.state.challenger?.modelId ?? null,
      reasons: record.reasons,
    });
  }
  const championId = record.state.champion.modelId;
  const body = await deps.store.loadModel(target.targetId, championId);
  if (!body) {
    deps.logger.warn('champion model not stored', {
      event: 'forecast.missing_model',
      targetId: target.targetId,
      championId,
    });
    return null;
  }
  const stored = decodeModel<StoredModel>(body);
  const forecast: Forecast = refreshForecast(stored, input.recent, input.dataEndMs);
  const prediction = predictionRow(target, championId, forecast, input.dataEndMs, {
    trainedMs: stored.trainedMs,
    servedBy: 'champion',
    ...(stored.historyHours !== undefined ? { historyHours: stored.historyHours } : {}),
  });
  await deps.store.writePredictions([prediction]);
  return {
    prediction,
    payload: predictionPayload(prediction),
    trained: decided.trained,
    actions: decided.actions,
  };
}

/**
 * No trained champion yet (history too short, or this invocation's trainings used up): a simpler model
 * fitted on what there is serves, and the prediction says so (`fallback.ts`).
 */
async function serveFallback(
  deps: ForecastDeps,
  target: ForecastTarget,
  input: ForecastInput,
): Promise<ForecastOutcome | null> {
  const fallback = fallbackForecast(await input.loadHistory());
  if (!fallback || fallback.forecast.startMs !== input.dataEndMs) return null;
  const prediction = predictionRow(target, fallback.methodId, fallback.forecast, input.dataEndMs, {
    trainedMs: input.dataEndMs,
    servedBy: 'fallback',
    historyHours: fallback.historyHours,
    note: fallback.note,
  });
  await deps.store.writePredictions([prediction]);
  return { prediction, payload: predictionPayload(prediction), trained: false, actions: [] };
}
