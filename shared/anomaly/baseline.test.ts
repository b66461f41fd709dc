import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, seededRandom } from '../domain/random.ts';
import { continuesDeviation, DEFAULT_BASELINE, detectBaselineDeviation } from './baseline.ts';
import { demandShape, seriesOf } from './fixtures.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, rollUpSeries, WEEK_MS } from './series.ts';
import type { MetricHistory } from './types.ts';

const T0 = Date.UTC(2024, 0, 1); // a Monday
const END = T0 + 5 * WEEK_MS;

/** 5 weeks of minute flows: a daily shape, day-to-day variation of ±3 % and measurement noise. */
function flowHistory(extra: (t: number) => number = () => 0): MetricHistory {
  const noise = gaussian(seededRandom(7));
  const dayFactor = new Map<number, number>();
  const dayNoise = gaussian(seededRandom(11));
  const fiveMinute = seriesOf(T0, END, (t) => {
    const day = Math.floor(t / DAY_MS);
    if (!dayFactor.has(day)) dayFactor.set(day, 1 + 0.03 * dayNoise());
    return 10 * demandShape(t) * dayFactor.get(day)! + 0.3 * noise() + extra(t);
  });
  return { fiveMinute, hourly: rollUpSeries(fiveMinute, HOUR_MS) };
}

test('stays quiet on clean seasonal data, cycle after cycle', () => {
  const h = flowHistory();
  let alarms = 0;
  for (let now = END - WEEK_MS; now <= END; now += 30 * MINUTE_MS) {
    if (detectBaselineDeviation(h, 'flow', 'UTC', now)) alarms++;
  }
  assert.equal(alarms, 0);
});

test('catches a sustained rise and grades it by z', () => {
  const start = END - 2 * DAY_MS + 2 * HOUR_MS; // 02:00, when the rise is large against night flow
  const h = flowHistory((t) => (t >= start ? 3 : 0));
  assert.equal(detectBaselineDeviation(h, 'flow', 'UTC', start + 30 * MINUTE_MS), null, 'not sustained yet');
  const c = detectBaselineDeviation(h, 'flow', 'UTC', start + 2 * HOUR_MS);
  assert.ok(c);
  assert.equal(c.type, 'baseline_deviation');
  assert.equal(c.metric, 'flow');
  assert.ok((c.evidence.z as number) >= DEFAULT_BASELINE.zThreshold);
  assert.ok((c.evidence.value as number) > (c.evidence.baseline as number) + 2);
  assert.notEqual(c.severity, 'critical');
});

test('a one-sided detector ignores deviations the other way', () => {
  const start = END - 2 * DAY_MS + 2 * HOUR_MS;
  const h = flowHistory((t) => (t >= start ? 3 : 0));
  const now = start + 2 * HOUR_MS;
  assert.equal(
    detectBaselineDeviation(h, 'flow', 'UTC', now, { ...DEFAULT_BASELINE, direction: 'down' }),
    null,
  );
  assert.ok(detectBaselineDeviation(h, 'flow', 'UTC', now, { ...DEFAULT_BASELINE, direction: 'up' }));
});

test('a 30-minute blip is not a sustained deviation', () => {
  const start = END - 2 * DAY_MS + 2 * HOUR_MS;
  const h = flowHistory((t) => (t >= start && t < start + 30 * MINUTE_MS ? 6 : 0));
  for (let now = start; now <= start + 3 * HOUR_MS; now += 30 * MINUTE_MS) {
    assert.equal(detectBaselineDeviation(h, 'flow', 'UTC', now), null);
  }
});

test('without enough weeks of history there is no baseline and no condition', () => {
  const h = flowHistory((t) => (t >= END - DAY_MS ? 50 : 0));
  const short: MetricHistory = { fiveMinute: h.fiveMinute };
  assert.ok(detectBaselineDeviation(short, 'flow', 'UTC', END));
  assert.equal(detectBaselineDeviation(short, 'flow', 'UTC', T0 + 2 * WEEK_MS + DAY_MS), null);
});

