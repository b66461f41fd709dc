/** What the dispatch step needs of storage (its port; PostgreSQL implements it in `adapters/postgres/cycle-stores.ts`). */
import type { Network } from '../../domain/readings.ts';
import type { RunRecord, RunStatus } from '../../domain/runs.ts';

export interface NewRun {
  id: string;
  tenantId: string;
  startedAtMs: number;
  windowFromMs: number;
  windowToMs: number;
  nodesTotal: number;
  readings: number;
  bytesProcessed: number;
  source: string;
}

export interface DispatchStore {
  /** Upserts the nodes and districts of a source that defines its own network. */
  upsertNetwork(network: Network): Promise<void>;
  loadNetwork(tenantId: string): Promise<Network>;
  /** Every node's watermark, giving nodes seen for the first time `initialMs`. */
  ensureWatermarks(tenantId: string, initialMs: number): Promise<Map<string, number>>;
  insertRun(run: NewRun): Promise<void>;
  /** Runs still `running` whose window ended at or before `windowToMs`, oldest first. */
  openRunsBefore(tenantId: string, windowToMs: number): Promise<RunRecord[]>;
  /** The tenant's nodes without an applied batch in the run. */
  unappliedNodes(tenantId: string, runId: string): Promise<string[]>;
  /** Closes the run unless something closed it already; true when this call did. */
  closeOpenRun(
    runId: string,
    outcome: { status: RunStatus; finishedAtMs: number; nodesDone: number; failedNodes: string[] },
  ): Promise<boolean>;
}
