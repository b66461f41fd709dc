/**
 * The API's shape of an anomaly — the hot key `anomalies:recent` the rollup writes and every anomaly
 * route — and the listed view operators page through (the stored row's times as ISO text, with its
 * exact keyset sort key). Declared beside the lifecycle they are views of.
 */
import type { Anomaly, AnomalyStatus } from './lifecycle.ts';
import type { LeakLocalisation } from './localise.ts';
import type { Severity } from './types.ts';

export interface AnomalyPayload {
  id: string;
  nodeId: string | null;
  districtId: string | null;
  type: string;
  metric: string | null;
  severity: Severity;
  status: AnomalyStatus;
  startedAt: string;
  lastSeenAt: string;
  openedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  note: string | null;
  evidence: Record<string, unknown>;
  /** A leak anomaly's ranked candidate locations (`localise.ts`), when its district's model is imported. */
  locations?: LeakLocalisation;
}

export interface ListedAnomaly extends AnomalyPayload {
  /** started_at in epoch microseconds: the exact sort key of keyset paging. */
  startedUs: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A lifecycle anomaly in the API's shape. */
export const anomalyPayload = (a: Anomaly): AnomalyPayload => ({
  id: a.id,
  nodeId: a.nodeId,
  districtId: a.districtId,
  type: a.type,
  metric: a.metric,
  severity: a.severity,
  status: a.status,
  startedAt: new Date(a.startMs).toISOString(),
  lastSeenAt: new Date(a.lastSeenMs).toISOString(),
  openedAt: iso(a.openedAtMs),
  acknowledgedAt: iso(a.acknowledgedAtMs),
  acknowledgedBy: a.acknowledgedBy,
  resolvedAt: iso(a.resolvedAtMs),
  resolvedBy: a.resolvedBy,
  note: a.note,
  evidence: a.evidence,
});

/** A listed anomaly in the API's shape (the keyset sort key stays out of it). */
export function listedPayload(a: ListedAnomaly): AnomalyPayload {
  const { startedUs: _sortKey, ...payload } = a;
  return payload;
}
