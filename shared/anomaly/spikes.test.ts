import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, seededRandom } from '../domain/random.ts';
import { demandShape, readingsOf, seriesOf } from './fixtures.ts';
import { valuesOf } from './sensor-faults.ts';
import { HOUR_MS, MINUTE_MS } from './series.ts';
import { DEFAULT_SPIKES, detectSpikes } from './spikes.ts';

const T0 = Date.UTC(2024, 3, 1);
const NOW = T0 + 12 * HOUR_MS;
const FROM = NOW - 30 * MINUTE_MS;

function scenario(fn: (t: number) => number) {
  const history = seriesOf(T0, FROM, fn);
  const cycle = valuesOf(readingsOf('n', 'flow', FROM, NOW, fn), 'flow');
  return { history, cycle };
}

test('a single wild value is a spike, with its evidence', () => {
  const noise = gaussian(seededRandom(2));
  const spikeAt = FROM + 12 * MINUTE_MS;
  const { history, cycle } = scenario((t) => (t === spikeAt ? 95 : 10 * demandShape(t) + 0.2 * noise()));
  const c = detectSpikes(cycle, history, 'flow', FROM, NOW);
  assert.ok(c);
  assert.equal(c.type, 'spike');
  assert.equal(c.evidence.atMs, spikeAt);
  assert.equal(c.evidence.value, 95);
  assert.equal(c.evidence.spikes, 1);
  assert.equal(c.severity, 'warning');
});

test('a step is not a spike', () => {
  const noise = gaussian(seededRandom(3));
  const stepAt = FROM + 12 * MINUTE_MS;
  const { history, cycle } = scenario((t) => (t >= stepAt ? 30 : 10) + 0.2 * noise());
  assert.equal(detectSpikes(cycle, history, 'flow', FROM, NOW), null);
});

test('stays quiet on noisy seasonal data, cycle after cycle', () => {
  const noise = gaussian(seededRandom(4));
  const fn = (t: number) => 10 * demandShape(t) + 0.3 * noise();
  const values = new Map<number, number>();
  const memo = (t: number) => {
    if (!values.has(t)) values.set(t, fn(t));
    return values.get(t)!;
  };
  const history = seriesOf(T0, T0 + 48 * HOUR_MS, memo);
  for (let now = T0 + HOUR_MS; now <= T0 + 48 * HOUR_MS; now += 30 * MINUTE_MS) {
    const cycle = valuesOf(readingsOf('n', 'flow', now - 30 * MINUTE_MS, now, memo), 'flow');
    assert.equal(detectSpikes(cycle, history, 'flow', now - 30 * MINUTE_MS, now), null);
  }
});

test("the previous cycle's last reading is checked once its right-hand neighbours arrive", () => {
  const noise = gaussian(seededRandom(5));
  const spikeAt = FROM - MINUTE_MS; // the last reading of the previous cycle
  const { history, cycle } = scenario((t) => (t === spikeAt ? -40 : 10 + 0.2 * noise()));
  const c = detectSpikes(cycle, history, 'flow', FROM, NOW);
  assert.ok(c);
  assert.equal(c.evidence.value, -40);
});

test('a reading of zero where zero is real (a customer cut off, a pump off) is no spike', () => {
  const noise = gaussian(seededRandom(6));
  const zeroAt = FROM + 12 * MINUTE_MS;
  const { history, cycle } = scenario((t) => (t === zeroAt ? 0 : 1 + 0.002 * noise()));
  // Where a zero may be a fault, it is a spike (as before) ...
  assert.equal(detectSpikes(cycle, history, 'flow', FROM, NOW)?.evidence.value, 0);
  // ... not on a meter whose zero is real; a wild value there still is one.
  assert.equal(
    detectSpikes(cycle, history, 'flow', FROM, NOW, { ...DEFAULT_SPIKES, zeroIsReal: true }),
    null,
  );
  const wild = scenario((t) => (t === zeroAt ? 9 : 1 + 0.002 * noise()));
  assert.ok(
    detectSpikes(wild.cycle, wild.history, 'flow', FROM, NOW, { ...DEFAULT_SPIKES, zeroIsReal: true }),
  );
});
