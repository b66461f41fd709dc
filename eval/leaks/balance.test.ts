/**
 * Area C's water balance (balance.ts, through shared/anomaly/water-balance.ts) on a tank-fed area built by hand: a pump filling a tank on and off,
 * customers drawing from it, every customer metered — the balance is the leak, and its CUSUM rises
 * only once a leak runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, seededRandom } from '../../shared/domain/random.ts';
import { areaCBalance, areaCBalanceInput, balanceCusum, DEFAULT_BALANCE } from './balance.ts';
import { type GeneratedReadings, type SensorSeries, STEP_MS, tankVolume } from './generate.ts';

const HOUR_MS = 3_600_000;
const DAYS = 28;
const START = Date.UTC(2018, 0, 1);
const LEAK_FROM = START + 24 * 86_400_000;

/** A pump (24 L/s, on while the tank is below 3 m, off above 4 m), 20 customers, a leak of `leakLps` from day 24. */
function tankFedArea(leakLps: number): GeneratedReadings {
  const steps = (DAYS * 86_400_000) / STEP_MS;
  const z = gaussian(seededRandom(3));
  const pump = new Float32Array(steps);
  const level = new Float32Array(steps);
  const amrs = Array.from({ length: 20 }, () => new Float32Array(steps));
  const area = Math.PI * 8 * 8; // m² (16 m across, as tankVolume assumes)
  let h = 3.5;
  let on = false;
  for (let i = 0; i < steps; i++) {
    const hour = ((i * STEP_MS) % 86_400_000) / HOUR_MS;
    const demand = 0.4 + 0.3 * Math.sin((Math.PI * (hour - 6)) / 12); // L/s per customer
    const leak = START + i * STEP_MS >= LEAK_FROM ? leakLps : 0;
    if (h < 3) on = true;
    if (h > 4) on = false;
    const q = on ? 24 : 0;
    pump[i] = q === 0 ? 0 : q * (1 + 0.005 * z()) + 0.03 * z();
    for (const a of amrs) a[i] = Math.max(0, demand * (1 + 0.01 * z()));
    h += (((q - 20 * demand - leak) / 1000) * (STEP_MS / 1000)) / area;
    level[i] = h + 0.005 * z();
  }
  const series = (id: string, kind: SensorSeries['kind'], area: string, values: Float32Array) => ({
    id,
    kind,
    area,
    values,
  });
  return {
    startMs: START,
    steps,
    sensors: [
      series('PUMP_1', 'flow', 'A', pump),
      series('T1', 'level', 'A', level),
      ...amrs.map((v, k) => series(`n${k}`, 'amr', 'C', v)),
    ],
    meanInflowLps: 0,
    leakOutflowLps: {},
    leakSeries: {},
    leakArea: {},
  };
}

test('the balance of a tank-fed area is its leak: near zero before, the leak after', () => {
  const b = areaCBalance(tankFedArea(0.5));
  assert.equal(tankVolume(1), Math.PI * 64);
  const mean = (fromH: number, toH: number) => {
    let s = 0;
    for (let i = fromH; i < toH; i++) s += b.values[i]!;
    return s / (toH - fromH);
  };
  const leakHour = (LEAK_FROM - START) / HOUR_MS;
  assert.ok(Math.abs(mean(24, leakHour)) < 0.05, `before the leak ${mean(24, leakHour)} L/s`);
  assert.ok(
    Math.abs(mean(leakHour + 1, DAYS * 24 - 1) - 0.5) < 0.05,
    `with the leak ${mean(leakHour + 1, DAYS * 24 - 1)} L/s`,
  );
});

test('its CUSUM stays low without a leak and crosses the level within a day of a 0.5 L/s leak', () => {
  const cfg = DEFAULT_BALANCE;
  const quiet = areaCBalanceInput(tankFedArea(0));
  const leaky = areaCBalanceInput(tankFedArea(0.5));
  let quietMax = 0;
  let caught: number | null = null;
  for (let t = START + 22 * 86_400_000; t <= START + DAYS * 86_400_000; t += HOUR_MS) {
    quietMax = Math.max(quietMax, balanceCusum(quiet, t, cfg)?.cusum ?? 0);
    if (caught === null && (balanceCusum(leaky, t, cfg)?.cusum ?? 0) >= cfg.threshold) caught = t;
  }
  assert.ok(quietMax < cfg.threshold, `leak-free CUSUM reached ${quietMax}`);
  assert.ok(caught !== null && caught >= LEAK_FROM, `caught at ${caught}`);
  assert.ok(caught - LEAK_FROM <= 24 * HOUR_MS, `after ${(caught - LEAK_FROM) / HOUR_MS} h`);
});
