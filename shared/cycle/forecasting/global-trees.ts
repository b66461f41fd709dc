/**
 * The global trees of a tenant: one gradient-boosted model fitted on the hourly histories of all its forecast
 * targets (district inlets and districts), each in units of its own level (`shared/forecast/global.ts`). A step of
 * its own, not part of a target's refresh: it costs ≈ 0.2 ms of CPU per training row (both fits: the trees and
 * their six-week holdout), ≈ 6,000 rows per target-year, so ≈ 1–1.3 s per target on this machine (10 BWDF
 * districts, 61k rows: 10.8 s; 4 synthetic targets, 7k rows: 1.5 s). Meant to run weekly as a step of its own;
 * each target's training takes them through `ForecastDeps.globalTrees`, and its stored `global-blend` model keeps a
 * copy of the trees (its refresh costs what the blend's does and needs nothing else). Not wired into the
 * aggregator or the rollup yet (their callers own `ForecastDeps`): without the trees the rotation skips the method.
 */
import { fitGlobalTrees, type GlobalSeries } from '../../forecast/global.ts';
import { trainingMask } from '../../forecast/sampling.ts';
import { type GlobalTrees, HOUR_MS, type HourlySeries } from '../../forecast/types.ts';
import { calendarFor } from './forecast-refresh.ts';
import { enoughHistory } from './forecast-training.ts';

/**
 * Fits the tenant's global trees on the targets' histories (each cut at `dataEndMs`, sampled as a target's own
 * training is); undefined when fewer than two targets have enough history to be trained at all.
 */
export function trainGlobalTrees(
  histories: readonly HourlySeries[],
  dataEndMs: number,
  timeZone: string,
): GlobalTrees | undefined {
  const series: GlobalSeries[] = [];
  for (const h of histories) {
    const keep = Math.min(h.values.length, Math.floor((dataEndMs - h.startMs) / HOUR_MS));
    if (keep <= 0) continue;
    const history = { startMs: h.startMs, values: h.values.slice(0, keep) };
    if (!enoughHistory(history)) continue;
    series.push({ history, trainingMask: trainingMask(history.startMs, keep, dataEndMs) });
  }
  if (series.length < 2) return undefined;
  try {
    return fitGlobalTrees(series, { calendar: calendarFor(timeZone) });
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}
