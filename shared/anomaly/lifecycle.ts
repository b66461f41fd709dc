/**
 * The anomaly lifecycle, as a pure state machine:
 *
 *   (condition seen) → pending ──held for holdMs──→ open ──operator──→ acknowledged
 *        pending ──condition absent──→ discarded        open | acknowledged ──clear for clearMs or operator──→ resolved
 *
 * One anomaly per subject (node or district), type and metric at a time: while it is pending, open or
 * acknowledged, each cycle's condition UPDATES it (last seen, current and peak severity, evidence), never
 * duplicates it. Ids are a hash of the key and the cycle it was first seen in, so replaying a cycle finds
 * the same anomaly, and applying the same cycle twice changes nothing the second time.
 *
 * A leak's flow anomalies flicker: the condition clears for a few hours (a day's peak hides the excess, the
 * baseline half-learns the leak) and comes back while the same leak runs. Where `reopen` says so, a
 * condition that comes back within `withinMs` of the last sighting of an auto-resolved anomaly of its key,
 * and that its `sameIssue` judges no clear step beyond it, re-opens that anomaly (same id, its first
 * opening kept) instead of raising a new alarm for the same thing.
 */
import { createHash } from 'node:crypto';
import type { Metric } from '../domain/readings.ts';
import { continuesDeviation } from './baseline.ts';
import { continuesLowPressure } from './district-pressure.ts';
import { continuesNightFlowLeak } from './night-flow.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './series.ts';
import {
  type AnomalyType,
  type Condition,
  type Evidence,
  maxSeverity,
  type Severity,
  severityRank,
} from './types.ts';

export const ANOMALY_STATUSES = ['pending', 'open', 'acknowledged', 'resolved'] as const;
export type AnomalyStatus = (typeof ANOMALY_STATUSES)[number];

/** Who or what an anomaly is about: a node, or a district (district detectors) with the node seen at. */
export interface AnomalySubject {
  tenantId: string;
  nodeId: string | null;
  districtId: string | null;
  /** A node's faults judged by its district (a pressure point's range, spikes): keys of their own; not stored. */
  judgedBy?: 'district';
}

export interface Anomaly extends AnomalySubject {
  id: string;
  type: AnomalyType;
  metric: Metric | null;
  status: AnomalyStatus;
  /** Severity in the latest cycle it was seen, and the highest ever. */
  severity: Severity;
  peakSeverity: Severity;
  /** When the underlying thing began (the detector's `sinceMs`, else the first sighting). */
  startMs: number;
  /** The cycle it was first seen in (part of the id). */
  firstSeenMs: number;
  lastSeenMs: number;
  openedAtMs: number | null;
  acknowledgedAtMs: number | null;
  acknowledgedBy: string | null;
  resolvedAtMs: number | null;
  /** An operator's name, or 'auto' when the condition cleared. */
  resolvedBy: string | null;
  /** End of the condition: the last sighting when auto-resolved, the resolve time when an operator resolved it. */
  endMs: number | null;
  /** Evidence of the latest sighting, and of the sighting at peak severity. */
  evidence: Evidence;
  peakEvidence: Evidence;
  note: string | null;
}

export interface LifecycleConfig {
  /** How long a condition must hold before its anomaly opens (0: at once). */
  holdMs: Record<AnomalyType, number>;
  /** How long a condition must have been absent before its anomaly auto-resolves. */
  clearMs: Record<AnomalyType, number>;
  /** Escalation of an acknowledged anomaly puts it back to open, so the operator sees it again. */
  reopenOnEscalation: boolean;
  /** Types whose auto-resolved anomalies a returning condition re-opens (absent: always a new anomaly). */
  reopen: Partial<Record<AnomalyType, ReopenRule>>;
}

export interface ReopenRule {
  /** How long after its last sighting an auto-resolved anomaly may be re-opened. */
  withinMs: number;
  /** Whether the condition is the resolved anomaly's issue again (false: a new step, a new anomaly). */
  sameIssue: (previous: Pick<Anomaly, 'evidence' | 'peakEvidence'>, c: Condition) => boolean;
}

const min = (m: number) => m * MINUTE_MS;

