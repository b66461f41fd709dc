import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localPeriod } from '../../analytics/local-period.ts';
import { HOUR_MS } from '../../domain/aggregate.ts';
import { metricIndex } from '../../domain/readings.ts';
import { balanceInputs, balanceOf, monthInputs, touchedDays } from './efficiency.ts';
import type { DistrictMeters, HourlyMetricRow } from './store.ts';

const meters: DistrictMeters = {
  district: {
    id: 'd1',
    tenantId: 't',
    name: 'd1',
    timezone: 'Europe/Rome',
    mainsLengthKm: 10,
    connections: 1000,
    privatePipeKm: 5,
    avgPressureM: 40,
  },
  nodes: [
    { id: 'in-a', kind: 'inlet' },
    { id: 'in-b', kind: 'inlet' },
    { id: 'out', kind: 'outlet' },
    { id: 'c1', kind: 'customer' },
    { id: 'c2', kind: 'customer' },
    { id: 'p1', kind: 'pressure' },
  ],
};
// 2026-06-10 in Rome (summer time, UTC+2): 2026-06-09T22:00Z to 2026-06-10T22:00Z.
const day = localPeriod('day', '2026-06-10', 'Europe/Rome');
const FLOW = metricIndex('flow');
const PRESSURE = metricIndex('pressure');

/** Hourly rows of a constant mean, 60 readings an hour, for the given hours of the day. */
function hours(
  nodeId: string,
  metric: number,
  value: number,
  which: (h: number) => boolean,
): HourlyMetricRow[] {
  const out: HourlyMetricRow[] = [];
  for (let h = 0; h < 24; h++) {
    if (which(h)) out.push({ nodeId, metric, bucketMs: day.start + h * HOUR_MS, count: 60, sum: 60 * value });
  }
  return out;
}

const rows = [
  ...hours('in-a', FLOW, 10, () => true),
  ...hours('in-b', FLOW, 5, (h) => h < 12), // half the day: extrapolated, estimated
  ...hours('out', FLOW, 2, () => true),
  ...hours('c1', FLOW, 8, () => true),
  ...hours('c2', FLOW, 2, (h) => h < 18),
  ...hours('p1', PRESSURE, 30 / 10.197, () => true), // 30 m of head all day
];

test('a district day from hourly partials, checked by hand', () => {
  const inputs = balanceInputs(meters, day, rows);
  assert.equal(inputs.hours, 24);
  assert.deepEqual(
    inputs.inlets.map((m) => [m.meterId, Math.round(m.measuredM3 * 10) / 10, m.coverage]),
    [
      ['in-a', 864, 1],
      ['in-b', 216, 0.5],
    ],
  );
  // The night window is 02:00–04:00 Rome time, 00:00–02:00 UTC: two hours of 10 + 5 − 2 L/s.
  assert.equal(inputs.nightFlow.length, 2);
  assert.ok(inputs.nightFlow.every((h) => Math.abs(h.flowM3h! - 13 * 3.6) < 1e-9));
  assert.ok(inputs.pressureProfileM?.every((p) => Math.abs(p - 30) < 1e-9));

  const b = balanceOf(meters, day, inputs, [], false);
  const near = (a: number | null, e: number) =>
    assert.ok(a !== null && Math.abs(a - e) < 1e-6, `${a} vs ${e}`);
  near(b.systemInputM3, 864 + 432 - 172.8);
  // c2 reported 18 of 24 hours: 129.6 m³ extrapolated to 172.8.
  near(b.authorisedConsumptionM3, 691.2 + 172.8);
  near(b.waterLossesM3, 1123.2 - 864);
  near(b.nrwPercent, (100 * 259.2) / 1123.2);
  near(b.nrwLPerConnDay, (259.2 * 1000) / 1000);
  near(b.minNightFlowM3h, 46.8);
  // Flat pressure: the night-day factor is 24 h; legitimate night use 1000 × 1.7 L/h.
  assert.equal(b.ndfSource, 'pressure');
  near(b.mnfLeakageM3, (46.8 - 1.7) * 24);
  near(b.uarlLPerDay, (18 * 10 + 0.8 * 1000 + 25 * 5) * 40);
  near(b.ili, ((46.8 - 1.7) * 24 * 1000) / 44_200);
  assert.deepEqual(b.missing, []);
  assert.ok(b.estimated.includes('systemInputM3') && b.estimated.includes('authorisedConsumptionM3'));
});

test('billed volumes entered for a period take precedence over customer meters', () => {
  const inputs = balanceInputs(meters, day, rows);
  const billed = [
    {
      id: 1,
      districtId: 'd1',
      fromMs: day.start,
      toMs: day.start + 48 * HOUR_MS,
      volumeM3: 1600,
      unbilledM3: 20,
      source: 'cli',
    },
  ];
  const b = balanceOf(meters, day, inputs, billed, false);
  assert.equal(b.consumptionSource, 'billed');
  assert.ok(Math.abs(b.billedAuthorisedM3! - 800) < 1e-9, 'half the two-day bill');
  assert.ok(Math.abs(b.authorisedConsumptionM3! - 810) < 1e-9, 'plus half the unbilled');
});

test('without inlet data nothing is invented, and what is missing is listed', () => {
  const onlyCustomers = rows.filter((r) => r.nodeId.startsWith('c'));
  const b = balanceOf(meters, day, balanceInputs(meters, day, onlyCustomers), [], false);
  assert.equal(b.systemInputM3, null);
  assert.equal(b.nrwPercent, null);
  assert.ok(b.missing.includes('inletVolume') && b.missing.includes('nightFlow'));
  assert.equal(typeof b.authorisedConsumptionM3, 'number');
});

test('a month adds up its days, each weighed by its hours', () => {
  const d1 = balanceInputs(meters, day, rows);
  const next = localPeriod('day', '2026-06-11', 'Europe/Rome');
  const shifted = rows.map((r) => ({ ...r, bucketMs: r.bucketMs + 24 * HOUR_MS }));
  const d2 = balanceInputs(meters, next, shifted);
  const month = monthInputs([d1, d2], 720);
  const inA = month.inlets.find((m) => m.meterId === 'in-a')!;
  assert.equal(inA.measuredM3, 2 * 864);
  assert.ok(Math.abs(inA.coverage - 48 / 720) < 1e-12);
  assert.equal(month.nightFlow.length, 4);
});

test('the days a span of readings touches are local days, DST ones 23 hours long', () => {
  const days = touchedDays(Date.UTC(2026, 2, 28, 12), Date.UTC(2026, 2, 30, 1), 'Europe/Rome');
  assert.deepEqual(
    days.map((d) => [d.label, d.hours]),
    [
      ['2026-03-28', 24],
      ['2026-03-29', 23],
      ['2026-03-30', 24],
    ],
  );
});
