import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, seededRandom } from '../domain/random.ts';
import { DEFAULT_ANOMALY_CONFIG } from './config.ts';
import { demandShape, seriesOf } from './fixtures.ts';
import {
  detectFlatline,
  detectGaps,
  detectNegativeFlow,
  detectOutOfRange,
  reportingIntervalMinutes,
} from './sensor-faults.ts';
import { HOUR_MS, MINUTE_MS } from './series.ts';

const T0 = Date.UTC(2024, 3, 1);
const END = T0 + 24 * HOUR_MS;
const inlet = DEFAULT_ANOMALY_CONFIG.kinds.inlet;
const pump = DEFAULT_ANOMALY_CONFIG.kinds.pump;
const noise = gaussian(seededRandom(1));

test('flatline: identical values for long enough, not before', () => {
  const stuckFrom = END - 3 * HOUR_MS;
  const s = seriesOf(T0, END, (t) => (t >= stuckFrom ? 12.345 : 10 * demandShape(t) + 0.2 * noise()));
  assert.equal(detectFlatline(s, 'flow', stuckFrom + 55 * MINUTE_MS, inlet.flatline.flow!), null);
  const c = detectFlatline(s, 'flow', END, inlet.flatline.flow!);
  assert.ok(c);
  assert.equal(c.type, 'flatline');
  assert.equal(c.sinceMs, stuckFrom);
  assert.equal(c.evidence.value, 12.345);
  assert.equal(c.evidence.minutes, 180);
  assert.equal(c.severity, 'minor');
});

test('flatline: a pump that is off reads a true zero, and that is not a fault', () => {
  // Runs by day, off from 20:00 to 06:00: ten hours of exact zeros.
  const running = (t: number) => {
    const h = (t % 86_400_000) / HOUR_MS;
    return h >= 6 && h < 20;
  };
  const s = seriesOf(T0, T0 + 2 * 86_400_000, (t) => (running(t) ? 35 + 0.5 * noise() : 0));
  for (let now = T0 + 86_400_000; now <= T0 + 2 * 86_400_000; now += 30 * MINUTE_MS) {
    assert.equal(detectFlatline(s, 'flow', now, pump.flatline.flow!), null, new Date(now).toISOString());
  }
  // The same zeros at an inlet (zero not allowed) are a stuck meter.
  assert.ok(detectFlatline(s, 'flow', T0 + 86_400_000 + 4 * HOUR_MS, inlet.flatline.flow!));
  // A pump's flow frozen at a non-zero value is still a fault.
  const frozen = seriesOf(T0, END, (t) => (t >= END - 3 * HOUR_MS ? 35.2 : 35 + 0.5 * noise()));
  assert.ok(detectFlatline(frozen, 'flow', END, pump.flatline.flow!));
});

test('flatline: quiet on a noisy live signal and on too few readings', () => {
  const live = seriesOf(T0, END, () => 4 + 0.01 * noise());
  assert.equal(detectFlatline(live, 'pressure', END, inlet.flatline.pressure!), null);
  // 15-minute readings whose last six agree: 85 minutes, but six readings do not make a stuck sensor.
  const hourly = seriesOf(T0, END, (t) => (t >= END - 90 * MINUTE_MS ? 3.2 : 3 + noise()), 15 * MINUTE_MS);
  assert.equal(detectFlatline(hourly, 'flow', END, inlet.flatline.flow!), null);
});

test('out of range: plausible limits per metric, impossible values counted upstream', () => {
  const range = inlet.range.pressure!;
  assert.equal(detectOutOfRange([3, 4, 5], 0, 'pressure', END, range), null);
  const c = detectOutOfRange([3, 4, 22, -0.9], 0, 'pressure', END, range);
  assert.ok(c);
  assert.equal(c.evidence.above, 1);
  assert.equal(c.evidence.below, 1);
  assert.equal(c.evidence.worst, 22);
  assert.equal(c.severity, 'major'); // half the readings
  const impossible = detectOutOfRange([3, 4, 5, 4, 4], 1, 'pressure', END, range);
  assert.ok(impossible);
  assert.equal(impossible.evidence.impossible, 1);
  assert.equal(impossible.severity, 'minor');
});