/**
 * Hold times are zero where the detector already demands persistence (flatline, silence and negative flow
 * carry their own durations; night flow: three nights; quality limits are 15-minute means), where a delay
 * costs (bursts) and where the thing is instantaneous by nature (a spike, an impossible value: waiting for
 * it to repeat would miss it). Baseline deviations wait one more cycle: the detector's 60 sustained minutes
 * plus a confirmation keep demand quirks out. Clear times: two cycles without the condition, a day for
 * night-flow leaks (which are only re-judged each night), six hours for a district's low pressure (a tank
 * run empty drops the pressure each time it is drawn down: one event while it lasts, not one per dip).
 */
export const DEFAULT_LIFECYCLE: LifecycleConfig = {
  holdMs: {
    baseline_deviation: min(30),
    burst: 0,
    night_flow_leak: 0,
    pressure_residual: 0,
    water_balance: 0,
    low_pressure: 0,
    flatline: 0,
    out_of_range: 0,
    gap: 0,
    silent: 0,
    negative_flow: 0,
    spike: 0,
    water_quality: 0,
  },
  clearMs: {
    baseline_deviation: min(60),
    burst: min(60),
    night_flow_leak: DAY_MS,
    pressure_residual: 6 * HOUR_MS,
    water_balance: 6 * HOUR_MS,
    low_pressure: 6 * HOUR_MS,
    flatline: min(60),
    out_of_range: min(60),
    gap: min(30),
    silent: min(30),
    negative_flow: min(60),
    spike: min(60),
    water_quality: min(60),
  },
  reopenOnEscalation: true,
  // A week: the baselines' own period, so a deviation that only shows on some days of the week (a weekend's
  // low demand uncovering it) is still the one seen last week. Past that, a new alarm.
  reopen: {
    baseline_deviation: { withinMs: 7 * DAY_MS, sameIssue: continuesDeviation },
    night_flow_leak: { withinMs: 7 * DAY_MS, sameIssue: continuesNightFlowLeak },
    // Supply lost again within a day at some of the same points: a tank a leak drains empties every day.
    low_pressure: { withinMs: DAY_MS, sameIssue: continuesLowPressure },
  },
};

/** How far back resolved anomalies must be read for `reopen` (0 when no type re-opens). */
export const reopenLookbackMs = (cfg: LifecycleConfig = DEFAULT_LIFECYCLE): number =>
  Math.max(0, ...Object.values(cfg.reopen).map((r) => r.withinMs));

/** Anomalies are kept until resolved + 30 days (PRODUCT.md). */
export const RETENTION_AFTER_RESOLVED_MS = 30 * DAY_MS;

export type TransitionKind =
  | 'pending'
  | 'opened'
  | 'updated'
  | 'escalated'
  | 'reopened'
  | 'resolved'
  | 'discarded';

export interface Transition {
  kind: TransitionKind;
  anomaly: Anomaly;
}

export interface CycleResult {
  /** The subject's anomalies after the cycle (resolved ones included, discarded ones not). */
  anomalies: Anomaly[];
  /** What changed: upsert every transition's anomaly; delete discarded ones. Empty when nothing changed. */
  transitions: Transition[];
}

const keyParts = (s: AnomalySubject) => [s.tenantId, s.nodeId ?? '', s.districtId ?? ''];
export const anomalyKey = (s: AnomalySubject, type: AnomalyType, metric: Metric | null | undefined): string =>
  [...keyParts(s), type, metric ?? '', ...(s.judgedBy ? [s.judgedBy] : [])].join('\u0000');

/** Deterministic id: the same key first seen in the same cycle always gets the same id. */
export function anomalyId(
  s: AnomalySubject,
  type: AnomalyType,
  metric: Metric | null | undefined,
  firstSeenMs: number,
) {
  return createHash('sha256')
    .update(`${anomalyKey(s, type, metric)}\u0000${firstSeenMs}`)
    .digest('hex')
    .slice(0, 32);
}

const isActive = (a: Anomaly) => a.status !== 'resolved';

