/**
 * The analytics of the fan-in, once per run and tenant: district anomaly detectors (bursts, night-flow
 * leaks), district forecasts, water balances of the days the run touched, the network's data-quality
 * score, and the tenant's recent anomalies — stored in PostgreSQL, returned as hot-cache entries for
 * the rollup's single pipeline, with the figures the dashboard summary and the rollup log carry.
 */
import type { CacheEntry } from '../../adapters/cache/cache.ts';
import { MemoryModelRegistry } from '../../adapters/coordination/model-registry.ts';
import { type NodeQuality, networkQuality } from '../../analytics/network-quality.ts';
import { keys } from '../../domain/keys.ts';
import type { Logger } from '../../log.ts';
import type { NodeQualityScores } from '../aggregate/node-quality.ts';
import type { AggregatorDeps } from '../deps.ts';
import { detectDistrictAnomalies } from './district-anomalies.ts';
import { forecastDistricts } from './district-forecast.ts';
import { efficiencySnapshot, updateEfficiency } from './efficiency.ts';
import { locateLeaks } from './leak-location.ts';
import { refreshPatterns } from './patterns.ts';
import { generateReports } from './reports.ts';

/** Districts trained at most per rollup (a district training costs up to a second). */
const MAX_DISTRICT_TRAININGS_PER_ROLLUP = 4;
/** Anomalies in the `anomalies:recent` hot key. */
const RECENT_ANOMALIES = 100;

const processModels = new MemoryModelRegistry();

export interface RollupAnalytics {
  entries: CacheEntry[];
  /** Figures for the dashboard summary and the rollup.finished log. */
  summary: {
    openAnomalies: number;
    acknowledgedAnomalies: number;
    anomaliesBySeverity: Record<string, number>;
    qualityScore: number | null;
    efficiency: { day: string | null; month: string | null; nrwPercentDay: number | null };
    forecastsIssued: number;
    districtAnomaliesOpened: number;
    /** The local day consumption patterns were computed for in this rollup, if any. */
    patternsComputed: string | null;
    reportsGenerated: number;
  };
}

async function networkQualityOf(deps: AggregatorDeps, tenantId: string) {
  const rows = await deps.stores.rollup.readTenantQuality(tenantId);
  const nodes: NodeQuality[] = rows.map((r) => ({
    nodeId: r.nodeId,
    report: (r.body as NodeQualityScores).windows['24h'],
    // The water balance hangs on the district inlets: their data counts double.
    weight: r.kind === 'inlet' ? 2 : 1,
  }));
  return networkQuality(nodes);
}

export async function rollupAnalytics(
  deps: AggregatorDeps,
  runId: string,
  tenantId: string,
  nowMs: number,
  log: Logger,
): Promise<RollupAnalytics> {
  const store = deps.stores.rollup;
  const ttl = deps.settings.cacheTtlSeconds;
  const entries: CacheEntry[] = [];
  const districts = await store.districtMeters(tenantId);

  const evaluatedMs = await store.readDistrictAnomaliesEvaluated(tenantId);
  const opened = await detectDistrictAnomalies(deps, tenantId, districts, nowMs, log);
  // Where the leaks are: the anomalies seen since the last rollup (one that opened and cleared within a
  // long catch-up run included) and the open ones.
  await locateLeaks(deps, tenantId, districts, evaluatedMs ?? nowMs - deps.settings.cycleMs, nowMs);

  const forecasts = await forecastDistricts(
    { store: deps.stores.forecasts, models: deps.models ?? processModels, logger: log },
    tenantId,
    districts,
    nowMs,
    MAX_DISTRICT_TRAININGS_PER_ROLLUP,
  );
  for (const f of forecasts) {
    entries.push({
      key: keys.predictions(tenantId, f.prediction.targetId),
      value: f.payload,
      ttlSeconds: ttl,
    });
  }

  await updateEfficiency(store, tenantId, await store.touchedSpans(runId), nowMs);
  const latest = {
    day: null as string | null,
    month: null as string | null,
    nrwPercentDay: null as number | null,
  };
  for (const kind of ['day', 'month'] as const) {
    // The latest complete day (a day still in progress has few hours); the month in progress.
    const label = await store.latestEfficiencyLabel(tenantId, kind, kind === 'day');
    latest[kind] = label;
    if (!label) continue;
    const snapshot = await efficiencySnapshot(store, tenantId, kind, label);
    if (kind === 'day') {
      const figures = snapshot.network?.figures as { figures?: { nrwPercent?: number | null } } | undefined;
      latest.nrwPercentDay = figures?.figures?.nrwPercent ?? null;
    }
    entries.push({ key: keys.networkEfficiency(tenantId, kind), value: snapshot, ttlSeconds: ttl });
  }

  // Once per local day (patterns) and once per period (reports), after the balances they read.
  const patterns = await refreshPatterns(store, tenantId, districts, nowMs, ttl);
  entries.push(...patterns.entries);
  const reportsGenerated = await generateReports(store, tenantId, districts, nowMs);

  const quality = await networkQualityOf(deps, tenantId);
  const qualityBody = { tenantId, asOf: new Date(nowMs).toISOString(), window: '24h', ...quality };
  await store.writeSnapshot(tenantId, 'quality', nowMs, qualityBody);
  entries.push({ key: keys.networkQuality(tenantId), value: qualityBody, ttlSeconds: ttl });

  const [recent, counts] = await Promise.all([
    store.recentAnomalyPayloads(tenantId, RECENT_ANOMALIES),
    store.countActive(tenantId),
  ]);
  entries.push({
    key: keys.anomaliesRecent(tenantId),
    value: { tenantId, asOf: new Date(nowMs).toISOString(), anomalies: recent },
    ttlSeconds: ttl,
  });

  return {
    entries,
    summary: {
      openAnomalies: counts.open,
      acknowledgedAnomalies: counts.acknowledged,
      anomaliesBySeverity: counts.bySeverity,
      qualityScore: quality.score,
      efficiency: latest,
      forecastsIssued: forecasts.length,
      districtAnomaliesOpened: opened,
      patternsComputed: patterns.computed,
      reportsGenerated,
    },
  };
}
