import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gaussian, seededRandom } from '../domain/random.ts';
import type { Metric, Reading } from '../domain/readings.ts';
import { detectBaselineDeviation } from './baseline.ts';
import { DEFAULT_ANOMALY_CONFIG, withOverrides } from './config.ts';
import { detectDistrictConditions, detectNodeConditions } from './detect.ts';
import { demandShape, nodeOf, readingsOf, seriesOf } from './fixtures.ts';
import { HOUR_MS, MINUTE_MS, rollUpSeries } from './series.ts';
import type { MetricHistory, NodeCycleInput } from './types.ts';

const T0 = Date.UTC(2024, 3, 1);
const NOW = T0 + 36 * HOUR_MS;
const FROM = NOW - 30 * MINUTE_MS;
const noise = gaussian(seededRandom(9));

/** A node input from per-metric value functions (minute readings), history and this cycle's raw readings. */
function inputOf(
  kind: Parameters<typeof nodeOf>[0],
  fns: Partial<Record<Metric, (t: number) => number | null>>,
) {
  const node = nodeOf(kind);
  const history: Partial<Record<Metric, MetricHistory>> = {};
  const readings: Reading[] = [];
  for (const [metric, fn] of Object.entries(fns) as [Metric, (t: number) => number | null][]) {
    const memo = new Map<number, number | null>();
    const f = (t: number) => {
      if (!memo.has(t)) memo.set(t, fn(t));
      return memo.get(t)!;
    };
    history[metric] = { fiveMinute: seriesOf(T0, NOW, f) };
    readings.push(...readingsOf(node.id, metric, FROM, NOW, f));
  }
  return { node, timezone: 'UTC', fromMs: FROM, nowMs: NOW, readings, history } satisfies NodeCycleInput;
}

const types = (input: NodeCycleInput, config = DEFAULT_ANOMALY_CONFIG) =>
  detectNodeConditions(input, config).map((c) => `${c.type}${c.metric ? `:${c.metric}` : ''}`);

test('a pump that is off reads a true zero: no condition at all', () => {
  const off = (t: number) => (t % (24 * HOUR_MS)) / HOUR_MS >= 12; // off all afternoon and evening
  const input = inputOf('pump', {
    flow: (t) => (off(t) ? 0 : 30 + 0.3 * noise()),
    pressure: (t) => (off(t) ? 2.1 : 5.5) + 0.015 * noise(),
  });
  assert.deepEqual(types(input), []);
});

test('a quality station with low chlorine reports the limit, not a sensor fault', () => {
  const input = inputOf('quality', {
    chlorine: (t) => (t >= NOW - 2 * HOUR_MS ? 0.12 : 0.45) + 0.008 * noise(),
    turbidity: () => 0.2 + 0.01 * noise(),
    ph: () => 7.5 + 0.01 * noise(),
    temperature: () => 14 + 0.03 * noise(),
  });
  assert.deepEqual(types(input), ['water_quality:chlorine']);
});

test('impossible values in the raw readings are out of range, and never reach the other detectors', () => {
  const input = inputOf('pressure', {
    pressure: () => 4 + 0.015 * noise(),
    temperature: () => 12 + 0.03 * noise(),
  });
  input.readings.push({
    nodeId: input.node.id,
    ts: NOW - 7 * MINUTE_MS,
    ingestedAt: NOW,
    values: { pressure: 999 },
  });
  input.readings.push({
    nodeId: input.node.id,
    ts: NOW - 6 * MINUTE_MS,
    ingestedAt: NOW,
    values: { pressure: Number.NaN },
  });
  const conditions = detectNodeConditions(input);
  assert.deepEqual(
    conditions.map((c) => c.type),
    ['out_of_range'],
  );
  assert.equal(conditions[0]!.evidence.impossible, 2);
});

test('negative flow is normal on a bidirectional meter', () => {
  const input = inputOf('customer', { flow: () => -2 + 0.02 * noise(), volume: () => 100 });
  assert.ok(types(input).includes('negative_flow:flow'));
  assert.ok(!types({ ...input, bidirectional: true }).includes('negative_flow:flow'));
});

test('silence: no readings this cycle nor for the last hours', () => {
  const input = inputOf('inlet', {
    flow: (t) => (t < NOW - 3 * HOUR_MS ? 20 * demandShape(t) : null),
    pressure: (t) => (t < NOW - 3 * HOUR_MS ? 4 + 0.015 * noise() : null),
  });
  assert.deepEqual(types(input), ['silent']);
  assert.equal(detectNodeConditions(input).find((c) => c.type === 'silent')!.evidence.silentMinutes, 180);
});

