/**
 * Fan-in: once the last node of a run has finished, the network-wide picture is computed exactly
 * once — network metrics per range, the dashboard summary, system (pipeline) metrics — written to
 * PostgreSQL and the hot cache, and the run is closed with its status. The analytics run first
 * (`analytics.ts`, their own reads and writes); then one read of the figures' inputs, the figures
 * computed (`figures.ts`, pure), their writes issued together, and the run closed last.
 */

import { nodeOfWorkKey } from '../../adapters/coordination/coordinator.ts';
import type { RunRecord } from '../../domain/runs.ts';
import type { Logger } from '../../log.ts';
import type { AggregatorDeps } from '../deps.ts';
import { writeHotKeys } from '../hot-keys.ts';
import { type RollupAnalytics, rollupAnalytics } from './analytics.ts';
import { closingOf, rollupFigures, withClosedRun } from './figures.ts';

export { networkMetrics, systemMetrics } from './figures.ts';

/** The run and its failed nodes (the coordinator's shards know which work items failed). */
async function readRun(deps: AggregatorDeps, runId: string) {
  const [progress, run] = await Promise.all([
    deps.coordinator.progress(runId),
    deps.stores.rollup.getRun(runId),
  ]);
  const failedNodes = [...new Set((progress?.failedKeys ?? []).map(nodeOfWorkKey))].sort();
  return { run, failedNodes };
}

/** The rollup's analytics; a failure is logged, not thrown: the run's data is in, and it must close either way. */
async function analyticsOf(
  deps: AggregatorDeps,
  run: RunRecord | null,
  tenantId: string,
  log: Logger,
): Promise<RollupAnalytics | null> {
  if (!deps.settings.analytics || !run) return null;
  try {
    return await rollupAnalytics(deps, run.id, tenantId, Date.parse(run.windowTo), log);
  } catch (err) {
    log.error('rollup analytics failed', { event: 'rollup.analytics_failed', err });
    return null;
  }
}

export async function networkRollup(deps: AggregatorDeps, runId: string, tenantId: string): Promise<void> {
  const store = deps.stores.rollup;
  const log = deps.logger.child({ runId, tenantId });
  const { run, failedNodes } = await readRun(deps, runId);
  const started = performance.now();
  const analytics = await analyticsOf(deps, run, tenantId, log);
  const nowMs = Date.now();
  const closing = closingOf(run, failedNodes, nowMs);
  // Read.
  const [rows, counts, recent] = await Promise.all([
    store.readWindowFigures(tenantId),
    store.countNodesByKind(tenantId),
    store.recentRuns(tenantId, 2000),
  ]);
  // Compute.
  const runs = withClosedRun(recent, runId, closing);
  const { snapshots, entries, latestRun } = rollupFigures({
    tenantId,
    nowMs,
    rows,
    counts,
    runs,
    analytics,
    ttlSeconds: deps.settings.cacheTtlSeconds,
  });
  // Write, then close the run last: whoever waits for its status finds its results written.
  await Promise.all(snapshots.map((s) => store.writeSnapshot(tenantId, s.kind, nowMs, s.body)));
  // Best effort: the snapshots are in PostgreSQL, and the next run's rollup rewrites every key.
  await writeHotKeys({ cache: deps.cache, logger: log }, entries, 'rollup');
  await store.finishRun(runId, closing);
  log.info('run finished', {
    event: 'run.finished',
    status: closing.status,
    durationMs: latestRun?.id === runId ? latestRun.durationMs : null,
    bytesProcessed: run?.bytesProcessed ?? 0,
    nodesProcessed: closing.nodesDone,
    nodesFailed: failedNodes.length,
    failedNodes: failedNodes.slice(0, 50),
  });
  log.info('rollup finished', {
    event: 'rollup.finished',
    ...(analytics?.summary ?? {}),
    durationMs: Math.round(performance.now() - started),
  });
}
