/** In-process coordination: the embedded default when one process runs every function. */
import type { Coordinator, RunPlan, RunProgress, WorkOutcome } from './coordinator.ts';

interface RunState {
  plan: RunPlan;
  keys: Set<string>;
  outcomes: Map<string, WorkOutcome>;
  completed: boolean;
  /** The item whose finish completed the run. */
  completedBy?: string;
}

export class MemoryCoordinator implements Coordinator {
  readonly name = 'memory' as const;
  private readonly runs = new Map<string, RunState>();

  async openRun(plan: RunPlan): Promise<void> {
    if (!this.runs.has(plan.runId))
      this.runs.set(plan.runId, {
        plan,
        keys: new Set(plan.workKeys),
        outcomes: new Map(),
        completed: false,
      });
  }

  async finishWork(runId: string, workKey: string, outcome: WorkOutcome): Promise<{ completedRun: boolean }> {
    const run = this.runs.get(runId);
    if (!run?.keys.has(workKey)) return { completedRun: false };
    if (run.outcomes.get(workKey) !== 'done') run.outcomes.set(workKey, outcome);
    if (!run.completed && run.outcomes.size === run.keys.size) {
      run.completed = true;
      run.completedBy = workKey;
    }
    return { completedRun: run.completedBy === workKey };
  }

  async finishWorks(
    runId: string,
    items: readonly { workKey: string; outcome: WorkOutcome }[],
  ): Promise<{ completedRun: boolean }> {
    let completedRun = false;
    for (const it of items) {
      if ((await this.finishWork(runId, it.workKey, it.outcome)).completedRun) completedRun = true;
    }
    return { completedRun };
  }

  async progress(runId: string): Promise<RunProgress | null> {
    const run = this.runs.get(runId);
    if (!run) return null;
    const failedKeys = [...run.outcomes].filter(([, o]) => o === 'failed').map(([k]) => k);
    return {
      runId,
      tenantId: run.plan.tenantId,
      total: run.keys.size,
      done: run.outcomes.size - failedKeys.length,
      failed: failedKeys.length,
      failedKeys,
      complete: run.completed,
    };
  }

  async close(): Promise<void> {}
}
