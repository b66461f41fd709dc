/**
 * Leak localisation in the rollup, after the district detectors: for every leak anomaly of a district (a
 * night-flow, pressure-residual, water-balance, burst or net-inflow baseline anomaly) that is open, or was
 * seen since the previous rollup, the district's pressure points' residuals against the pressure model's
 * reference frozen before the anomaly's start are ranked against the tenant's candidate leak nodes
 * (`shared/anomaly/localise.ts`; the candidates come from `npm run network:import`), and the top candidates
 * are stored on the anomaly — refreshed every rollup while it stays open; the store keeps the first
 * localisation beside the latest (what a crew was sent on, however the refreshes move).
 *
 * Reads per located anomaly: the district's hourly pressure partials over its reference window (14 days
 * before the start, more when past leaks are left out) and over the last day. Nothing happens for a tenant
 * without an imported model or without an open leak anomaly.
 */
import {
  type Anomaly,
  DEFAULT_ANOMALY_CONFIG,
  type LeakLocalisation,
  locateLeak,
  pressureExcludedSpans,
} from '../../anomaly/index.ts';
import { HOUR_MS } from '../../domain/aggregate.ts';
import type { AggregatorDeps } from '../deps.ts';
import { hourlySeriesOf } from './district-anomalies.ts';
import type { DistrictMeters } from './store.ts';

/** The anomaly types a leak opens at district level. */
export const LEAK_TYPES: ReadonlySet<Anomaly['type']> = new Set([
  'night_flow_leak',
  'pressure_residual',
  'water_balance',
  'burst',
  'baseline_deviation',
]);

/** Hours of the recent window read: the last day's residuals, and an hour either side. */
const RECENT_HOURS = 26;

/**
 * Locates the leak anomalies of the tenant's districts seen since `sinceMs` (or still open); returns how
 * many anomalies were given candidates.
 */
export async function locateLeaks(
  deps: AggregatorDeps,
  tenantId: string,
  districts: readonly DistrictMeters[],
  sinceMs: number,
  nowMs: number,
): Promise<number> {
  const model = DEFAULT_ANOMALY_CONFIG.district.pressureModel;
  if (!model) return 0;
  const store = deps.stores.rollup;
  const pointsOf = (d: DistrictMeters) => d.nodes.filter((n) => n.kind === 'pressure').map((n) => n.id);
  const modelled = districts.filter((d) => pointsOf(d).length > model.minOthers);
  if (modelled.length === 0) return 0;
  const anomalies = await store.readDistrictAnomalies(
    modelled.map((d) => d.district.id),
    sinceMs,
  );
  const leaks = anomalies.filter(
    (a) =>
      LEAK_TYPES.has(a.type) &&
      a.status !== 'pending' &&
      (a.status !== 'resolved' || a.lastSeenMs >= sinceMs),
  );
  if (leaks.length === 0) return 0;
  const candidates = await store.readLeakSensitivity(tenantId);
  if (candidates.length === 0) return 0;
  // Past leaks the pressure model leaves out of its reference, as the detector does.
  const earliest = Math.min(...leaks.map((a) => a.startMs));
  const past = await store.readDistrictAnomalies(
    modelled.map((d) => d.district.id),
    earliest - (model.referenceHours + model.lagHours) * HOUR_MS,
  );
  const located: { id: string; locations: LeakLocalisation }[] = [];
  for (const d of modelled) {
    const mine = leaks.filter((a) => a.districtId === d.district.id);
    if (mine.length === 0) continue;
    const ids = pointsOf(d);
    const excluded = pressureExcludedSpans(past.filter((a) => a.districtId === d.district.id));
    const extraMs = excluded.reduce((s, x) => s + x.toMs - x.fromMs + HOUR_MS, 0);
    const series = (
      cells: Awaited<ReturnType<typeof deps.stores.forecasts.readHourly>>,
      from: number,
      to: number,
    ) => ids.map((id) => ({ nodeId: id, hourly: hourlySeriesOf(cells, id, from, to) }));
    for (const a of mine) {
      // A resolved one is located as it was last seen; an open one now.
      const atMs = a.status === 'resolved' ? Math.min(nowMs, a.lastSeenMs + HOUR_MS) : nowMs;
      const endMs = Math.floor(atMs / HOUR_MS) * HOUR_MS;
      const refEnd = Math.min(endMs - model.lagHours * HOUR_MS, Math.floor(a.startMs / HOUR_MS) * HOUR_MS);
      const refFrom = refEnd - (model.referenceHours + 1) * HOUR_MS - extraMs;
      const recentFrom = atMs - RECENT_HOURS * HOUR_MS;
      const [refCells, recentCells] = await Promise.all([
        deps.stores.forecasts.readHourly(ids, 'pressure', refFrom, refEnd + HOUR_MS),
        deps.stores.forecasts.readHourly(ids, 'pressure', recentFrom, atMs),
      ]);
      const found = locateLeak(
        series(recentCells, recentFrom, atMs),
        atMs,
        a.startMs,
        candidates,
        { reference: series(refCells, refFrom, refEnd + HOUR_MS), excluded },
        model,
      );
      if (found) located.push({ id: a.id, locations: found });
    }
  }
  await store.writeLocations(located);
  return located.length;
}