test('gaps: a closed hole is a gap while recent; an open one is a silent node', () => {
  const holeFrom = END - 90 * MINUTE_MS;
  const holeTo = END - 50 * MINUTE_MS;
  const s = seriesOf(T0, END, (t) => (t >= holeFrom && t < holeTo ? null : 5));
  const c = detectGaps([s], END - MINUTE_MS, END, inlet.gaps);
  assert.equal(c.length, 1);
  assert.equal(c[0]!.type, 'gap');
  assert.equal(c[0]!.evidence.gapMinutes, 40);
  assert.equal(c[0]!.sinceMs, holeFrom);
  assert.deepEqual(detectGaps([s], null, END + 2 * HOUR_MS, inlet.gaps), [], 'an old gap clears');
  const short = seriesOf(T0, END, (t) => (t >= holeFrom && t < holeFrom + 15 * MINUTE_MS ? null : 5));
  assert.deepEqual(detectGaps([short], END - MINUTE_MS, END, inlet.gaps), [], '15 minutes is not a gap');

  const lastMs = END - 3 * HOUR_MS;
  const silent = seriesOf(T0, END, (t) => (t < lastMs ? 5 : null));
  const s2 = detectGaps([silent], lastMs - MINUTE_MS, END, inlet.gaps);
  assert.deepEqual(
    s2.map((x) => x.type),
    ['silent'],
  );
  assert.equal(s2[0]!.severity, 'major');
  assert.equal(detectGaps([silent], lastMs, lastMs + 7 * HOUR_MS, inlet.gaps)[0]!.severity, 'critical');
});

test('gaps: a metric that still reports keeps the node from having a gap', () => {
  const holeFrom = END - 2 * HOUR_MS;
  const flow = seriesOf(T0, END, (t) => (t >= holeFrom && t < END - HOUR_MS ? null : 5));
  const pressure = seriesOf(T0, END, () => 4);
  assert.deepEqual(detectGaps([flow, pressure], END - MINUTE_MS, END, inlet.gaps), []);
});

test('gaps: an hourly meter is judged on its missed readings, not on minutes', () => {
  const hourly = (hole: (t: number) => boolean) =>
    seriesOf(T0, END + 6 * HOUR_MS, (t) => (hole(t) ? null : 5), HOUR_MS);
  const regular = hourly(() => false);
  assert.equal(reportingIntervalMinutes([regular], [], END), 60);
  // A cycle every 30 minutes sees up to an hour since the last reading: never silent, never a gap.
  for (let now = END - 6 * HOUR_MS; now <= END + 6 * HOUR_MS; now += 30 * MINUTE_MS) {
    const last = Math.floor((now - 1) / HOUR_MS) * HOUR_MS;
    assert.deepEqual(detectGaps([regular], last, now, inlet.gaps), [], new Date(now).toISOString());
  }
  // One missed reading is not worth an operator's time; two in a row is a gap once data resumes.
  const one = hourly((t) => t === END - 3 * HOUR_MS);
  assert.deepEqual(detectGaps([one], END - HOUR_MS, END, inlet.gaps), []);
  const two = hourly((t) => t === END - 3 * HOUR_MS || t === END - 2 * HOUR_MS);
  const gap = detectGaps([two], END - HOUR_MS, END, inlet.gaps);
  assert.deepEqual(
    gap.map((c) => [c.type, c.evidence.gapMinutes, c.evidence.reportingIntervalMinutes]),
    [['gap', 175, 60]],
  );
  // Silence: two readings missed up to now.
  const last = END - 3 * HOUR_MS;
  const stopped = hourly((t) => t > last);
  assert.deepEqual(detectGaps([stopped], last, last + 2 * HOUR_MS, inlet.gaps), [], 'one reading late');
  const silent = detectGaps([stopped], last, last + 2.5 * HOUR_MS, inlet.gaps);
  assert.deepEqual(
    silent.map((c) => [c.type, c.severity, c.evidence.silentMinutes]),
    [['silent', 'major', 150]],
  );
  // A 1-minute node keeps the minute thresholds.
  const minute = seriesOf(T0, END, () => 5);
  assert.equal(reportingIntervalMinutes([minute], [], END), 5);
  assert.equal(detectGaps([minute], END - 61 * MINUTE_MS, END, inlet.gaps)[0]?.type, 'silent');
});

test('negative flow: sustained below zero on a one-way meter', () => {
  const negFrom = END - 20 * MINUTE_MS;
  const s = seriesOf(T0, END, (t) => (t >= negFrom ? -3 - 0.1 * noise() : 3));
  const c = detectNegativeFlow(s, END, inlet.negativeFlow!);
  assert.ok(c);
  assert.equal(c.evidence.minutesNegative, 20);
  assert.equal(
    detectNegativeFlow(s, END - 15 * MINUTE_MS, inlet.negativeFlow!),
    null,
    'five minutes are not enough',
  );
  const drift = seriesOf(T0, END, () => -0.05);
  assert.equal(detectNegativeFlow(drift, END, inlet.negativeFlow!), null, 'zero drift within tolerance');
  assert.equal(DEFAULT_ANOMALY_CONFIG.kinds.tank.negativeFlow, null, 'tanks fill and draw: bidirectional');
});
