import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, seededRandom } from '../domain/random.ts';
import { detectBurst, detectDistrictBurst } from './burst.ts';
import { demandShape, seriesOf } from './fixtures.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS } from './series.ts';
import type { MetricHistory } from './types.ts';

const T0 = Date.UTC(2024, 0, 1);
const END = T0 + 5 * WEEK_MS;
const BURST = END - 2 * DAY_MS + 7 * HOUR_MS + 10 * MINUTE_MS; // in the morning ramp, the hardest time

interface Scenario {
  burstLps?: number;
  pressureDrop?: boolean;
}

/** An inlet: flow with a daily shape, pressure falling with the head loss of that flow, both noisy. */
function inlet({ burstLps = 0, pressureDrop = true }: Scenario = {}) {
  const noise = gaussian(seededRandom(21));
  const extra = (t: number) => (t >= BURST && t < BURST + 6 * HOUR_MS ? burstLps : 0);
  const flowAt = (t: number) => 20 * demandShape(t) + extra(t);
  const flow = seriesOf(T0, END, (t) => flowAt(t) + 0.4 * noise());
  const pressure = seriesOf(T0, END, (t) => {
    const q = pressureDrop ? flowAt(t) : flowAt(t) - extra(t);
    return 5 - 0.0004 * q * q + 0.01 * noise();
  });
  const h = (s: typeof flow): MetricHistory => ({ fiveMinute: s });
  return { flow: h(flow), pressure: h(pressure) };
}

const cycles = (from: number, to: number) => {
  const out: number[] = [];
  for (let t = from; t <= to; t += 30 * MINUTE_MS) out.push(t);
  return out;
};

test('stays quiet through a week of daily ramps', () => {
  const { flow, pressure } = inlet();
  for (const nowMs of cycles(END - WEEK_MS, END)) {
    assert.equal(
      detectBurst({ nodeId: 'i', flow, pressure, timezone: 'UTC', nowMs }),
      null,
      new Date(nowMs).toISOString(),
    );
  }
});

test('catches a flow step with a pressure drop in the cycle it happens, while it lasts', () => {
  const { flow, pressure } = inlet({ burstLps: 8 });
  const firstCycle = Math.ceil((BURST + 15 * MINUTE_MS) / (30 * MINUTE_MS)) * 30 * MINUTE_MS;
  assert.equal(detectBurst({ nodeId: 'i', flow, pressure, timezone: 'UTC', nowMs: BURST }), null);
  const c = detectBurst({ nodeId: 'i', flow, pressure, timezone: 'UTC', nowMs: firstCycle });
  assert.ok(c, 'detected in the first cycle with 15 minutes after the step');
  assert.equal(c.type, 'burst');
  assert.equal(c.sinceMs, BURST - (BURST % (5 * MINUTE_MS)));
  assert.ok(Math.abs((c.evidence.stepLps as number) - 8) < 1.5);
  assert.ok((c.evidence.pressureDropBar as number) > 0.05);
  for (const nowMs of cycles(firstCycle, BURST + 5 * HOUR_MS)) {
    assert.ok(
      detectBurst({ nodeId: 'i', flow, pressure, timezone: 'UTC', nowMs }),
      'holds while the burst lasts',
    );
  }
  const after = BURST + 6 * HOUR_MS + HOUR_MS;
  assert.equal(detectBurst({ nodeId: 'i', flow, pressure, timezone: 'UTC', nowMs: after }), null, 'clears');
});

test('a flow step without a pressure drop is not a burst', () => {
  const { flow, pressure } = inlet({ burstLps: 8, pressureDrop: false });
  for (const nowMs of cycles(BURST, BURST + 3 * HOUR_MS)) {
    assert.equal(detectBurst({ nodeId: 'i', flow, pressure, timezone: 'UTC', nowMs }), null);
  }
});

test('district variant: inlet flow step, pressure drop at a pressure point', () => {
  const { flow } = inlet({ burstLps: 8 });
  const { pressure: calm } = inlet({ burstLps: 8, pressureDrop: false });
  const { pressure: dropping } = inlet({ burstLps: 8 });
  const nowMs = BURST + 50 * MINUTE_MS;
  const district = {
    districtId: 'd1',
    timezone: 'UTC',
    nowMs,
    inlets: [{ nodeId: 'inlet', flow }],
    pressurePoints: [
      { nodeId: 'p-calm', pressure: calm },
      { nodeId: 'p-near', pressure: dropping },
    ],
  };
  const c = detectDistrictBurst(district);
  assert.ok(c);
  assert.equal(c.nodeId, 'p-near');
  assert.equal(
    detectDistrictBurst({ ...district, pressurePoints: [{ nodeId: 'p-calm', pressure: calm }] }),
    null,
  );
});

test('district variant: a pump switching on behind the inlets (an outlet) is not a burst', () => {
  // Both inlets step up by 8 L/s and pressure drops at the suction side, but all of it leaves through the
  // metered outlet (a pump filling a tank): the net inflow does not move.
  const a = inlet({ burstLps: 8 });
  const b = inlet({ burstLps: 8 });
  const noise = gaussian(seededRandom(5));
  const pump = seriesOf(T0, END, (t) => (t >= BURST && t < BURST + 6 * HOUR_MS ? 16 : 0) + 0.1 * noise());
  const nowMs = BURST + 50 * MINUTE_MS;
  const district = {
    districtId: 'd1',
    timezone: 'UTC',
    nowMs,
    inlets: [
      { nodeId: 'in-a', flow: a.flow },
      { nodeId: 'in-b', flow: b.flow },
    ],
    pressurePoints: [{ nodeId: 'suction', pressure: a.pressure }],
  };
  assert.ok(detectDistrictBurst(district), 'without the outlet it looks like a burst');
  const outlets = [{ nodeId: 'pump', flow: { fiveMinute: pump } }];
  assert.equal(detectDistrictBurst({ ...district, outlets }), null);
});
