import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Anomaly, anomalyId, type DetectorBucket } from '../../anomaly/index.ts';
import { aggregateReadings, HOUR_MS } from '../../domain/aggregate.ts';
import type { NodeInfo } from '../../domain/readings.ts';
import {
  anomalyPlan,
  baselineHours,
  evaluationInstants,
  judgeNodeAnomalies,
  withBatch,
} from './node-anomalies.ts';

const CYCLE = 30 * 60_000;
const T = Date.UTC(2026, 5, 10, 12);

test('a batch is judged at each cycle boundary it passes and at its end', () => {
  assert.deepEqual(evaluationInstants(T, T + CYCLE, CYCLE), [T + CYCLE]);
  // A late scheduler tick: the boundary inside the batch, and its end.
  assert.deepEqual(evaluationInstants(T + 5_000, T + CYCLE + 5_000, CYCLE), [T + CYCLE, T + CYCLE + 5_000]);
  assert.deepEqual(
    evaluationInstants(T, T + 2 * HOUR_MS, CYCLE),
    [1, 2, 3, 4].map((k) => T + k * CYCLE),
  );
  assert.deepEqual(evaluationInstants(Number.NEGATIVE_INFINITY, T, CYCLE), [T]);
  // A weeks-long backfill is judged over its last day only.
  const long = evaluationInstants(T - 30 * 24 * HOUR_MS, T, CYCLE);
  assert.equal(long.length, 48);
  assert.equal(long.at(-1), T);
});

test('the baseline reads the same hours of the past weeks around each instant', () => {
  const hours = baselineHours([T], 4);
  assert.equal(hours.length, 8 * 4);
  const week = 7 * 24 * HOUR_MS;
  assert.ok(hours.includes(T - week) && hours.includes(T - 4 * week - 5 * HOUR_MS));
  assert.ok(!hours.includes(T - 5 * week));
  assert.ok(baselineHours([T], 4, 'both').length > hours.length, 'a burst detector looks back further');
});

const bucket = (bucketMs: number, v: number, n = 5): DetectorBucket => ({
  metric: 1,
  bucketMs,
  count: n,
  sum: v * n,
  sumSq: Number.NaN,
  min: v,
  max: v,
  first: Number.NaN,
  last: v,
  lastTs: bucketMs + 4 * 60_000,
});

test('the batch’s new partials are laid over the stored ones', () => {
  const stored = [bucket(T, 3), bucket(T + 300_000, 3, 2)];
  const delta = aggregateReadings([
    { nodeId: 'p', ts: T + 300_000 + 280_000, ingestedAt: T + 600_000, values: { pressure: 4 } },
    { nodeId: 'p', ts: T + 600_000, ingestedAt: T + 700_000, values: { pressure: 2 } },
  ]);
  const rows = withBatch(stored, delta, T);
  const at = (ms: number) => rows.find((r) => r.bucketMs === ms)!;
  assert.deepEqual([at(T).count, at(T).last], [5, 3]);
  const merged = at(T + 300_000);
  assert.deepEqual([merged.count, merged.sum, merged.min, merged.max, merged.last], [3, 10, 3, 4, 4]);
  assert.equal(at(T + 600_000).count, 1);
});

test('a flatline that runs past the history read continues its open anomaly and grows major', () => {
  const node: NodeInfo = {
    id: 'd01-pressure-1',
    tenantId: 't',
    districtId: 'd01',
    kind: 'pressure',
    name: 'p',
    latitude: null,
    longitude: null,
    metrics: ['pressure', 'temperature'],
  };
  const input = { node, readings: [], fromMs: T - CYCLE, toMs: T, lastReadingMs: T - 60_000, cycleMs: CYCLE };
  const plan = anomalyPlan(input);
  const fiveMinute: DetectorBucket[] = [];
  for (let t = plan.historyFromMs; t < T; t += 300_000) fiveMinute.push(bucket(t, 3.21));
  const since = T - 13 * HOUR_MS;
  const subject = { tenantId: 't', nodeId: node.id, districtId: 'd01' };
  const open: Anomaly = {
    ...subject,
    id: anomalyId(subject, 'flatline', 'pressure', since + HOUR_MS),
    type: 'flatline',
    metric: 'pressure',
    status: 'open',
    severity: 'minor',
    peakSeverity: 'minor',
    startMs: since,
    firstSeenMs: since + HOUR_MS,
    lastSeenMs: T - CYCLE,
    openedAtMs: since + HOUR_MS,
    acknowledgedAtMs: null,
    acknowledgedBy: null,
    resolvedAtMs: null,
    resolvedBy: null,
    endMs: null,
    evidence: {},
    peakEvidence: {},
    note: null,
  };
  const judged = judgeNodeAnomalies(
    input,
    plan,
    { timezone: 'UTC', fiveMinute, baseline: [], anomalies: [open] },
    [],
  );
  assert.equal(judged.transitions.length, 1);
  const next = judged.transitions[0]!.anomaly;
  assert.equal(next.id, open.id, 'the same anomaly, updated');
  assert.equal(next.severity, 'major');
  assert.equal(next.evidence.minutes, 13 * 60);
  assert.equal(next.lastSeenMs, T);
  assert.deepEqual(judged.opened, []);
});
