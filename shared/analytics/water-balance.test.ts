import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { localToUtc } from '../domain/local-time.ts';
import type { DistrictInfo } from '../domain/readings.ts';
import { localPeriod } from './local-period.ts';
import { networkBalance } from './network-balance.ts';
import { districtBalance, prorateBilled } from './water-balance.ts';
import type { DistrictBalanceInput } from './water-balance-types.ts';

const TZ = 'Europe/Rome';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const close = (actual: number | null, expected: number, what = ''): void => {
  assert.ok(actual !== null, `${what} is null`);
  assert.ok(
    Math.abs(actual - expected) < 1e-9 * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} ≠ ${expected}`,
  );
};

const district = (id: string, over: Partial<DistrictInfo> = {}): DistrictInfo => ({
  id,
  tenantId: 't',
  name: id,
  timezone: TZ,
  mainsLengthKm: 20,
  connections: 1000,
  privatePipeKm: 5,
  avgPressureM: 40,
  ...over,
});

const day = localPeriod('day', '2024-05-15', TZ);
/** Rome is UTC+2 in May: local hour h of 2024-05-15 starts at day.start + h hours. */
const localHour = (h: number): number => day.start + h * HOUR;

/** A complete district: two inlets, one outlet, metered consumption, night flows and a measured NDF. */
const completeInput: DistrictBalanceInput = {
  district: district('A'),
  period: day,
  inlets: [
    { meterId: 'I1', m3: 1200, coverage: 1 },
    { meterId: 'I2', m3: 570, coverage: 0.95 },
  ],
  outlets: [{ meterId: 'O1', m3: 300, coverage: 1 }],
  consumption: { source: 'metered', m3: 1200, coverage: 1 },
  unbilledAuthorisedM3: 30,
  nightFlow: [
    { start: localHour(1), flowM3h: 5 }, // outside the 02–04 window: ignored even though lowest
    { start: localHour(2), flowM3h: 9 },
    { start: localHour(3), flowM3h: 8.7 },
    { start: localHour(4), flowM3h: 6 }, // outside the window
  ],
  ndfHours: 20,
};

/** The same infrastructure, no consumption data, NDF from a pressure profile. */
const noConsumptionInput: DistrictBalanceInput = {
  district: district('B'),
  period: day,
  inlets: [{ m3: 1000, coverage: 1 }],
  consumption: { source: 'unknown' },
  nightFlow: [
    { start: localHour(2), flowM3h: 7 },
    { start: localHour(3), flowM3h: 6.7 },
  ],
  // 50 m for hours 0–5, 45 m for hours 6–23.
  pressureProfileM: Array.from({ length: 24 }, (_, h) => (h < 6 ? 50 : 45)),
};

/** No mains length, private pipe length or pressure; billed volume over two days; no night flows. */
const noInfrastructureInput: DistrictBalanceInput = {
  district: district('C', { mainsLengthKm: null, privatePipeKm: null, avgPressureM: null, connections: 500 }),
  period: day,
  inlets: [{ m3: 800, coverage: 1 }],
  consumption: { source: 'billed', entries: [{ from: day.start - DAY, to: day.end, m3: 1200 }] },
};

describe('district balance', () => {
  test('a complete district', () => {
    const b = districtBalance(completeInput);
    // Inflow = 1200 + 570 / 0.95 = 1200 + 600 = 1800; SIV = 1800 − 300 (outlet) = 1500.
    close(b.inflowM3, 1800, 'inflow');
    close(b.outflowM3, 300, 'outflow');
    close(b.systemInputM3, 1500, 'SIV');
    // AC = 1200 billed metered + 30 unbilled = 1230; water losses = 1500 − 1230 = 270.
    close(b.authorisedConsumptionM3, 1230, 'AC');
    close(b.waterLossesM3, 270, 'losses');
    // NRW = 1500 − 1200 = 300 = 20 % of SIV = 300 000 L / 1000 conn / 1 day = 300 L/conn/day.
    close(b.nonRevenueWaterM3, 300, 'NRW');
    close(b.nrwPercent, 20, 'NRW %');
    close(b.nrwLPerConnDay, 300, 'NRW/conn/day');
    // MNF = min(9, 8.7) = 8.7 m³/h; legitimate = 1000 × 1.7 L/h = 1.7 m³/h; leak = 7 m³/h × 20 h = 140 m³.
    close(b.minNightFlowM3h, 8.7, 'MNF');
    close(b.legitimateNightUseM3h, 1.7, 'legit');
    close(b.nightLeakageM3h, 7, 'night leak');
    close(b.mnfLeakageM3, 140, 'MNF leakage');
    assert.equal(b.realLossesSource, 'mnf');
    // CARL = 140 000 L/day; UARL = (18·20 + 0.8·1000 + 25·5)·40 = 1285 · 40 = 51 400 L/day.
    close(b.carlLPerDay, 140_000, 'CARL');
    close(b.uarlLPerDay, 51_400, 'UARL');
    close(b.ili, 140_000 / 51_400, 'ILI');
    close(b.carlM3PerYear, 140 * 365, 'CARL/yr');
    close(b.uarlM3PerYear, 51.4 * 365, 'UARL/yr');
    assert.deepEqual(b.missing, []);
    assert.deepEqual(b.notComputed, []);
    // 0.95 coverage is above the 0.9 threshold, and the NDF was measured: nothing is estimated.
    assert.deepEqual(b.estimated, []);
  });

  test('a district without consumption data reports SIV and MNF leakage and says what is missing', () => {
    const b = districtBalance(noConsumptionInput);
    close(b.systemInputM3, 1000, 'SIV');
    assert.equal(b.authorisedConsumptionM3, null);
    assert.equal(b.waterLossesM3, null);
    assert.equal(b.nonRevenueWaterM3, null);
    assert.equal(b.nrwPercent, null);
    assert.equal(b.nrwLPerConnDay, null);
    assert.deepEqual(b.missing, ['authorisedConsumption']);
    assert.deepEqual(b.notComputed, [
      'authorisedConsumptionM3',
      'waterLossesM3',
      'nonRevenueWaterM3',
      'nrwPercent',
      'nrwLPerConnDay',
    ]);
    // NDF = 6 night-pressure hours × (50/50) + 18 × (45/50) = 6 + 16.2 = 22.2 h/day.
    assert.equal(b.ndfSource, 'pressure');
    close(b.ndfHours, 22.2, 'NDF');
    // Leak = (6.7 − 1.7) m³/h × 22.2 h = 111 m³; ILI = 111 000 / 51 400.
    close(b.mnfLeakageM3, 111, 'MNF leakage');
    close(b.ili, 111_000 / 51_400, 'ILI');
    for (const v of Object.values(b)) assert.ok(!Number.isNaN(v));
  });

  test('a district missing infrastructure data has no ILI', () => {
    const b = districtBalance(noInfrastructureInput);
    // Billed 1200 m³ over two days, one of them this one: 600 m³. NRW = 800 − 600 = 200 = 25 %.
    close(b.billedAuthorisedM3, 600, 'billed');
    close(b.nrwPercent, 25, 'NRW %');
    close(b.nrwLPerConnDay, 400, 'NRW/conn/day'); // 200 000 L / 500 conn
    assert.equal(b.uarlLPerDay, null);
    assert.equal(b.ili, null);
    assert.equal(b.mnfLeakageM3, null);
    assert.deepEqual(b.missing.sort(), ['avgPressureM', 'mainsLengthKm', 'nightFlow', 'privatePipeKm']);
    assert.ok(b.notComputed.includes('ili') && b.notComputed.includes('uarlLPerDay'));
  });

  test('without night flows, real losses come top-down when apparent losses are given', () => {
    assert.equal(districtBalance(noInfrastructureInput).realLossesM3, null);
    const b = districtBalance({ ...noInfrastructureInput, apparentLossesM3: 50 });
    // Water losses 800 − 600 = 200 m³; real = 200 − 50 apparent = 150 m³ = 150 000 L/day.
    assert.equal(b.realLossesSource, 'top-down');
    close(b.realLossesM3, 150, 'real losses');
    close(b.carlLPerDay, 150_000, 'CARL');
  });

  test('Lp is derived from an average service length only when one is given', () => {
    const input = {
      ...noInfrastructureInput,
      district: district('D', { privatePipeKm: null, connections: 500 }),
    };
    assert.ok(districtBalance(input).missing.includes('privatePipeKm'));
    const b = districtBalance(input, { avgServiceLengthM: 10 });
    // Lp = 500 × 10 m = 5 km; UARL = (18·20 + 0.8·500 + 25·5)·40 = 885 · 40 = 35 400 L/day.
    assert.ok(!b.missing.includes('privatePipeKm'));
    close(b.uarlLPerDay, 35_400, 'UARL');
  });

  test('a billed volume spanning two months is prorated by overlap', () => {
    const feb = localPeriod('month', '2024-02', TZ); // 29 days, no DST change
    const jan16 = localToUtc(2024, 1, 16, 0, 0, TZ);
    const feb16 = localToUtc(2024, 2, 16, 0, 0, TZ);
    const mar17 = localToUtc(2024, 3, 17, 0, 0, TZ);
    // 3100 m³ over Jan 16 – Feb 16 (31 days, 100 m³/day): Feb 1–16 is 15 days = 1500 m³.
    // 2400 m³ over Feb 16 – Mar 17 (30 days, 80 m³/day): Feb 16 – Mar 1 is 14 days = 1120 m³.
    const both = prorateBilled(
      [
        { from: jan16, to: feb16, m3: 3100 },
        { from: feb16, to: mar17, m3: 2400 },
      ],
      feb,
    );
    close(both.m3, 2620, 'both');
    close(both.coverage, 1, 'coverage');
    // With only the first bill, 15 of 29 days are covered: 1500 / (15/29) = 2900 m³, marked estimated.
    const b = districtBalance({
      ...noInfrastructureInput,
      period: feb,
      consumption: { source: 'billed', entries: [{ from: jan16, to: feb16, m3: 3100 }] },
    });
    close(b.billedAuthorisedM3, 2900, 'extrapolated');
    assert.ok(b.estimated.includes('authorisedConsumptionM3'));
    assert.ok(b.estimated.includes('nonRevenueWaterM3'));
  });

  test('an outlet meter is subtracted, and one without data blocks the system input volume', () => {
    const base = { ...noConsumptionInput, inlets: [{ m3: 1000, coverage: 1 }] };
    close(districtBalance({ ...base, outlets: [{ m3: 250, coverage: 1 }] }).systemInputM3, 750, 'SIV');
    const blind = districtBalance({ ...base, outlets: [{ m3: null, coverage: 0 }] });
    assert.equal(blind.systemInputM3, null);
    assert.ok(blind.missing.includes('outletVolume'));
  });

  test('low coverage marks figures estimated, too little coverage leaves them out', () => {
    // 720 m³ in 80 % of the day → 900 m³ for the day, estimated.
    const low = districtBalance({ ...noInfrastructureInput, inlets: [{ m3: 720, coverage: 0.8 }] });
    close(low.systemInputM3, 900, 'SIV');
    assert.deepEqual(low.estimated.sort(), [
      'nonRevenueWaterM3',
      'nrwLPerConnDay',
      'nrwPercent',
      'systemInputM3',
      'waterLossesM3',
    ]);
    const tooLow = districtBalance({ ...noInfrastructureInput, inlets: [{ m3: 300, coverage: 0.4 }] });
    assert.equal(tooLow.systemInputM3, null);
    assert.equal(tooLow.nrwPercent, null);
    assert.ok(tooLow.missing.includes('inletVolume'));
  });

  test('per-day figures use the real length of a DST day', () => {
    const spring = localPeriod('day', '2024-03-31', TZ);
    const b = districtBalance({
      district: district('E'),
      period: spring,
      inlets: [{ m3: 1000, coverage: 1 }],
      consumption: { source: 'metered', m3: 770, coverage: 1 },
    });
    // NRW = 230 m³ over 23/24 of a day for 1000 connections: 230 000 / (1000 × 23/24) = 240 L/conn/day.
    close(b.nrwLPerConnDay, 240, 'NRW/conn/day');
    // Without night flows or NDF: MNF leakage, real losses and ILI cannot be computed.
    assert.equal(b.ili, null);
    assert.ok(b.missing.includes('nightFlow'));
  });

  test('a night flow below the legitimate night use gives zero leakage, not a negative one', () => {
    const b = districtBalance({ ...completeInput, nightFlow: [{ start: localHour(3), flowM3h: 1.2 }] });
    close(b.nightLeakageM3h, 0, 'night leak');
    assert.equal(b.ili, 0);
    assert.ok(b.notes.some((n) => n.includes('below the assumed legitimate night use')));
  });
});

describe('network balance', () => {
  test('sums where meaningful and aggregates what is missing', () => {
    const n = networkBalance([
      districtBalance(completeInput),
      districtBalance(noConsumptionInput),
      districtBalance(noInfrastructureInput),
    ]);
    assert.equal(n.districts, 3);
    // SIV: 1500 + 1000 + 800.
    close(n.figures.systemInputM3, 3300, 'SIV');
    assert.equal(n.included.systemInputM3, 3);
    // AC only in A (1230) and C (600).
    close(n.figures.authorisedConsumptionM3, 1830, 'AC');
    assert.equal(n.included.authorisedConsumptionM3, 2);
    // NRW % over A and C: (300 + 200) / (1500 + 800) = 500 / 2300.
    close(n.figures.nrwPercent, (100 * 500) / 2300, 'NRW %');
    // NRW per connection over A and C: 500 000 L / (1000 + 500) conn / 1 day.
    close(n.figures.nrwLPerConnDay, 500_000 / 1500, 'NRW/conn/day');
    // ILI over A and B: (140 000 + 111 000) / (51 400 + 51 400).
    close(n.figures.ili, 251_000 / 102_800, 'ILI');
    assert.deepEqual(n.partial.sort(), [
      'authorisedConsumptionM3',
      'carlLPerDay',
      'ili',
      'mnfLeakageM3',
      'nonRevenueWaterM3',
      'nrwLPerConnDay',
      'nrwPercent',
      'realLossesM3',
      'uarlLPerDay',
      'waterLossesM3',
    ]);
    assert.deepEqual(n.missing.sort(), [
      'authorisedConsumption',
      'avgPressureM',
      'mainsLengthKm',
      'nightFlow',
      'privatePipeKm',
    ]);
    assert.deepEqual(Object.keys(n.missingByDistrict), ['B', 'C']);
  });

  test('refuses to add up different periods', () => {
    const other = districtBalance({ ...noInfrastructureInput, period: localPeriod('day', '2024-05-16', TZ) });
    assert.throws(() => networkBalance([districtBalance(noInfrastructureInput), other]), RangeError);
  });
});
