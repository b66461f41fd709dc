/**
 * Coordination of a run across functions: which work items (node parts) a run expects, which have
 * finished or failed, and the one fan-in when the last finishes. Firestore in the cloud, in-process
 * locally. Data correctness does not depend on it (per-node watermarks in PostgreSQL do that): it
 * decides when the network rollup runs and what the run's status is.
 */
export interface RunPlan {
  runId: string;
  tenantId: string;
  startedAtMs: number;
  windowFromMs: number;
  windowToMs: number;
  /** One key per message: `${nodeId}#${part}`. */
  workKeys: string[];
  readings: number;
  bytesProcessed: number;
  source: string;
}

export type WorkOutcome = 'done' | 'failed';

export interface RunProgress {
  runId: string;
  tenantId: string;
  total: number;
  done: number;
  failed: number;
  failedKeys: string[];
  complete: boolean;
}

export interface Coordinator {
  readonly name: 'memory' | 'firestore';
  openRun(plan: RunPlan): Promise<void>;
  /**
   * Records the outcome of one work item (idempotent: a redelivered item counts once; a later
   * 'done' overrides an earlier 'failed'). `completedRun` is true for exactly one item per run:
   * the one that finished the last item — and again on that item's redelivery, because the first
   * delivery may have failed before its fan-in went out. That caller triggers the (idempotent) fan-in.
   */
  finishWork(runId: string, workKey: string, outcome: WorkOutcome): Promise<{ completedRun: boolean }>;
  /**
   * `finishWork` for several items of one run at once (a multi-node message's): recorded together
   * where the backend can (one group commit in Firestore). `completedRun` as for the one of them that
   * finished the run.
   */
  finishWorks(
    runId: string,
    items: readonly { workKey: string; outcome: WorkOutcome }[],
  ): Promise<{ completedRun: boolean }>;
  progress(runId: string): Promise<RunProgress | null>;
  close(): Promise<void>;
}

export const workKey = (nodeId: string, part: number): string => `${nodeId}#${part}`;
export const nodeOfWorkKey = (key: string): string => key.slice(0, key.lastIndexOf('#'));
