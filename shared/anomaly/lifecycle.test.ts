import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Anomaly,
  AnomalyTransitionError,
  acknowledgeAnomaly,
  advanceAnomalies,
  DEFAULT_LIFECYCLE,
  isExpired,
  type LifecycleConfig,
  RETENTION_AFTER_RESOLVED_MS,
  resolveAnomaly,
  retentionUntilMs,
} from './lifecycle.ts';
import { DAY_MS, MINUTE_MS } from './series.ts';
import type { Condition, Severity } from './types.ts';

const subject = { tenantId: 't1', nodeId: 'n1', districtId: 'd1' };
const T0 = Date.UTC(2024, 3, 1);
const CYCLE = 30 * MINUTE_MS;
const at = (k: number) => T0 + k * CYCLE;

const flatline = (k: number, severity: Severity = 'minor', extra: Partial<Condition> = {}): Condition => ({
  type: 'flatline',
  metric: 'pressure',
  severity,
  observedAtMs: at(k),
  sinceMs: at(k) - 2 * 60 * MINUTE_MS,
  evidence: { value: 3.2, minutes: 120 + 30 * k },
  ...extra,
});
const baseline = (k: number): Condition => ({
  type: 'baseline_deviation',
  metric: 'flow',
  severity: 'warning',
  observedAtMs: at(k),
  evidence: { z: 5 },
});

/** Runs cycles 0..n-1 with the conditions `of(k)`, returning the state and every transition kind. */
function run(
  n: number,
  of: (k: number) => Condition[],
  cfg: LifecycleConfig = DEFAULT_LIFECYCLE,
  start: Anomaly[] = [],
) {
  let state = start;
  const kinds: string[][] = [];
  for (let k = 0; k < n; k++) {
    const r = advanceAnomalies(subject, state, of(k), at(k), cfg);
    state = r.anomalies;
    kinds.push(r.transitions.map((t) => `${t.kind}:${t.anomaly.type}`));
  }
  return { state, kinds };
}

test('a condition must hold for its hold time before the anomaly opens', () => {
  // Baseline deviations hold for 30 minutes: pending at the first cycle, open at the second.
  const { state, kinds } = run(3, (k) => [baseline(k)]);
  assert.deepEqual(kinds, [
    ['pending:baseline_deviation'],
    ['opened:baseline_deviation'],
    ['updated:baseline_deviation'],
  ]);
  assert.equal(state.length, 1);
  assert.equal(state[0]!.status, 'open');
  assert.equal(state[0]!.openedAtMs, at(1));
  assert.equal(state[0]!.firstSeenMs, at(0));
});

test('a pending condition that goes away is discarded, never opened', () => {
  const { state, kinds } = run(3, (k) => (k === 0 ? [baseline(k)] : []));
  assert.deepEqual(kinds, [['pending:baseline_deviation'], ['discarded:baseline_deviation'], []]);
  assert.deepEqual(state, []);
});

test('an ongoing anomaly is updated, never duplicated', () => {
  const { state, kinds } = run(6, (k) => [flatline(k)]);
  assert.equal(state.length, 1);
  assert.deepEqual(kinds[0], ['opened:flatline']); // no hold for flatlines: the detector measured 2 hours
  assert.ok(kinds.slice(1).every((k) => k.length === 1 && k[0] === 'updated:flatline'));
  const a = state[0]!;
  assert.equal(a.lastSeenMs, at(5));
  assert.equal(a.evidence.minutes, 120 + 150);
  assert.equal(a.startMs, at(0) - 2 * 60 * MINUTE_MS, 'starts when the detector says the thing began');
});

test('severity escalation updates peak and evidence, and reopens an acknowledged anomaly', () => {
  const first = run(2, (k) => [flatline(k)]).state;
  const acked = [acknowledgeAnomaly(first[0]!, 'ops@utility', at(1) + MINUTE_MS)];
  const r = advanceAnomalies(subject, acked, [flatline(2, 'major')], at(2));
  assert.equal(r.transitions.length, 1);
  assert.equal(r.transitions[0]!.kind, 'escalated');
  const a = r.anomalies[0]!;
  assert.equal(a.peakSeverity, 'major');
  assert.equal(a.status, 'open');
  assert.equal(a.acknowledgedBy, 'ops@utility', 'the acknowledgement stays on record');
  // Back to minor: current severity follows, the peak stays.
  const later = advanceAnomalies(subject, r.anomalies, [flatline(3, 'minor')], at(3)).anomalies[0]!;
  assert.equal(later.severity, 'minor');
  assert.equal(later.peakSeverity, 'major');
  assert.equal(later.peakEvidence.minutes, 180);
});