/** Conditions per key, keeping the most severe when a key repeats. */
function byKey(subject: AnomalySubject, conditions: readonly Condition[]): Map<string, Condition> {
  const out = new Map<string, Condition>();
  for (const c of conditions) {
    const key = anomalyKey(subject, c.type, c.metric);
    const seen = out.get(key);
    if (!seen || severityRank(c.severity) > severityRank(seen.severity)) out.set(key, c);
  }
  return out;
}

function newAnomaly(subject: AnomalySubject, c: Condition, nowMs: number, holdMs: number): Anomaly {
  const opens = holdMs <= 0;
  const firstSeenMs = c.observedAtMs;
  return {
    tenantId: subject.tenantId,
    nodeId: subject.nodeId ?? c.nodeId ?? null,
    districtId: subject.districtId,
    id: anomalyId(subject, c.type, c.metric, firstSeenMs),
    type: c.type,
    metric: c.metric ?? null,
    status: opens ? 'open' : 'pending',
    severity: c.severity,
    peakSeverity: c.severity,
    startMs: Math.min(c.sinceMs ?? firstSeenMs, firstSeenMs),
    firstSeenMs,
    lastSeenMs: c.observedAtMs,
    openedAtMs: opens ? nowMs : null,
    acknowledgedAtMs: null,
    acknowledgedBy: null,
    resolvedAtMs: null,
    resolvedBy: null,
    endMs: null,
    evidence: c.evidence,
    peakEvidence: c.evidence,
    note: null,
  };
}

/** The anomaly updated by this cycle's condition, and whether its severity escalated. */
function updated(
  a: Anomaly,
  c: Condition,
  nowMs: number,
  cfg: LifecycleConfig,
): { next: Anomaly; escalated: boolean } {
  const escalated = severityRank(c.severity) > severityRank(a.peakSeverity);
  const newer = c.observedAtMs >= a.lastSeenMs;
  const next: Anomaly = {
    ...a,
    severity: newer ? c.severity : a.severity,
    peakSeverity: maxSeverity(a.peakSeverity, c.severity),
    lastSeenMs: Math.max(a.lastSeenMs, c.observedAtMs),
    evidence: newer ? c.evidence : a.evidence,
    peakEvidence: escalated ? c.evidence : a.peakEvidence,
  };
  if (a.status === 'pending' && nowMs - a.firstSeenMs >= cfg.holdMs[a.type]) {
    next.status = 'open';
    next.openedAtMs = nowMs;
  }
  if (a.status === 'acknowledged' && escalated && cfg.reopenOnEscalation) next.status = 'open';
  return { next, escalated };
}

const sameState = (a: Anomaly, b: Anomaly): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Advances a subject's anomalies by one cycle. `current` holds the subject's anomalies as stored (pending,
 * open and acknowledged ones matter; resolved ones pass through untouched); `conditions` are this cycle's,
 * all about this subject.
 */
export function advanceAnomalies(
  subject: AnomalySubject,
  current: readonly Anomaly[],
  conditions: readonly Condition[],
  nowMs: number,
  cfg: LifecycleConfig = DEFAULT_LIFECYCLE,
): CycleResult {
  const pending = byKey(subject, conditions);
  const anomalies: Anomaly[] = [];
  const transitions: Transition[] = [];
  for (const a of current) {
    if (!isActive(a)) {
      anomalies.push(a);
      continue;
    }
    const key = anomalyKey(subject, a.type, a.metric);
    const c = pending.get(key);
    if (c) {
      pending.delete(key);
      const { next, escalated } = updated(a, c, nowMs, cfg);
      anomalies.push(next);
      if (sameState(a, next)) continue;
      const kind: TransitionKind =
        a.status === 'pending' && next.status === 'open' ? 'opened' : escalated ? 'escalated' : 'updated';
      transitions.push({ kind, anomaly: next });
      continue;
    }
    if (a.status === 'pending') {
      // A condition that did not hold for its hold time never becomes an anomaly.
      transitions.push({ kind: 'discarded', anomaly: a });
      continue;
    }
    if (nowMs - a.lastSeenMs >= cfg.clearMs[a.type]) {
      const next: Anomaly = {
        ...a,
        status: 'resolved',
        resolvedAtMs: nowMs,
        resolvedBy: 'auto',
        endMs: a.lastSeenMs,
      };
      anomalies.push(next);
      transitions.push({ kind: 'resolved', anomaly: next });
      continue;
    }
    anomalies.push(a);
  }
  for (const c of pending.values()) {
    const again = reopenable(subject, anomalies, c, cfg);
    if (again) {
      const next = reopened(again, c);
      anomalies[anomalies.indexOf(again)] = next;
      transitions.push({ kind: 'reopened', anomaly: next });
      continue;
    }
    const a = newAnomaly(subject, c, nowMs, cfg.holdMs[c.type]);
    // The same key first seen in this very cycle, already resolved by an operator: do not resurrect it.
    if (current.some((x) => x.id === a.id)) continue;
    anomalies.push(a);
    transitions.push({ kind: a.status === 'open' ? 'opened' : 'pending', anomaly: a });
  }
  return { anomalies, transitions };
}

