/**
 * The detectors against the simulator's ground truth on small fixed-seed networks. The floors sit a little
 * under what these scenarios reach (`npm run eval:anomalies` prints the full table on a larger network).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSimulatedScenario } from './scenario.ts';

const START = Date.UTC(2024, 0, 7, 23); // Monday 8 January 2024, local time

const FLOORS: Record<string, number> = {
  burst: 0.8,
  flatline: 0.9,
  gap: 0.9,
  silent: 0.9,
  spike: 0.9,
  outOfRange: 0.9,
  negativeFlow: 0.9,
  lowChlorine: 0.9,
  highTurbidity: 0.9,
};

test('bursts, sensor faults and quality events: F1 per type holds its floor', () => {
  // Two districts, three weeks of warm-up, two evaluated; event rates raised so two weeks hold enough of each.
  const r = runSimulatedScenario({
    seed: 7,
    nodes: 24,
    startMs: START,
    warmupWeeks: 3,
    weeks: 2,
    eventRates: {
      leak: 0.5,
      burst: 2,
      flatline: 0.5,
      gap: 0.5,
      silent: 0.2,
      spike: 0.5,
      outOfRange: 0.4,
      negativeFlow: 0.5,
      lowChlorine: 1,
      highTurbidity: 1,
    },
  });
  assert.equal(r.districtCount, 2);
  for (const t of r.types.filter((t) => t.type in FLOORS)) {
    assert.ok(t.events >= 2, `${t.type}: only ${t.events} events, the floor would mean nothing`);
    assert.ok(t.f1 >= FLOORS[t.type]!, `${t.type}: F1 ${t.f1.toFixed(2)} < ${FLOORS[t.type]}`);
  }
  const burst = r.types.find((t) => t.type === 'burst')!;
  assert.ok(burst.medianDelayMs <= 60 * 60_000, 'bursts are seen within the hour');
});

test('incipient leaks by minimum night flow: F1 holds its floor', () => {
  // Leaks need nights: four districts over seven weeks, only their inlet and outlet meters replayed.
  const r = runSimulatedScenario({
    seed: 3,
    nodes: 48,
    startMs: START,
    warmupWeeks: 4,
    weeks: 3,
    kinds: ['inlet', 'outlet'],
  });
  const leak = r.types.find((t) => t.type === 'leak')!;
  assert.ok(leak.events >= 5, `only ${leak.events} leaks`);
  assert.ok(leak.f1 >= 0.8, `leak F1 ${leak.f1.toFixed(2)}`);
  assert.ok(leak.medianDelayMs <= 6 * 86_400_000, 'seen within days');
});
