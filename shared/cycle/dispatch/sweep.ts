/**
 * The run-closing sweep, at the start of every dispatch: every run ends — `done`, `partial` with its
 * failed nodes listed, or `failed` — within a bounded time, whatever died. A run still `running`
 * when its window ended STALE_AFTER_CYCLES cycles before this one's lost its rollup (or the rollup
 * failed past its replay) or lost work items (a message neither finished nor dead-lettered, the
 * coordinator's state gone). The sweep closes it from what is known for sure:
 *   - every work item finished (the coordinator says complete): its failed items are the failed nodes;
 *   - otherwise: the failed items, and every node without an applied batch in PostgreSQL.
 * The network figures the lost rollup would have written are written by this cycle's rollup (they are
 * computed over every node's current state); only the water balance of days no later run touches
 * waits for the next run that does.
 */
import { nodeOfWorkKey } from '../../adapters/coordination/coordinator.ts';
import type { RunStatus } from '../../domain/runs.ts';
import type { DispatcherDeps } from '../deps.ts';

/** How many cycles a run may stay open after its window ended. */
export const STALE_AFTER_CYCLES = 2;

export interface SweptRun {
  runId: string;
  status: RunStatus;
  failedNodes: string[];
  /** Whether every work item had finished (only the rollup was lost). */
  rollupLost: boolean;
}

export async function closeStaleRuns(deps: DispatcherDeps, nowMs: number): Promise<SweptRun[]> {
  const store = deps.stores.dispatch;
  const tenantId = deps.settings.tenantId;
  const stale = await store.openRunsBefore(tenantId, nowMs - STALE_AFTER_CYCLES * deps.settings.cycleMs);
  const swept: SweptRun[] = [];
  for (const run of stale) {
    const progress = await deps.coordinator.progress(run.id).catch(() => null);
    const failed = new Set((progress?.failedKeys ?? []).map(nodeOfWorkKey));
    const complete = progress?.complete === true;
    if (!complete) for (const node of await store.unappliedNodes(tenantId, run.id)) failed.add(node);
    const failedNodes = [...failed].sort();
    const nodesDone = Math.max(0, run.nodesTotal - failedNodes.length);
    const status: RunStatus = failedNodes.length === 0 ? 'done' : nodesDone > 0 ? 'partial' : 'failed';
    const closed = await store.closeOpenRun(run.id, {
      status,
      finishedAtMs: Date.now(),
      nodesDone,
      failedNodes,
    });
    if (!closed) continue;
    swept.push({ runId: run.id, status, failedNodes, rollupLost: complete });
    deps.logger.warn('run closed by the sweep', {
      event: 'run.swept',
      runId: run.id,
      status,
      rollupLost: complete,
      nodesFailed: failedNodes.length,
      failedNodes: failedNodes.slice(0, 50),
    });
  }
  return swept;
}
