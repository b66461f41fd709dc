/**
 * A cycle run as it is recorded: the cycle writes it, its rollup reads it back, the API lists it on
 * /status (one declaration, so the three cannot drift apart).
 */

export type RunStatus = 'running' | 'done' | 'partial' | 'failed';

export interface RunRecord {
  id: string;
  tenantId: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  windowFrom: string;
  windowTo: string;
  nodesTotal: number;
  nodesDone: number;
  nodesFailed: number;
  failedNodes: string[];
  readings: number;
  bytesProcessed: number;
  durationMs: number | null;
  source: string;
}
