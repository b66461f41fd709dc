import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seriesOf } from './fixtures.ts';
import { HOUR_MS, MINUTE_MS } from './series.ts';
import { detectWaterQuality } from './water-quality.ts';

const T0 = Date.UTC(2024, 3, 1);
const NOW = T0 + 2 * HOUR_MS;
const constant = (v: number) => seriesOf(T0, NOW, () => v);

test('chlorine: low is major, no residual critical, high is major', () => {
  assert.equal(detectWaterQuality(constant(0.5), 'chlorine', NOW), null);
  const low = detectWaterQuality(constant(0.15), 'chlorine', NOW);
  assert.equal(low?.severity, 'major');
  assert.equal(low?.evidence.direction, 'low');
  assert.equal(low?.evidence.limit, 0.2);
  assert.equal(detectWaterQuality(constant(0.02), 'chlorine', NOW)?.severity, 'critical');
  assert.equal(detectWaterQuality(constant(4.4), 'chlorine', NOW)?.severity, 'major');
});

test('turbidity over 1 NTU is major, over 4 critical', () => {
  assert.equal(detectWaterQuality(constant(0.4), 'turbidity', NOW), null);
  assert.equal(detectWaterQuality(constant(1.8), 'turbidity', NOW)?.severity, 'major');
  assert.equal(detectWaterQuality(constant(6), 'turbidity', NOW)?.severity, 'critical');
});

test('pH outside 6.5–9.5', () => {
  assert.equal(detectWaterQuality(constant(7.4), 'ph', NOW), null);
  assert.equal(detectWaterQuality(constant(6.2), 'ph', NOW)?.evidence.direction, 'low');
  assert.equal(detectWaterQuality(constant(9.8), 'ph', NOW)?.severity, 'major');
});

test('one odd reading does not move a 15-minute mean over the limit', () => {
  const s = seriesOf(T0, NOW, (t) => (t === NOW - 5 * MINUTE_MS ? 9 : 0.3));
  assert.equal(detectWaterQuality(s, 'turbidity', NOW), null);
  assert.equal(detectWaterQuality(constant(0.3), 'flow', NOW), null, 'no limits for flow');
});
