import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, seededRandom } from '../domain/random.ts';
import { DEFAULT_ANOMALY_CONFIG } from './config.ts';
import { detectDistrictConditions } from './detect.ts';
import { demandShape } from './fixtures.ts';
import { DAY_MS, emptySeries, HOUR_MS } from './series.ts';
import type { BucketSeries } from './types.ts';
import {
  DEFAULT_WATER_BALANCE,
  detectWaterBalanceLeak,
  detectWaterBalanceStepUp,
  hourlyWaterBalance,
  type WaterBalanceInput,
  waterBalanceCusum,
} from './water-balance.ts';

const START = Date.UTC(2024, 0, 1);
const DAYS = 35;
const STEP_MS = 60_000;
const LEAK_FROM = START + 28 * DAY_MS + 5 * HOUR_MS;

/**
 * A district fed by another district's pump through a tank (as L-Town's C): the pump (30 L/s) runs while the
 * tank is below 3 m and stops above 4 m — it switches within hours —, 20 metered customers draw a daily
 * pattern with 1 % meter noise, the tank's level reads 5 mm of noise, and `leakLps` leaks from LEAK_FROM.
 * Simulated by the minute, read every 5 minutes, laid out as the hourly partials the rollup reads.
 */
function tankFed(
  leakLps: number | ((t: number) => number),
  seed = 1,
  days = DAYS,
  second: { fromMs: number; lps: number } | null = null,
): WaterBalanceInput {
  const z = gaussian(seededRandom(seed));
  const hours = days * 24;
  const per = HOUR_MS / STEP_MS;
  const pump = emptySeries(START, HOUR_MS, hours);
  const tank = emptySeries(START, HOUR_MS, hours);
  const customers = Array.from({ length: 20 }, () => emptySeries(START, HOUR_MS, hours));
  const area = Math.PI * 8 * 8; // m²
  let level = 3.5;
  let on = false;
  // Flow meters report 5-minute means (their totalisers' difference), the tank's level an instant reading.
  let pumped = 0;
  let used = 0;
  for (let i = 0; i < hours * per; i++) {
    const t = START + i * STEP_MS;
    const h = Math.floor(i / per);
    const demand = 0.6 * demandShape(t); // L/s per customer
    const first = typeof leakLps === 'number' ? leakLps : leakLps(t);
    const leak = (t >= LEAK_FROM ? first : 0) + (second && t >= second.fromMs ? second.lps : 0);
    if (level < 3) on = true;
    if (level > 4) on = false;
    const q = on ? 30 : 0;
    level += (((q - 20 * demand - leak) / 1000) * (STEP_MS / 1000)) / area;
    pumped += q / 5;
    used += demand / 5;
    if (i % 5 === 4) {
      const add = (s: BucketSeries, v: number) => {
        if (s.count[h] === 0) s.first[h] = v;
        s.count[h]! += 1;
        s.sum[h]! += v;
        s.last[h] = v;
      };
      add(pump, pumped === 0 ? 0.03 * z() : pumped * (1 + 0.005 * z()));
      add(tank, area * (level + 0.005 * z()));
      for (const c of customers) add(c, used * (1 + 0.01 * z()));
      pumped = 0;
      used = 0;
    }
  }
  return { supply: [pump], outflow: [], tanks: [tank], customers, nodeId: 'PUMP' };
}

test('the balance of a tank-fed district is its leak, whatever the pump does within the hours', () => {
  const b = tankFed(0.5);
  const hours = Array.from({ length: DAYS * 24 }, (_, h) => START + h * HOUR_MS);
  const values = hourlyWaterBalance(b, hours);
  const mean = (from: number, to: number) => {
    let s = 0;
    let n = 0;
    for (let h = 0; h < hours.length; h++) {
      if (hours[h]! >= from && hours[h]! < to && Number.isFinite(values[h]!)) {
        s += values[h]!;
        n++;
      }
    }
    return s / n;
  };
  const before = mean(START + DAY_MS, LEAK_FROM - HOUR_MS);
  const after = mean(LEAK_FROM + 2 * HOUR_MS, START + DAYS * DAY_MS - HOUR_MS);
  assert.ok(Math.abs(before) < 0.05, `before the leak ${before} L/s`);
  assert.ok(Math.abs(after - 0.5) < 0.05, `with the leak ${after} L/s`);
  // Without the tank's storage the balance is the pump's on/off cycle, not a level: the term is needed.
  const noTank = hourlyWaterBalance({ ...b, tanks: [] }, hours);
  const spread = (v: Float64Array) => {
    const xs = [...v].filter(Number.isFinite);
    const m = xs.reduce((a, x) => a + x, 0) / xs.length;
    return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length);
  };
  assert.ok(spread(noTank) > 5 * spread(values), `${spread(noTank)} vs ${spread(values)}`);
});

