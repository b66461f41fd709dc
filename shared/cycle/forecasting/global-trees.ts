/**
 * The global trees of a tenant: one gradient-boosted model fitted on the hourly histories of all its forecast
 * targets (district inlets and districts), each in units of its own level (`shared/forecast/global.ts`). A step of
 * its own, not part of a target's refresh: fitting costs about 0.09 ms per training row and fit (two fits: the
 * trees and their six-week holdout), ≈ 6,000 rows per target-year, so ≈ 1 s of CPU per target on this machine
 * (10 BWDF districts: 10.8 s). Run weekly in the background; each target's training then takes them through
 * `ForecastDeps.globalTrees`, and its stored `global-blend` model keeps a copy (refresh needs nothing else).
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