test('auto-resolves once the condition has been clear for its clear time', () => {
  const { state, kinds } = run(6, (k) => (k < 2 ? [flatline(k)] : []));
  assert.deepEqual(kinds[2], []); // 30 minutes clear: not yet
  assert.deepEqual(kinds[3], ['resolved:flatline']); // 60 minutes clear
  assert.deepEqual(kinds[4], []);
  const a = state[0]!;
  assert.equal(a.status, 'resolved');
  assert.equal(a.resolvedBy, 'auto');
  assert.equal(a.endMs, at(1));
  assert.equal(retentionUntilMs(a), at(3) + RETENTION_AFTER_RESOLVED_MS);
});

test('a condition returning after resolution opens a new anomaly with a new id', () => {
  const { state } = run(7, (k) => (k < 2 || k === 6 ? [flatline(k)] : []));
  assert.equal(state.length, 2);
  assert.notEqual(state[0]!.id, state[1]!.id);
  assert.deepEqual(
    state.map((a) => a.status),
    ['resolved', 'open'],
  );
});

test('operators acknowledge and resolve; invalid transitions are refused', () => {
  const open = run(1, (k) => [flatline(k)]).state[0]!;
  const acked = acknowledgeAnomaly(open, 'ana', at(0) + 5 * MINUTE_MS, 'crew sent');
  assert.equal(acked.status, 'acknowledged');
  assert.equal(acked.acknowledgedBy, 'ana');
  assert.equal(acked.note, 'crew sent');
  assert.equal(acknowledgeAnomaly(acked, 'bob', at(1)), acked, 'acknowledging twice changes nothing');
  const resolved = resolveAnomaly(acked, 'ana', at(2));
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.resolvedBy, 'ana');
  assert.equal(resolved.endMs, at(2));
  assert.equal(resolveAnomaly(resolved, 'bob', at(3)), resolved);
  assert.throws(() => acknowledgeAnomaly(resolved, 'bob', at(3)), AnomalyTransitionError);
  const pending = run(1, (k) => [baseline(k)]).state[0]!;
  assert.throws(() => resolveAnomaly(pending, 'bob', at(1)), AnomalyTransitionError);
  // A resolved anomaly passes through later cycles untouched, even while its condition holds.
  const r = advanceAnomalies(subject, [resolved], [flatline(4)], at(4));
  assert.equal(r.anomalies.length, 2);
  assert.equal(r.anomalies[0], resolved);
});

test('replaying a cycle is idempotent: same ids, no new transitions', () => {
  const conditions = (k: number) => [flatline(k), baseline(k)];
  let state: Anomaly[] = [];
  for (let k = 0; k < 4; k++) {
    const once = advanceAnomalies(subject, state, conditions(k), at(k));
    const twice = advanceAnomalies(subject, once.anomalies, conditions(k), at(k));
    assert.deepEqual(twice.anomalies, once.anomalies);
    assert.deepEqual(twice.transitions, []);
    state = once.anomalies;
  }
  // Two independent replays from scratch produce the same ids.
  const a = run(4, conditions).state.map((x) => x.id);
  const b = run(4, conditions).state.map((x) => x.id);
  assert.deepEqual(a, b);
  assert.equal(new Set(a).size, 2);
});

test('district subjects key on the district, whatever node the condition is seen at', () => {
  const district = { tenantId: 't1', nodeId: null, districtId: 'd1' };
  const burst = (k: number, nodeId: string): Condition => ({
    type: 'burst',
    metric: 'flow',
    severity: 'major',
    observedAtMs: at(k),
    nodeId,
    evidence: {},
  });
  const r1 = advanceAnomalies(district, [], [burst(0, 'p1')], at(0));
  const r2 = advanceAnomalies(district, r1.anomalies, [burst(1, 'p2')], at(1));
  assert.equal(r2.anomalies.length, 1);
  assert.equal(r2.anomalies[0]!.nodeId, 'p1');
  assert.equal(r2.anomalies[0]!.status, 'open');
});

