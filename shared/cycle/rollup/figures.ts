/** The rollup's figures (pure): network and system metrics per range, the dashboard summary, its hot keys. */

import type { CacheEntry } from '../../adapters/cache/cache.ts';
import { keys } from '../../domain/keys.ts';
import type { RunRecord } from '../../domain/runs.ts';
import { RANGE_NAMES, type Range } from '../../domain/windows.ts';
import type { RollupAnalytics } from './analytics.ts';
import type { WindowFigures } from './store.ts';

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

/** How the run closes: done, partial (some nodes failed) or failed (all did). */
export function closingOf(run: RunRecord | null, failedNodes: string[], nowMs: number) {
  const nodesDone = run ? run.nodesTotal - failedNodes.length : 0;
  const status: RunRecord['status'] =
    failedNodes.length === 0 ? 'done' : nodesDone > 0 ? 'partial' : 'failed';
  return { status, finishedAtMs: nowMs, nodesDone, failedNodes };
}

/** Recent runs with this one as it is about to be closed (it is closed last, once everything is written). */
export function withClosedRun(
  runs: RunRecord[],
  runId: string,
  closing: ReturnType<typeof closingOf>,
): RunRecord[] {
  const nowMs = closing.finishedAtMs;
  return runs.map((r) =>
    r.id === runId
      ? {
          ...r,
          status: closing.status,
          finishedAt: new Date(nowMs).toISOString(),
          nodesDone: closing.nodesDone,
          nodesFailed: closing.failedNodes.length,
          failedNodes: closing.failedNodes,
          durationMs: Math.max(0, Math.round(nowMs - Date.parse(r.startedAt))),
        }
      : r,
  );
}

export interface RollupInputs {
  tenantId: string;
  nowMs: number;
  rows: WindowFigures[];
  counts: { kind: string; n: number }[];
  /** Recent runs, this one as closed. */
  runs: RunRecord[];
  analytics: RollupAnalytics | null;
  ttlSeconds: number;
}

/** Everything the rollup writes: network_snapshots rows and hot keys (in the order they were always written). */
export function rollupFigures(input: RollupInputs) {
  const { tenantId, nowMs, rows, runs, counts, analytics } = input;
  const snapshots: { kind: string; body: unknown }[] = [];
  const entries: CacheEntry[] = [];
  const entry = (key: string, value: unknown) => entries.push({ key, value, ttlSeconds: input.ttlSeconds });
  const network: Record<string, ReturnType<typeof networkMetrics>> = {};
  for (const range of RANGE_NAMES) {
    const metrics = networkMetrics(
      range,
      rows.filter((r) => r.range === range),
    );
    network[range] = metrics;
    snapshots.push({ kind: `network:${range}`, body: metrics });
    entry(keys.networkMetrics(tenantId, range), metrics);
    const system = systemMetrics(range, runs, nowMs);
    snapshots.push({ kind: `system:${range}`, body: system });
    entry(keys.systemMetrics(tenantId, range), system);
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
  snapshots.push({ kind: 'dashboard', body: summary });
  entry(keys.dashboardSummary(tenantId), summary);
  entry(keys.lastRun(tenantId), latestRun);
  return { snapshots, entries, latestRun };
}