test('its CUSUM stays below the level without a leak and catches a 0.5 L/s leak within a day', () => {
  const cfg = DEFAULT_WATER_BALANCE;
  for (const seed of [1, 2, 3]) {
    const quiet = tankFed(0, seed);
    let max = 0;
    for (let t = START + 22 * DAY_MS; t <= START + DAYS * DAY_MS; t += HOUR_MS) {
      max = Math.max(max, waterBalanceCusum(quiet, t, cfg)?.cusum ?? 0);
    }
    assert.ok(max < cfg.threshold, `seed ${seed}: leak-free CUSUM reached ${max}`);
  }
  const leaky = tankFed(0.5);
  let caught: { t: number; sinceMs: number } | null = null;
  for (let t = START + 22 * DAY_MS; t <= START + DAYS * DAY_MS && !caught; t += HOUR_MS) {
    const c = detectWaterBalanceLeak(leaky, t, cfg);
    if (c) caught = { t, sinceMs: c.sinceMs! };
  }
  assert.ok(caught, 'the leak was never caught');
  assert.ok(caught.t - LEAK_FROM <= DAY_MS, `after ${(caught.t - LEAK_FROM) / HOUR_MS} h`);
  assert.ok(
    Math.abs(caught.sinceMs - LEAK_FROM) <= 12 * HOUR_MS,
    `starts ${(caught.sinceMs - LEAK_FROM) / HOUR_MS} h after the leak`,
  );
});

test('an open anomaly freezes the reference: the leak stays visible once the lagged reference holds it', () => {
  const leaky = tankFed(0.5);
  const cfg = { ...DEFAULT_WATER_BALANCE, referenceHours: 4 * 24, lagHours: 2 * 24, minReferenceHours: 48 };
  const late = LEAK_FROM + 6 * DAY_MS + 12 * HOUR_MS;
  // Six days on, the ordinary reference (4 days ending 2 days back) is all leak: nothing to see.
  assert.equal(detectWaterBalanceLeak(leaky, late, cfg), null);
  const frozen = detectWaterBalanceLeak(leaky, late, cfg, LEAK_FROM);
  assert.ok(frozen, 'the frozen reference still sees the leak');
  assert.equal(frozen.type, 'water_balance');
  assert.equal(frozen.nodeId, 'PUMP');
  assert.ok(
    Math.abs((frozen.evidence.lastDayRiseLps as number) - 0.5) < 0.1,
    JSON.stringify(frozen.evidence),
  );
});

test('the district detectors run it where customers are metered, and not without them', () => {
  const leaky = tankFed(2);
  const nowMs = LEAK_FROM + DAY_MS;
  const base = { districtId: 'C', timezone: 'UTC', nowMs, inlets: [], pressurePoints: [] };
  const found = detectDistrictConditions({ ...base, waterBalance: leaky }, DEFAULT_ANOMALY_CONFIG);
  assert.deepEqual(
    found.map((c) => c.type),
    ['water_balance'],
  );
  assert.equal(waterBalanceCusum({ ...leaky, customers: [] }, nowMs), null);
  // Two sample meters of twenty customers: the balance would be the demand, not a level. Not judged.
  assert.ok((waterBalanceCusum(leaky, nowMs)?.meteredShare ?? 0) > 0.9);
  assert.equal(waterBalanceCusum({ ...leaky, customers: leaky.customers.slice(0, 2) }, nowMs), null);
  assert.deepEqual(
    detectDistrictConditions(
      { ...base, waterBalance: leaky },
      { ...DEFAULT_ANOMALY_CONFIG, district: { ...DEFAULT_ANOMALY_CONFIG.district, waterBalance: null } },
    ),
    [],
  );
});