test('retention: resolved + 30 days', () => {
  const open = run(1, (k) => [flatline(k)]).state[0]!;
  assert.equal(retentionUntilMs(open), null);
  assert.equal(isExpired(open, at(0) + 365 * DAY_MS), false);
  const resolved = resolveAnomaly(open, 'ana', at(1));
  assert.equal(isExpired(resolved, at(1) + 29 * DAY_MS), false);
  assert.equal(isExpired(resolved, at(1) + 30 * DAY_MS), true);
});

/** A district's net inflow 4 L/s above its baseline of 20 L/s (scale 0.8 L/s), plus `step` L/s. */
const deviation = (k: number, step = 0, sign = 1): Condition => ({
  type: 'baseline_deviation',
  metric: 'flow',
  severity: 'warning',
  observedAtMs: at(k),
  evidence: { value: 20 + sign * (4 + step), baseline: 20, scale: 0.8, z: (sign * (4 + step)) / 0.8 },
});
const district = { tenantId: 't1', nodeId: null, districtId: 'd1' };
/** A deviation held for cycles 0–2, then clear: resolved at cycle 4 (60 minutes clear). */
function resolvedDeviation() {
  let state: Anomaly[] = [];
  for (let k = 0; k < 5; k++)
    state = advanceAnomalies(district, state, k < 3 ? [deviation(k)] : [], at(k)).anomalies;
  assert.deepEqual(
    state.map((a) => [a.status, a.resolvedBy]),
    [['resolved', 'auto']],
  );
  return state;
}

test('a flow deviation back within a week at the same level re-opens the same anomaly, not a new alarm', () => {
  const resolved = resolvedDeviation();
  // Three days later (a day's peak hid the leak meanwhile), the same excess again.
  const k = 3 * 48;
  const r = advanceAnomalies(district, resolved, [deviation(k, 0.5)], at(k));
  assert.deepEqual(
    r.transitions.map((t) => t.kind),
    ['reopened'],
  );
  assert.equal(r.anomalies.length, 1);
  const a = r.anomalies[0]!;
  assert.equal(a.id, resolved[0]!.id);
  assert.equal(a.status, 'open');
  assert.equal(a.openedAtMs, at(1), 'its first opening is kept: an operator was told then');
  assert.equal(a.lastSeenMs, at(k));
  assert.equal(a.resolvedAtMs, null);
  assert.equal(a.endMs, null);
  // And it resolves again once clear.
  const later = advanceAnomalies(district, r.anomalies, [], at(k + 2));
  assert.deepEqual(
    later.transitions.map((t) => t.kind),
    ['resolved'],
  );
});

test('a flow deviation with a clear step beyond the resolved one, the other way, or too late, is a new anomaly', () => {
  const resolved = resolvedDeviation();
  const k = 3 * 48;
  // A second leak: 4 scales (3.2 L/s) more than the first one's excess.
  const step = advanceAnomalies(district, resolved, [deviation(k, 3.3)], at(k));
  assert.deepEqual(
    step.transitions.map((t) => t.kind),
    ['pending'],
  );
  // Below the baseline: another issue (a closed valve, say), not the leak seen again.
  const down = advanceAnomalies(district, resolved, [deviation(k, 0, -1)], at(k));
  assert.deepEqual(
    down.transitions.map((t) => t.kind),
    ['pending'],
  );
  // Eight days after the last sighting: a new alarm.
  const late = 8 * 48;
  const r = advanceAnomalies(district, resolved, [deviation(late)], at(late));
  assert.deepEqual(
    r.transitions.map((t) => t.kind),
    ['pending'],
  );
  // Resolved by an operator (repaired): its return is a new alarm too.
  const byOperator = [{ ...resolved[0]!, resolvedBy: 'ana' }];
  const again = advanceAnomalies(district, byOperator, [deviation(k)], at(k));
  assert.deepEqual(
    again.transitions.map((t) => t.kind),
    ['pending'],
  );
});

test('without a re-open rule, a returning deviation is a new anomaly (as flatlines are)', () => {
  const resolved = resolvedDeviation();
  const k = 3 * 48;
  const r = advanceAnomalies(district, resolved, [deviation(k)], at(k), { ...DEFAULT_LIFECYCLE, reopen: {} });
  assert.equal(r.anomalies.length, 2);
});
