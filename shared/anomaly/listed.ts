/**
 * An anomaly as operators list it (the API's lists and transitions): the stored row's times as ISO
 * text, with its exact keyset sort key. Declared beside the lifecycle it is a view of.
 */
import type { AnomalyStatus } from './lifecycle.ts';
import type { Severity } from './types.ts';

export interface ListedAnomaly {
  id: string;
  nodeId: string | null;
  districtId: string | null;
  type: string;
  metric: string | null;
  severity: Severity;
  status: AnomalyStatus;
  startedAt: string;
  /** started_at in epoch microseconds: the exact sort key of keyset paging. */
  startedUs: number;
  lastSeenAt: string;
  openedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  note: string | null;
  evidence: Record<string, unknown>;
}