/** The latest auto-resolved anomaly of the condition's key, recent enough and judged the same issue. */
function reopenable(
  subject: AnomalySubject,
  anomalies: readonly Anomaly[],
  c: Condition,
  cfg: LifecycleConfig,
): Anomaly | undefined {
  const rule = cfg.reopen[c.type];
  if (!rule) return undefined;
  const key = anomalyKey(subject, c.type, c.metric);
  return anomalies
    .filter(
      (a) =>
        a.status === 'resolved' &&
        a.resolvedBy === 'auto' &&
        a.openedAtMs !== null &&
        anomalyKey(subject, a.type, a.metric) === key &&
        c.observedAtMs - a.lastSeenMs <= rule.withinMs &&
        c.observedAtMs > a.lastSeenMs,
    )
    .sort((x, y) => y.lastSeenMs - x.lastSeenMs)
    .find((a) => rule.sameIssue(a, c));
}

/** A resolved anomaly open again with this cycle's sighting; its first opening and start are kept. */
function reopened(a: Anomaly, c: Condition): Anomaly {
  const escalated = severityRank(c.severity) > severityRank(a.peakSeverity);
  return {
    ...a,
    status: 'open',
    severity: c.severity,
    peakSeverity: maxSeverity(a.peakSeverity, c.severity),
    lastSeenMs: Math.max(a.lastSeenMs, c.observedAtMs),
    resolvedAtMs: null,
    resolvedBy: null,
    endMs: null,
    evidence: c.evidence,
    peakEvidence: escalated ? c.evidence : a.peakEvidence,
  };
}

export class AnomalyTransitionError extends Error {
  override name = 'AnomalyTransitionError';
  readonly code = 'invalid_transition';
}

/** An operator acknowledges an open anomaly. Acknowledging an acknowledged one again changes nothing. */
export function acknowledgeAnomaly(a: Anomaly, by: string, atMs: number, note?: string): Anomaly {
  if (a.status === 'acknowledged') return a;
  if (a.status !== 'open') {
    throw new AnomalyTransitionError(`cannot acknowledge anomaly ${a.id}: it is ${a.status}`);
  }
  return { ...a, status: 'acknowledged', acknowledgedAtMs: atMs, acknowledgedBy: by, note: note ?? a.note };
}

/** An operator resolves an open or acknowledged anomaly. Resolving a resolved one again changes nothing. */
export function resolveAnomaly(a: Anomaly, by: string, atMs: number, note?: string): Anomaly {
  if (a.status === 'resolved') return a;
  if (a.status === 'pending') {
    throw new AnomalyTransitionError(`cannot resolve anomaly ${a.id}: it is still pending`);
  }
  return { ...a, status: 'resolved', resolvedAtMs: atMs, resolvedBy: by, endMs: atMs, note: note ?? a.note };
}

/** When a resolved anomaly may be deleted (resolved + 30 days); null while it is active. */
export const retentionUntilMs = (a: Anomaly): number | null =>
  a.resolvedAtMs === null ? null : a.resolvedAtMs + RETENTION_AFTER_RESOLVED_MS;

export const isExpired = (a: Anomaly, nowMs: number): boolean => {
  const until = retentionUntilMs(a);
  return until !== null && nowMs >= until;
};
