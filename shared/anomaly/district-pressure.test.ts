import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, seededRandom } from '../domain/random.ts';
import { DEFAULT_ANOMALY_CONFIG } from './config.ts';
import { detectNodeConditions } from './detect.ts';
import { advanceDistrictInstant } from './district-instant.ts';
import { DEFAULT_DISTRICT_PRESSURE, judgeDistrictPressure } from './district-pressure.ts';
import { nodeOf, readingsOf, seriesOf } from './fixtures.ts';
import { type Anomaly, advanceAnomalies, anomalyId } from './lifecycle.ts';
import { FIVE_MINUTES_MS, HOUR_MS, MINUTE_MS } from './series.ts';
import type { DistrictNodeSeries } from './types.ts';

const T0 = Date.UTC(2024, 3, 1);
const NOW = T0 + 12 * HOUR_MS;
const FROM = NOW - 30 * MINUTE_MS;
const pointCfg = DEFAULT_ANOMALY_CONFIG.kinds.pressure;
const RANGE = pointCfg.range.pressure!;
const SPIKES = pointCfg.spikes.pressure!;

/**
 * A district's pressure points at 5-minute readings (levels in bar) with small noise; `dip(id, t)` gives
 * the reading instead where it returns a number.
 */
function district(levels: Record<string, number>, dip: (id: string, t: number) => number | null) {
  const noise = gaussian(seededRandom(5));
  const points: DistrictNodeSeries[] = Object.entries(levels).map(([id, level]) => ({
    nodeId: id,
    pressure: {
      fiveMinute: seriesOf(T0, NOW, (t) => dip(id, t) ?? level + 0.01 * noise(), FIVE_MINUTES_MS),
    },
  }));
  return points;
}

/** L-Town's area C on 2018-02-08: its tank run empty, every point falls below zero for one reading, twice. */
const tankEmpty = (id: string, t: number) =>
  t === FROM + 5 * MINUTE_MS || t === FROM + 20 * MINUTE_MS
    ? ({ n1: -0.81, n4: -0.33, n31: -0.01 }[id] ?? null)
    : null;

test('points dropping together are one low-pressure event, not a fault of each sensor', () => {
  const points = district({ n1: 2.44, n4: 2.93, n31: 3.24 }, tankEmpty);
  const tank: DistrictNodeSeries = {
    nodeId: 'T1',
    pressure: { fiveMinute: seriesOf(T0, NOW, () => 0.001, FIVE_MINUTES_MS) },
  };
  const { event, faults } = judgeDistrictPressure(
    points,
    [tank],
    FROM,
    NOW,
    DEFAULT_DISTRICT_PRESSURE,
    RANGE,
    SPIKES,
  );
  assert.deepEqual(faults, []);
  assert.ok(event);
  assert.equal(event.type, 'low_pressure');
  assert.equal(event.severity, 'critical'); // −0.81 bar: no supply at n1
  assert.equal(event.nodeId, 'n1');
  assert.equal(event.sinceMs, FROM + 5 * MINUTE_MS);
  assert.deepEqual(
    { ...event.evidence },
    {
      points: 'n1,n31,n4',
      pointsDropped: 3,
      pointsJudged: 3,
      minPressureBar: -0.81,
      minAt: 'n1',
      referenceBar: event.evidence.referenceBar,
      dropBuckets: 2,
      firstDropMs: FROM + 5 * MINUTE_MS,
      tank: 'T1',
      tankMinLevelBar: 0.001,
    },
  );
  assert.ok(Math.abs((event.evidence.referenceBar as number) - 2.44) < 0.02);
});

/** The three points at their usual levels, one of them showing what `lone` gives, no tank, judged over FROM → NOW. */
const judgeOneOdd = (lone: (id: string, t: number) => number | null) =>
  judgeDistrictPressure(
    district({ n1: 2.44, n4: 2.93, n31: 3.24 }, lone),
    [],
    FROM,
    NOW,
    DEFAULT_DISTRICT_PRESSURE,
    RANGE,
    SPIKES,
  );

