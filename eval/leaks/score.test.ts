/**
 * scoreDetections on hand-made series: an alarm is credited to the earliest undetected leak running in its
 * district, and the outcome says how large that leak was then (so a credit to a leak still too small to be
 * seen shows as such).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnomalyPayload } from '../../shared/anomaly/listed.ts';
import { STEP_MS } from './generate.ts';
import type { ScheduledLeak } from './schedule.ts';
import { scoreDetections } from './score.ts';

const H = 3_600_000;
const T0 = Date.UTC(2018, 0, 1);
const STEPS = (48 * H) / STEP_MS;

function alarm(type: string, district: string, atMs: number): AnomalyPayload {
  const at = new Date(atMs).toISOString();
  return {
    id: `${type}-${atMs}`,
    nodeId: null,
    districtId: district,
    type,
    metric: null,
    severity: 'warning',
    status: 'open',
    startedAt: at,
    lastSeenAt: at,
    openedAt: at,
    acknowledgedAt: null,
    acknowledgedBy: null,
    resolvedAt: null,
    resolvedBy: null,
    note: null,
    evidence: {},
  };
}

test('an alarm credits the earliest undetected leak in its district, with that leak’s outflow then', () => {
  // p1: incipient from hour 1, 0.1 L/s for its first day; p2: abrupt 6 L/s from hour 10. Both in A.
  const leak = (pipe: string, startH: number, kind: ScheduledLeak['kind']): ScheduledLeak => ({
    pipe,
    startMs: T0 + startH * H,
    endMs: T0 + 48 * H,
    diameterM: 0.01,
    kind,
    peakMs: kind === 'abrupt' ? T0 + startH * H : T0 + 40 * H,
  });
  const series = (fromH: number, lps: number) =>
    Float32Array.from({ length: STEPS }, (_, i) => (i * STEP_MS >= fromH * H ? lps : 0));
  const data = {
    startMs: T0,
    steps: STEPS,
    leakSeries: { p1: series(1, 0.1), p2: series(10, 6) },
    leakArea: { p1: 'A', p2: 'A' },
  };
  const s = scoreDetections(
    [alarm('burst', 'A', T0 + 11 * H), alarm('burst', 'A', T0 + 12 * H), alarm('burst', 'C', T0 + 13 * H)],
    [leak('p1', 1, 'incipient'), leak('p2', 10, 'abrupt')],
    data,
    T0,
    T0 + 48 * H,
  );
  const [p1, p2] = s.leaks;
  // The burst p2 made is credited to p1, which then leaked 0.1 L/s: the column shows it.
  assert.equal(p1!.delayMs, 10 * H);
  assert.ok(Math.abs(p1!.outflowAtDetectionLps! - 0.1) < 1e-6);
  assert.equal(p2!.delayMs, 2 * H);
  assert.equal(p2!.outflowAtDetectionLps, 6);
  assert.deepEqual([s.truePositives, s.repeats, s.falseAlarms], [2, 0, 1]);
});

test('an undetected leak has no outflow at detection', () => {
  const s = scoreDetections(
    [],
    [{ pipe: 'p1', startMs: T0, endMs: T0 + H, diameterM: 0.01, kind: 'abrupt', peakMs: T0 }],
    { startMs: T0, steps: STEPS, leakSeries: {}, leakArea: {} },
    T0,
    T0 + 48 * H,
  );
  assert.equal(s.leaks[0]!.outflowAtDetectionLps, null);
});
