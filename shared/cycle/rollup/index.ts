/**
 * Fan-in: once the last node of a run has finished, the network-wide picture is computed exactly
 * once — network metrics per range, the dashboard summary, system (pipeline) metrics — written to
 * PostgreSQL and the hot cache, and the run is closed with its status.
 */

import type { CacheEntry } from '../../adapters/cache/cache.ts';
import { nodeOfWorkKey } from '../../adapters/coordination/coordinator.ts';
import { keys } from '../../domain/keys.ts';
import { RANGE_NAMES, type Range } from '../../domain/windows.ts';
import type { AggregatorDeps } from '../deps.ts';
import { rollupAnalytics } from './analytics.ts';
import type { RunRecord, WindowFigures } from './store.ts';

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Network figures of one range from the nodes' window figures (pure). */
export function networkMetrics(range: Range, rows: Omit<WindowFigures, 'range' | 'as_of_ms'>[]) {
  let inflow = 0;
  let outflow = 0;
  let pressureSum = 0;
  let pressureCount = 0;
  let minPressure: number | null = null;
  let chlorineMin: number | null = null;
  let turbidityMax: number | null = null;
  let reporting = 0;
  for (const r of rows) {
    if (r.reporting) reporting += 1;
    if (r.kind === 'inlet' && r.flow_mean != null) inflow += r.flow_mean;
    if (r.kind === 'outlet' && r.flow_mean != null) outflow += r.flow_mean;
    if (r.pressure_mean != null) {
      pressureSum += r.pressure_mean;
      pressureCount += 1;
    }
    if (r.pressure_min != null)
      minPressure = Math.min(minPressure ?? Number.POSITIVE_INFINITY, r.pressure_min);
    if (r.chlorine_min != null)
      chlorineMin = Math.min(chlorineMin ?? Number.POSITIVE_INFINITY, r.chlorine_min);
    if (r.turbidity_max != null)
      turbidityMax = Math.max(turbidityMax ?? Number.NEGATIVE_INFINITY, r.turbidity_max);
  }
  return {
    range,
    nodesReporting: reporting,
    systemInflowLps: round(inflow - outflow),
    grossInflowLps: round(inflow),
    outflowLps: round(outflow),
    pressureBar: {
      mean: pressureCount ? round(pressureSum / pressureCount) : null,
      min: minPressure === null ? null : round(minPressure),
    },
    quality: {
      chlorineMinMgL: chlorineMin === null ? null : round(chlorineMin),
      turbidityMaxNtu: turbidityMax === null ? null : round(turbidityMax),
    },
  };
}

/** Pipeline figures over recent runs (pure). */
export function systemMetrics(range: Range, runs: RunRecord[], nowMs: number) {
  const spanMs = { '1h': 1, '6h': 6, '24h': 24, '3d': 72, '7d': 168, '30d': 720 }[range] * 3_600_000;
  const inRange = runs.filter((r) => Date.parse(r.startedAt) >= nowMs - spanMs);
  const finished = inRange.filter((r) => r.durationMs !== null);
  return {
    range,
    runs: inRange.length,
    runsDone: inRange.filter((r) => r.status === 'done').length,
    runsPartial: inRange.filter((r) => r.status === 'partial').length,
    readings: inRange.reduce((n, r) => n + r.readings, 0),
    bytesProcessed: inRange.reduce((n, r) => n + r.bytesProcessed, 0),
    meanDurationMs: finished.length
      ? Math.round(finished.reduce((n, r) => n + (r.durationMs ?? 0), 0) / finished.length)
      : null,
  };
}