test('a single point out of range while its neighbours stay normal is that sensor’s fault', () => {
  const lone = (id: string, t: number) => (id === 'n4' && t === FROM + 10 * MINUTE_MS ? -0.5 : null);
  const { event, faults } = judgeOneOdd(lone);
  assert.equal(event, null);
  assert.deepEqual(
    faults.map((c) => [c.type, c.nodeId, c.evidence.worst ?? c.evidence.value]),
    [
      ['out_of_range', 'n4', -0.5],
      ['spike', 'n4', -0.5],
    ],
  );
});

test('a single point’s spike within the plausible range is still a spike; a drop of one point is not an event', () => {
  const lone = (id: string, t: number) => (id === 'n31' && t === FROM + 15 * MINUTE_MS ? 0.9 : null);
  const { event, faults } = judgeOneOdd(lone);
  assert.equal(event, null);
  assert.deepEqual(
    faults.map((c) => [c.type, c.nodeId]),
    [['spike', 'n31']],
  );
});

test('normal demand swings of every point together are no event', () => {
  const noise = gaussian(seededRandom(9));
  const points = ['a', 'b', 'c'].map((id, k) => ({
    nodeId: id,
    pressure: {
      // 30 % daily swing in pressure, the same for all points (demand headloss): not half the level lost.
      fiveMinute: seriesOf(
        T0,
        NOW,
        (t) => (3 + k) * (1 - 0.3 * Math.sin((Math.PI * (t - T0)) / (12 * HOUR_MS))) + 0.01 * noise(),
        FIVE_MINUTES_MS,
      ),
    },
  }));
  for (let now = T0 + 7 * HOUR_MS; now <= NOW; now += 30 * MINUTE_MS) {
    const r = judgeDistrictPressure(
      points,
      [],
      now - 30 * MINUTE_MS,
      now,
      DEFAULT_DISTRICT_PRESSURE,
      RANGE,
      SPIKES,
    );
    assert.equal(r.event, null, new Date(now).toISOString());
    assert.deepEqual(r.faults, []);
  }
});

test('the node detector leaves a district pressure point’s range and spikes to the district, not its impossible values', () => {
  const node = nodeOf('pressure', 'n1');
  const fn = (t: number) => (t === FROM + 10 * MINUTE_MS ? -0.8 : 2.4);
  const input = {
    node,
    timezone: 'UTC',
    fromMs: FROM,
    nowMs: NOW,
    readings: readingsOf('n1', 'pressure', FROM, NOW, fn, FIVE_MINUTES_MS),
    history: { pressure: { fiveMinute: seriesOf(T0, NOW, fn, FIVE_MINUTES_MS) } },
  };
  const types = (c: ReturnType<typeof detectNodeConditions>) => c.map((x) => x.type).sort();
  assert.deepEqual(types(detectNodeConditions(input)), []);
  // Outside a district, the node judges itself, as before.
  assert.deepEqual(types(detectNodeConditions({ ...input, node: { ...node, districtId: null } })), [
    'out_of_range',
    'spike',
  ]);
  // Impossible values (the cleaner dropped them) are the node's to report, in a district too.
  const c = detectNodeConditions({ ...input, rejected: { pressure: 2 } });
  assert.deepEqual(
    c.map((x) => [x.type, x.evidence.impossible]),
    [['out_of_range', 2]],
  );
});