test('with maxZeroShare, a flow switched on and off has no baseline', () => {
  // A pump filling a tank: 12 L/s when on, off otherwise, its timing set by the tank's level.
  // In its last day it runs without a pause (the tank drains faster): still no baseline deviation.
  const onOff = (t: number) => (t >= END - DAY_MS || Math.floor(t / (97 * MINUTE_MS)) % 3 !== 0 ? 12 : 0);
  const fiveMinute = seriesOf(T0, END, onOff);
  const h: MetricHistory = { fiveMinute, hourly: rollUpSeries(fiveMinute, HOUR_MS) };
  let gated = 0;
  for (let now = END - WEEK_MS; now <= END; now += 30 * MINUTE_MS) {
    if (detectBaselineDeviation(h, 'flow', 'UTC', now, { ...DEFAULT_BASELINE, maxZeroShare: 0.2 })) gated++;
  }
  assert.equal(gated, 0);
  // A flow that is rarely zero keeps its baseline.
  const start = END - 2 * DAY_MS + 2 * HOUR_MS;
  const rising = flowHistory((t) => (t >= start ? 3 : 0));
  assert.ok(
    detectBaselineDeviation(rising, 'flow', 'UTC', start + 2 * HOUR_MS, {
      ...DEFAULT_BASELINE,
      maxZeroShare: 0.2,
    }),
  );
});

test('a metered pump never reads an exact zero: its noisy stops and its look-back still make it a switched flow', () => {
  // As the aggregator hands it over: the recent day in 5-minute buckets, the baseline's weeks in hours.
  // The meter's noise (±0.03 L/s) on a stopped pump; in the recent day the pump runs without a pause.
  const noise = gaussian(seededRandom(5));
  // Off every night until 08:00 (a cheap-tariff schedule turned round), but on all of the last night.
  const onOff = (t: number) => (t >= END - DAY_MS || (t % DAY_MS) / HOUR_MS >= 8 ? 12 : 0) + 0.03 * noise();
  const all = seriesOf(T0, END, onOff);
  const recent = seriesOf(END - 2 * DAY_MS, END, onOff);
  const h: MetricHistory = { fiveMinute: recent, hourly: rollUpSeries(all, HOUR_MS) };
  const cfg = { ...DEFAULT_BASELINE, maxZeroShare: 0.2 };
  let fired = 0;
  for (let now = END - DAY_MS + 2 * HOUR_MS; now <= END - DAY_MS + 8 * HOUR_MS; now += 30 * MINUTE_MS) {
    if (detectBaselineDeviation(h, 'flow', 'UTC', now, cfg)) fired++;
  }
  assert.equal(fired, 0);
  // Without the gate the same day is a deviation (the pump runs where it used to pause): the gate is what holds it.
  let ungated = 0;
  for (let now = END - DAY_MS + 2 * HOUR_MS; now <= END - DAY_MS + 8 * HOUR_MS; now += 30 * MINUTE_MS) {
    if (detectBaselineDeviation(h, 'flow', 'UTC', now, DEFAULT_BASELINE)) ungated++;
  }
  assert.ok(ungated > 0, 'the scenario has deviations to gate');
  // A district's flow with quiet nights is not a switched flow: its nights are far above 5 % of its day.
  const start = END - 2 * DAY_MS + 2 * HOUR_MS;
  const rising = flowHistory((t) => (t >= start ? 3 : 0));
  assert.ok(detectBaselineDeviation(rising, 'flow', 'UTC', start + 2 * HOUR_MS, cfg));
});

test('a deviation continues an earlier one unless it adds a clear step (or goes the other way)', () => {
  // The earlier anomaly: 3 L/s above its baseline at its peak, 2 L/s at its last sighting (half-learned).
  const previous = {
    peakEvidence: { value: 23, baseline: 20, scale: 0.5 },
    evidence: { value: 17, baseline: 15, scale: 0.5 },
  };
  const now = (excess: number) => ({ evidence: { value: 30 + excess, baseline: 30, scale: 0.5 } });
  assert.equal(continuesDeviation(previous, now(2.5)), true, 'the same leak, seen again');
  assert.equal(continuesDeviation(previous, now(4.9)), true, 'less than 4 scales beyond the peak');
  assert.equal(continuesDeviation(previous, now(5.1)), false, 'a second leak: 4 scales (2 L/s) beyond');
  assert.equal(continuesDeviation(previous, now(-3)), false, 'below the baseline: another issue');
  assert.equal(continuesDeviation(previous, { evidence: { z: 5 } }), false, 'no level to compare');
});