export async function networkRollup(deps: AggregatorDeps, runId: string, tenantId: string): Promise<void> {
  const { settings } = deps;
  const store = deps.stores.rollup;
  const log = deps.logger.child({ runId, tenantId });
  const progress = await deps.coordinator.progress(runId);
  const failedNodes = [...new Set((progress?.failedKeys ?? []).map(nodeOfWorkKey))].sort();
  const run = await store.getRun(runId);
  // The analytics first (the run is closed last, when every result is written). A failure there is
  // logged, not thrown: the run's data is in, and it must close either way.
  const started = performance.now();
  let analytics: Awaited<ReturnType<typeof rollupAnalytics>> | null = null;
  if (settings.analytics && run) {
    try {
      analytics = await rollupAnalytics(deps, runId, tenantId, Date.parse(run.windowTo), log);
    } catch (err) {
      log.error('rollup analytics failed', { event: 'rollup.analytics_failed', err });
    }
  }
  const nowMs = Date.now();
  const nodesDone = run ? run.nodesTotal - failedNodes.length : 0;
  const status: RunRecord['status'] =
    failedNodes.length === 0 ? 'done' : nodesDone > 0 ? 'partial' : 'failed';
  const rows = await store.readWindowFigures(tenantId);
  const counts = await store.countNodesByKind(tenantId);
  // This run as it is about to be closed (it is closed last, below).
  const runs = (await store.recentRuns(tenantId, 2000)).map((r) =>
    r.id === runId
      ? {
          ...r,
          status,
          finishedAt: new Date(nowMs).toISOString(),
          nodesDone,
          nodesFailed: failedNodes.length,
          failedNodes,
          durationMs: Math.max(0, Math.round(nowMs - Date.parse(r.startedAt))),
        }
      : r,
  );
  const ttl = settings.cacheTtlSeconds;
  const entries: CacheEntry[] = [];
  const network: Record<string, ReturnType<typeof networkMetrics>> = {};
  for (const range of RANGE_NAMES) {
    const metrics = networkMetrics(
      range,
      rows.filter((r) => r.range === range),
    );
    network[range] = metrics;
    await store.writeSnapshot(tenantId, `network:${range}`, nowMs, metrics);
    entries.push({ key: keys.networkMetrics(tenantId, range), value: metrics, ttlSeconds: ttl });
    const system = systemMetrics(range, runs, nowMs);
    await store.writeSnapshot(tenantId, `system:${range}`, nowMs, system);
    entries.push({ key: keys.systemMetrics(tenantId, range), value: system, ttlSeconds: ttl });
  }
  if (analytics) entries.push(...analytics.entries);
  const latestRun = runs[0] ?? null;
  const lastHour = rows.filter((r) => r.range === '1h' && r.as_of_ms >= nowMs - 3_600_000).length;
  const summary = {
    tenantId,
    asOf: new Date(nowMs).toISOString(),
    nodes: {
      total: counts.reduce((n, c) => n + c.n, 0),
      reportingLastHour: lastHour,
      byKind: Object.fromEntries(counts.map((c) => [c.kind, c.n])),
    },
    network24h: network['24h'],
    lastRun: latestRun,
    ...(analytics
      ? {
          openAnomalies: analytics.summary.openAnomalies,
          anomalies: {
            open: analytics.summary.openAnomalies,
            acknowledged: analytics.summary.acknowledgedAnomalies,
            bySeverity: analytics.summary.anomaliesBySeverity,
          },
          qualityScore: analytics.summary.qualityScore,
          efficiency: analytics.summary.efficiency,
        }
      : {}),
  };
  await store.writeSnapshot(tenantId, 'dashboard', nowMs, summary);
  entries.push({ key: keys.dashboardSummary(tenantId), value: summary, ttlSeconds: ttl });
  entries.push({ key: keys.lastRun(tenantId), value: latestRun, ttlSeconds: ttl });
  await deps.cache.write(entries);
  // Closed last: whoever waits for the run's status finds its results written.
  await store.finishRun(runId, { status, finishedAtMs: nowMs, nodesDone, failedNodes });
  log.info('run finished', {
    event: 'run.finished',
    status,
    durationMs: latestRun?.id === runId ? latestRun.durationMs : null,
    bytesProcessed: run?.bytesProcessed ?? 0,
    nodesProcessed: nodesDone,
    nodesFailed: failedNodes.length,
    failedNodes: failedNodes.slice(0, 50),
  });
  log.info('rollup finished', {
    event: 'rollup.finished',
    ...(analytics?.summary ?? {}),
    durationMs: Math.round(performance.now() - started),
  });
}