test("a second leak while the first one's anomaly is open steps the balance up again; a steady first leak does not", () => {
  const secondFrom = LEAK_FROM + 26 * DAY_MS;
  const days = 28 + 26 + 4;
  const two = tankFed(0.5, 1, days, { fromMs: secondFrom, lps: 0.5 });
  const first = detectWaterBalanceLeak(two, LEAK_FROM + DAY_MS);
  assert.ok(first, 'the first leak is caught');
  const openSince = first.sinceMs!;
  // The frozen reference keeps the first anomaly alive throughout; it cannot tell a second leak.
  assert.ok(detectWaterBalanceLeak(two, secondFrom + 2 * DAY_MS, DEFAULT_WATER_BALANCE, openSince));
  // Within three weeks of the first, the ordinary reference still holds leak-free days: no step-up yet.
  assert.equal(detectWaterBalanceStepUp(two, LEAK_FROM + 20 * DAY_MS, openSince), null);
  // After that, nothing while only the first leak runs …
  for (let t = openSince + 22 * DAY_MS; t < secondFrom; t += 6 * HOUR_MS) {
    assert.equal(detectWaterBalanceStepUp(two, t, openSince), null, new Date(t).toISOString());
  }
  // … and the second leak within a day.
  let stepped: number | null = null;
  for (let t = secondFrom; t <= secondFrom + 2 * DAY_MS && stepped === null; t += HOUR_MS) {
    const c = detectWaterBalanceStepUp(two, t, openSince);
    if (c) {
      assert.equal(c.evidence.stepUp, true);
      stepped = t;
    }
  }
  assert.ok(stepped !== null && stepped - secondFrom <= DAY_MS, `stepped up at ${stepped}`);
});

test('a frozen reference older than the recent series is read apart: the rollup passes it on its own', () => {
  const leaky = tankFed(0.5);
  const cfg = DEFAULT_WATER_BALANCE;
  const nowMs = START + DAYS * DAY_MS;
  // The recent hours only (what the rollup reads every time: here the last 8 days).
  const from = nowMs - 8 * DAY_MS;
  const cut = (s: BucketSeries): BucketSeries => {
    const i = (from - s.startMs) / s.stepMs;
    const part = (a: Float64Array) => a.slice(i);
    return {
      startMs: from,
      stepMs: s.stepMs,
      length: s.length - i,
      count: part(s.count),
      sum: part(s.sum),
      sumSq: part(s.sumSq),
      min: part(s.min),
      max: part(s.max),
      first: part(s.first),
      last: part(s.last),
    };
  };
  const recent = {
    ...leaky,
    supply: leaky.supply.map(cut),
    tanks: leaky.tanks.map(cut),
    customers: leaky.customers.map(cut),
  };
  // Frozen before the leak, the recent series alone hold no reference: nothing can be judged …
  assert.equal(waterBalanceCusum(recent, nowMs, cfg, LEAK_FROM), null);
  // … with the reference window passed apart, the leak still holds.
  const found = detectWaterBalanceLeak(recent, nowMs, cfg, LEAK_FROM, leaky);
  assert.ok(found, 'the leak holds against the frozen reference');
  assert.ok(Math.abs((found.evidence.lastDayRiseLps as number) - 0.5) < 0.1, JSON.stringify(found.evidence));
});

test('a leak that keeps growing is not a second leak; a second leak on top of a growing one is', () => {
  // Incipient: 0.2 L/s at its start, growing by 0.03 L/s a day for 30 days, then level (as BattLeDIM's).
  const growing = (t: number) => 0.2 + 0.03 * Math.min(30, (t - LEAK_FROM) / DAY_MS);
  const days = 28 + 45;
  const one = tankFed(growing, 2, days);
  const first = detectWaterBalanceLeak(one, LEAK_FROM + 2 * DAY_MS);
  assert.ok(first, 'the first leak is caught');
  const openSince = first.sinceMs!;
  const end = START + days * DAY_MS;
  // Against a plain level the growth steps up (what announced BattLeDIM's p257 again, 21 days on) …
  let plain = 0;
  for (let t = openSince + 21 * DAY_MS; t < end; t += 6 * HOUR_MS) {
    plain = Math.max(plain, waterBalanceCusum(one, t)?.cusum ?? 0);
  }
  assert.ok(plain >= DEFAULT_WATER_BALANCE.threshold, `plain level's CUSUM ${plain}`);
  // … carried on at the reference's own rise, it does not, growing or levelled off.
  for (let t = openSince + 21 * DAY_MS; t < end; t += 6 * HOUR_MS) {
    assert.equal(detectWaterBalanceStepUp(one, t, openSince), null, new Date(t).toISOString());
  }
  // A second leak of 0.5 L/s while the first still grows: a step beyond the rise, caught within two days.
  const secondFrom = LEAK_FROM + 25 * DAY_MS;
  const two = tankFed(growing, 2, days, { fromMs: secondFrom, lps: 0.5 });
  let stepped: number | null = null;
  for (let t = secondFrom; t <= secondFrom + 3 * DAY_MS && stepped === null; t += HOUR_MS) {
    if (detectWaterBalanceStepUp(two, t, openSince)) stepped = t;
  }
  assert.ok(stepped !== null && stepped - secondFrom <= 2 * DAY_MS, `stepped up at ${stepped}`);
});