test('through the district instant: one low-pressure anomaly, and a lone fault keeps its own node and key', () => {
  const subject = { tenantId: 't1', nodeId: null, districtId: 'd1' };
  const input = (points: DistrictNodeSeries[]) => ({
    input: { districtId: 'd1', timezone: 'UTC', inlets: [], pressurePoints: points },
    nights: [],
    excluded: [],
  });
  const both = (id: string, t: number) =>
    tankEmpty(id, t) ?? (id === 'n9' && t === FROM + 25 * MINUTE_MS ? 20 : null);
  const points = district({ n1: 2.44, n4: 2.93, n31: 3.24, n9: 3 }, both);
  const { anomalies, transitions } = advanceDistrictInstant(subject, [], NOW, input(points));
  assert.deepEqual(
    transitions.map((t) => [t.kind, t.anomaly.type, t.anomaly.nodeId, t.anomaly.districtId]),
    [
      ['opened', 'low_pressure', 'n1', 'd1'],
      ['opened', 'out_of_range', 'n9', 'd1'],
    ],
  );
  const fault = anomalies.find((a) => a.type === 'out_of_range')!;
  // Its id is not the one the node's own detector would give the same key (impossible values stay the node's).
  assert.notEqual(
    fault.id,
    anomalyId({ tenantId: 't1', nodeId: 'n9', districtId: 'd1' }, 'out_of_range', 'pressure', NOW),
  );
  // The next cycle without the lone fault: the event carries on, the fault resolves after its clear time.
  let current: Anomaly[] = anomalies;
  const levels: Record<string, number> = { n1: 2.44, n4: 2.93, n31: 3.24, n9: 3 };
  for (let t = NOW + 30 * MINUTE_MS; t <= NOW + 2 * HOUR_MS; t += 30 * MINUTE_MS) {
    const extended = Object.entries(levels).map(([id, level]) => ({
      nodeId: id,
      pressure: {
        fiveMinute: seriesOf(T0, t, (x) => (x < NOW ? both(id, x) : null) ?? level, FIVE_MINUTES_MS),
      },
    }));
    current = advanceDistrictInstant(subject, current, t, input(extended)).anomalies;
  }
  assert.deepEqual(current.map((a) => [a.type, a.status]).sort(), [
    ['low_pressure', 'open'],
    ['out_of_range', 'resolved'],
    ['spike', 'resolved'],
  ]);
  assert.equal(current.find((a) => a.type === 'spike')?.nodeId, 'n9');
});

test('a loss of supply back within a day at the same points re-opens the same anomaly; later, a new one', () => {
  const subject = { tenantId: 't1', nodeId: null, districtId: 'd1' };
  const low = (t: number, points: string) => ({
    type: 'low_pressure' as const,
    metric: 'pressure' as const,
    severity: 'critical' as const,
    observedAtMs: t,
    evidence: { points },
  });
  // Evening one: the tank empties; it refills overnight (the anomaly resolves after 6 clear hours).
  let state = advanceAnomalies(subject, [], [low(NOW, 'n1,n31,n4')], NOW).anomalies;
  const first = state[0]!;
  state = advanceAnomalies(subject, state, [], NOW + 7 * HOUR_MS).anomalies;
  assert.equal(state[0]!.status, 'resolved');
  // Evening two, 20 hours after the last sighting: the same event, open again under the same id.
  const again = advanceAnomalies(subject, state, [low(NOW + 20 * HOUR_MS, 'n1,n4')], NOW + 20 * HOUR_MS);
  assert.deepEqual(
    again.transitions.map((t) => [t.kind, t.anomaly.id, t.anomaly.status]),
    [['reopened', first.id, 'open']],
  );
  // Two days later, or at other points: a new anomaly.
  state = advanceAnomalies(subject, again.anomalies, [], NOW + 27 * HOUR_MS).anomalies;
  const later = advanceAnomalies(subject, state, [low(NOW + 52 * HOUR_MS, 'n1')], NOW + 52 * HOUR_MS);
  assert.deepEqual(
    later.transitions.map((t) => t.kind),
    ['opened'],
  );
  const elsewhere = advanceAnomalies(subject, state, [low(NOW + 30 * HOUR_MS, 'n9')], NOW + 30 * HOUR_MS);
  assert.deepEqual(
    elsewhere.transitions.map((t) => t.kind),
    ['opened'],
  );
});
