/**
 * The forecast a target gets from its history alone, as the cycle makes it at a target's first training:
 * the champion's method and the first challenger are trained and backtested on the same week, the
 * registry policy picks the one that serves (`decideRegistry`), and its stored model is refreshed to the
 * origin (`refreshForecast`); a history too short for training gets the fallback (`fallback.ts`).
 * `npm run forecast` (scripts/forecast.ts) calls this, so engineers get exactly the cycle's forecast.
 * Pure: the history must end at the origin (nothing after it is passed in).
 */
import { decideRegistry } from '../../forecast/registry-policy.ts';
import type { Forecast, HourlySeries } from '../../forecast/types.ts';
import { fallbackForecast } from './fallback.ts';
import { refreshForecast } from './forecast-refresh.ts';
import {
  challengerFor,
  enoughHistory,
  firstChampion,
  nextChallenger,
  observedHours,
  trainModels,
} from './forecast-training.ts';

export interface FirstForecast {
  modelId: string;
  servedBy: 'champion' | 'fallback';
  historyHours: number;
  note: string | null;
  forecast: Forecast;
}

export function firstForecast(
  history: HourlySeries,
  options: { dataEndMs: number; timeZone: string; unit: string },
): FirstForecast | null {
  if (enoughHistory(history)) {
    const first = firstChampion(history);
    const trained = trainModels({
      history,
      dataEndMs: options.dataEndMs,
      timeZone: options.timeZone,
      unit: options.unit,
      methodIds: [first, challengerFor(first, nextChallenger(first), history)],
      trainedMs: options.dataEndMs,
    });
    const champion = trained.find((t) => t.methodId === first) ?? trained[0];
    if (champion) {
      const challenger = trained.find((t) => t !== champion);
      const entry = (t: typeof champion) => ({
        modelId: t.methodId,
        backtestScore: Number.isFinite(t.score) ? t.score : Number.MAX_VALUE,
        trainedMs: t.stored.trainedMs,
      });
      const decision = decideRegistry(
        {
          champion: entry(champion),
          ...(challenger ? { challenger: entry(challenger) } : {}),
          lastTrainedMs: options.dataEndMs,
        },
        { nowMs: options.dataEndMs },
      );
      const serving = trained.find((t) => t.methodId === decision.next.champion.modelId) ?? champion;
      const empty = { startMs: options.dataEndMs, values: new Float64Array(0) };
      return {
        modelId: serving.methodId,
        servedBy: 'champion',
        historyHours: observedHours(history),
        note: null,
        forecast: refreshForecast(serving.stored, empty, options.dataEndMs),
      };
    }
  }
  const fallback = fallbackForecast(history);
  return fallback
    ? {
        modelId: fallback.methodId,
        servedBy: 'fallback',
        historyHours: fallback.historyHours,
        note: fallback.note,
        forecast: fallback.forecast,
      }
    : null;
}