test('detectors can be switched off and tuned per kind', () => {
  const input = inputOf('customer', { flow: () => -2 + 0.02 * noise(), volume: () => 100 });
  const config = withOverrides(DEFAULT_ANOMALY_CONFIG, { kinds: { customer: { negativeFlow: null } } });
  assert.ok(!types(input, config).includes('negative_flow:flow'));
  assert.equal(config.kinds.customer.gaps.gapMinutes, DEFAULT_ANOMALY_CONFIG.kinds.customer.gaps.gapMinutes);
  assert.notEqual(config.kinds.inlet.negativeFlow, null, 'other kinds keep theirs');
});

test('district: a leak needs nights, a burst needs pressure points', () => {
  const inlet = inputOf('inlet', { flow: (t) => 20 * demandShape(t) + 0.3 * noise() });
  const conditions = detectDistrictConditions({
    districtId: 'd1',
    timezone: 'UTC',
    nowMs: NOW,
    inlets: [{ nodeId: 'inlet-1', flow: inlet.history.flow! }],
    pressurePoints: [],
  });
  assert.deepEqual(conditions, []);
});

describe('an inlet of a district is judged on the net inflow, by the district detector', () => {
  const W0 = Date.UTC(2024, 0, 1); // a Monday
  const END = W0 + 5 * 7 * 24 * HOUR_MS;
  const LEAK = END - 2 * 24 * HOUR_MS + 2 * HOUR_MS; // 02:00, two days before the end
  const z = gaussian(seededRandom(21));
  // A pump behind the inlet fills a tank at night (00:00–06:00), 15 L/s; in the last night it also runs all evening.
  const pump = (t: number) => {
    const h = (t % (24 * HOUR_MS)) / HOUR_MS;
    return h < 6 || (t >= END - 24 * HOUR_MS && h >= 18) ? 15 : 0;
  };
  const history = (fn: (t: number) => number): MetricHistory => {
    const fiveMinute = seriesOf(W0, END, fn, 5 * MINUTE_MS);
    return { fiveMinute, hourly: rollUpSeries(fiveMinute, HOUR_MS) };
  };
  const district = (leakLps: number) => {
    const demand = new Map<number, number>();
    const use = (t: number) => {
      if (!demand.has(t)) demand.set(t, 20 * demandShape(t) + 0.3 * z());
      return demand.get(t)!;
    };
    const inletFlow = history((t) => use(t) + pump(t) + (t >= LEAK ? leakLps : 0));
    const outletFlow = history(pump);
    return { inletFlow, outletFlow };
  };
  const judge = (d: ReturnType<typeof district>, nowMs: number) =>
    detectDistrictConditions(
      {
        districtId: 'd1',
        timezone: 'UTC',
        nowMs,
        inlets: [{ nodeId: 'inlet-1', flow: d.inletFlow }],
        outlets: [{ nodeId: 'outlet-1', flow: d.outletFlow }],
        pressurePoints: [],
      },
      withOverrides(DEFAULT_ANOMALY_CONFIG, { district: { nightFlow: null, burst: null } }),
    );
  const eveningOfTheLastDay = [19, 20, 21, 22, 23].map((h) => END - 24 * HOUR_MS + h * HOUR_MS);

  test('water passing through to a tank is no deviation of the district, and the inlet has no baseline of its own', () => {
    const d = district(0);
    for (const t of eveningOfTheLastDay) assert.deepEqual(judge(d, t), [], new Date(t).toISOString());
    // The inlet's own baseline would see the pump's extra evening (what L-Town's inlets raised as false alarms).
    const own = detectBaselineDeviation(d.inletFlow, 'flow', 'UTC', eveningOfTheLastDay[2]!);
    assert.ok(own, 'the inlet alone deviates');
    const node = nodeOf('inlet');
    const input: NodeCycleInput = {
      node,
      timezone: 'UTC',
      fromMs: eveningOfTheLastDay[2]! - 30 * MINUTE_MS,
      nowMs: eveningOfTheLastDay[2]!,
      readings: [],
      history: { flow: d.inletFlow },
      lastReadingMs: eveningOfTheLastDay[2]! - MINUTE_MS,
    };
    assert.ok(!types(input).includes('baseline_deviation:flow'), 'in a district: judged by the district');
    assert.ok(
      types({ ...input, node: { ...node, districtId: null } }).includes('baseline_deviation:flow'),
      'a stand-alone inlet keeps its own baseline',
    );
  });

  test('a leak raising the net inflow is a baseline deviation of the district, named after its inlet', () => {
    const d = district(4);
    const found = judge(d, LEAK + 3 * HOUR_MS);
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]!.type, 'baseline_deviation');
    assert.equal(found[0]!.nodeId, 'inlet-1');
    assert.equal(found[0]!.evidence.netInflow, true);
  });
});
