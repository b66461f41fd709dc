import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, seededRandom } from '../domain/random.ts';
import { demandShape } from './fixtures.ts';
import { type Anomaly, advanceAnomalies, resolveAnomaly } from './lifecycle.ts';
import {
  DEFAULT_PRESSURE_MODEL,
  detectPressureResidualLeak,
  detectPressureStepUp,
  type PressureSeries,
  pressureResiduals,
} from './pressure-model.ts';
import { DAY_MS, emptySeries, HOUR_MS } from './series.ts';
import type { BucketSeries } from './types.ts';

const START = Date.UTC(2024, 0, 1);
const DAYS = 35;

/**
 * Hourly pressures of a district: every point falls with the district's demand (head loss ~ Q^1.85, more at
 * points farther from the source), with day-to-day demand variation and sensor noise. `leak(point, t)` is an
 * extra drop in bar.
 */
function district(
  points = 5,
  leak: (point: number, t: number) => number = () => 0,
  seed = 1,
  length = DAYS,
): PressureSeries[] {
  const noise = gaussian(seededRandom(seed));
  const days = gaussian(seededRandom(seed + 100));
  const hours = length * 24;
  const dayFactor = Array.from({ length }, () => 1 + 0.05 * days());
  const series = Array.from({ length: points }, (_, p) => ({
    nodeId: `P-${p}`,
    hourly: emptySeries(START, HOUR_MS, hours),
  }));
  for (let h = 0; h < hours; h++) {
    const t = START + h * HOUR_MS;
    const q = demandShape(t) * dayFactor[Math.floor(h / 24)]!;
    for (let p = 0; p < points; p++) {
      const v = 5 - 0.3 * p - (0.2 + 0.1 * p) * q ** 1.85 + 0.003 * noise() - leak(p, t);
      series[p]!.hourly.count[h] = 12;
      series[p]!.hourly.sum[h] = 12 * v;
    }
  }
  return series;
}

const LEAK_AT = START + 28 * DAY_MS + 10 * HOUR_MS;

test('a leak-free district raises nothing over a week of hourly evaluations', () => {
  const points = district();
  let worst = 0;
  for (let t = START + 28 * DAY_MS; t <= START + DAYS * DAY_MS; t += HOUR_MS) {
    assert.equal(detectPressureResidualLeak(points, t), null, new Date(t).toISOString());
    for (const r of pressureResiduals(points, t)) worst = Math.max(worst, r.cusum);
  }
  assert.ok(worst < DEFAULT_PRESSURE_MODEL.threshold / 2, `largest CUSUM ${worst}`);
});

test('a leak lowering one point by 0.03 bar is found within a day, at that point, dated to its start', () => {
  const points = district(5, (p, t) => (p === 3 && t >= LEAK_AT ? 0.03 : p === 2 && t >= LEAK_AT ? 0.01 : 0));
  assert.equal(detectPressureResidualLeak(points, LEAK_AT), null);
  let found = null;
  for (let t = LEAK_AT; t <= LEAK_AT + DAY_MS && !found; t += HOUR_MS)
    found = detectPressureResidualLeak(points, t);
  assert.ok(found, 'not detected within a day');
  assert.equal(found.type, 'pressure_residual');
  assert.equal(found.nodeId, 'P-3');
  assert.ok(Math.abs(found.sinceMs! - LEAK_AT) <= 2 * HOUR_MS, new Date(found.sinceMs!).toISOString());
  assert.ok((found.evidence.lastDayResidualBar as number) < -0.005, JSON.stringify(found.evidence));
});

test('the district-wide drop of a busy day is no leak: every point falls together', () => {
  // Demand 30 % up for the last three days: all points drop, as the others predict.
  const points = district(5, (p, t) =>
    t >= START + 32 * DAY_MS ? (0.2 + 0.1 * p) * 0.3 * demandShape(t) ** 1.85 : 0,
  );
  for (let t = START + 32 * DAY_MS; t <= START + DAYS * DAY_MS; t += 6 * HOUR_MS) {
    assert.equal(detectPressureResidualLeak(points, t), null, new Date(t).toISOString());
  }
});

test('an open leak keeps the reference before it: the leak is not learnt as normal once the lag has passed', () => {
  const leakAt = START + 22 * DAY_MS;
  const points = district(5, (p, t) => (p === 1 && t >= leakAt ? 0.03 : 0));
  const late = START + 34 * DAY_MS; // 12 days after the leak: past the 7-day lag, the sliding reference holds it
  const sliding = detectPressureResidualLeak(points, late);
  const frozen = detectPressureResidualLeak(points, late, DEFAULT_PRESSURE_MODEL, {
    leakFreeBeforeMs: leakAt,
  });
  assert.ok(frozen, 'the frozen reference must still see the leak');
  assert.equal(frozen.nodeId, 'P-1');
  assert.ok(
    sliding === null || (sliding.evidence.cusum as number) < (frozen.evidence.cusum as number),
    'the sliding reference absorbs the leak',
  );
});

test('fewer than three points, or too little reference, are not modelled', () => {
  const two = district(2, (p, t) => (p === 0 && t >= LEAK_AT ? 0.1 : 0));
  assert.deepEqual(pressureResiduals(two, LEAK_AT + DAY_MS), []);
  const short = district(5).map((s) => ({
    ...s,
    hourly: { ...s.hourly, count: s.hourly.count.map((c, h) => (h < 20 * 24 ? 0 : c)) },
  }));
  assert.deepEqual(pressureResiduals(short, START + 29 * DAY_MS), []);
});

/** The hours [fromMs, toMs) of a series (what a rollup reads of it). */
function slice(s: BucketSeries, fromMs: number, toMs: number): BucketSeries {
  const i = Math.max(0, (fromMs - s.startMs) / s.stepMs);
  const j = Math.min(s.length, (toMs - s.startMs) / s.stepMs);
  const part = (a: Float64Array) => a.slice(i, j);
  return {
    startMs: s.startMs + i * s.stepMs,
    stepMs: s.stepMs,
    length: j - i,
    count: part(s.count),
    sum: part(s.sum),
    sumSq: part(s.sumSq),
    min: part(s.min),
    max: part(s.max),
    first: part(s.first),
    last: part(s.last),
  };
}

test('an anomaly open longer than the read window keeps its frozen reference: open while the drop lasts, resolved after', () => {
  const cfg = DEFAULT_PRESSURE_MODEL;
  const leakAt = START + 22 * DAY_MS + 10 * HOUR_MS;
  const leakEnd = START + 52 * DAY_MS; // 30 days: longer than the reference, the lag and the rollup's read
  const points = district(5, (p, t) => (p === 1 && t >= leakAt && t < leakEnd ? 0.03 : 0), 3, 64);
  const readMs = (cfg.referenceHours + cfg.lagHours + 1) * HOUR_MS;
  const subject = { tenantId: 't1', nodeId: null, districtId: 'A' };
  let anomalies: Anomaly[] = [];
  const opened: number[] = [];
  let openAtLeakEnd = false;
  // As the rollup does: every few hours it reads the last three weeks, and an open anomaly's reference window
  // on its own.
  for (let t = START + 21 * DAY_MS; t <= START + 62 * DAY_MS; t += 3 * HOUR_MS) {
    const recent = points.map((p) => ({ ...p, hourly: slice(p.hourly, t - readMs, t) }));
    const open = anomalies.find((a) => a.status === 'open' || a.status === 'acknowledged');
    const reference = open
      ? points.map((p) => ({
          ...p,
          hourly: slice(p.hourly, open.startMs - (cfg.referenceHours + 1) * HOUR_MS, open.startMs + HOUR_MS),
        }))
      : undefined;
    const c = detectPressureResidualLeak(recent, t, cfg, {
      ...(open ? { leakFreeBeforeMs: open.startMs } : {}),
      ...(reference ? { reference } : {}),
    });
    const r = advanceAnomalies(subject, anomalies, c ? [c] : [], t);
    for (const tr of r.transitions) if (tr.kind === 'opened') opened.push(t);
    anomalies = r.anomalies;
    if (t <= leakEnd) openAtLeakEnd = anomalies.some((a) => a.status === 'open');
    // Once resolved, the reference slides again and, for two weeks, learns the leak's hours: the repair then
    // reads as a drop at the other points (a separate matter, not this test's).
    if (anomalies.some((a) => a.status === 'resolved')) break;
  }
  assert.equal(opened.length, 1, `opened at ${opened.map((t) => new Date(t).toISOString())}`);
  assert.ok(opened[0]! - leakAt <= DAY_MS, new Date(opened[0]!).toISOString());
  assert.ok(openAtLeakEnd, 'still open when the drop ends, 30 days on');
  const [a] = anomalies;
  assert.equal(a!.status, 'resolved', 'resolved once the drop is over');
  assert.ok(a!.resolvedAtMs! > leakEnd && a!.resolvedAtMs! <= leakEnd + cfg.lagHours * HOUR_MS + DAY_MS);
});

/**
 * The rollup's pass over [fromMs, toMs] every 3 hours: it reads the last three weeks, an open anomaly's frozen
 * reference apart, leaves its resolved (not superseded) anomalies' spans out of the reference, and resolves an
 * open anomaly as superseded when another point drops against a reference holding its leak.
 */
function rollUp(points: PressureSeries[], fromMs: number, toMs: number) {
  const cfg = DEFAULT_PRESSURE_MODEL;
  const readMs = (cfg.referenceHours + cfg.lagHours + 1) * HOUR_MS;
  const subject = { tenantId: 't1', nodeId: null, districtId: 'A' };
  let anomalies: Anomaly[] = [];
  const opened: { t: number; nodeId: string | null }[] = [];
  for (let t = fromMs; t <= toMs; t += 3 * HOUR_MS) {
    const excluded = anomalies
      .filter((a) => a.status === 'resolved' && a.resolvedBy !== 'superseded')
      .map((a) => ({ fromMs: a.startMs, toMs: a.endMs! }));
    // Read back further by the excluded spans' length: earlier hours take their place.
    const extraMs = excluded.reduce((a, x) => a + x.toMs - x.fromMs + HOUR_MS, 0);
    const recent = points.map((p) => ({
      ...p,
      hourly: slice(p.hourly, Math.max(p.hourly.startMs, t - readMs - extraMs), t),
    }));
    let open = anomalies.find((a) => a.status === 'open' || a.status === 'acknowledged');
    const step = open ? detectPressureStepUp(recent, t, open, cfg, excluded) : null;
    if (open && step) {
      const closed = resolveAnomaly(open, 'superseded', t);
      anomalies = anomalies.map((a) => (a.id === closed.id ? closed : a));
      open = undefined;
    }
    const reference = open
      ? points.map((p) => ({
          ...p,
          hourly: slice(
            p.hourly,
            Math.max(p.hourly.startMs, open.startMs - (cfg.referenceHours + 1) * HOUR_MS - extraMs),
            open.startMs + HOUR_MS,
          ),
        }))
      : undefined;
    const c =
      step ??
      detectPressureResidualLeak(recent, t, cfg, {
        ...(open ? { leakFreeBeforeMs: open.startMs, reference } : {}),
        excluded,
      });
    const r = advanceAnomalies(subject, anomalies, c ? [c] : [], t);
    for (const tr of r.transitions) if (tr.kind === 'opened') opened.push({ t, nodeId: tr.anomaly.nodeId });
    anomalies = r.anomalies;
  }
  return { anomalies, opened };
}

const at = (list: { t: number; nodeId: string | null }[]) =>
  list.map((o) => `${o.nodeId} ${new Date(o.t).toISOString()}`).join(', ');

test('after a repair the reference leaves the leak out: the repair does not read as drops at the other points', () => {
  // A leak of 30 days at P-1, then three weeks after it: while the sliding reference held the leak's hours,
  // the others' mean rose at the repair and every other point read lower than predicted.
  const leakAt = START + 22 * DAY_MS + 10 * HOUR_MS;
  const leakEnd = START + 52 * DAY_MS;
  const points = district(5, (p, t) => (p === 1 && t >= leakAt && t < leakEnd ? 0.03 : 0), 3, 80);
  const { anomalies, opened } = rollUp(points, START + 21 * DAY_MS, START + 80 * DAY_MS);
  assert.equal(opened.length, 1, `opened: ${at(opened)}`);
  assert.equal(opened[0]!.nodeId, 'P-1');
  assert.equal(anomalies[0]!.status, 'resolved', "the leak's anomaly resolved after the repair");
});

test('a second leak at another point while the first is open is a new anomaly; the first one growing is not', () => {
  // P-1 leaks from day 22 and keeps growing until day 60 (0.03 → 0.06 bar); P-3 leaks from day 50. The open
  // anomaly's frozen reference would absorb the second; the ordinary one (wholly after day 22 from day 43 on)
  // holds the first and sees the second.
  const first = START + 22 * DAY_MS + 10 * HOUR_MS;
  const second = START + 50 * DAY_MS + 4 * HOUR_MS;
  const grown = (t: number) => 0.03 + (0.03 * Math.min(t - first, 38 * DAY_MS)) / (38 * DAY_MS);
  const points = district(
    5,
    (p, t) => (p === 1 && t >= first ? grown(t) : p === 3 && t >= second ? 0.03 : 0),
    5,
    70,
  );
  const { anomalies, opened } = rollUp(points, START + 21 * DAY_MS, START + 70 * DAY_MS);
  assert.equal(opened.length, 2, `opened: ${at(opened)}`);
  assert.equal(opened[0]!.nodeId, 'P-1');
  assert.ok(opened[0]!.t - first <= DAY_MS, at(opened));
  assert.equal(opened[1]!.nodeId, 'P-3');
  assert.ok(opened[1]!.t >= second && opened[1]!.t - second <= DAY_MS, at(opened));
  assert.equal(anomalies[0]!.resolvedBy, 'superseded');
  assert.equal(anomalies[1]!.status, 'open');
});

test('a leak that only grows at its own point is not announced again', () => {
  const first = START + 22 * DAY_MS + 10 * HOUR_MS;
  const points = district(
    5,
    (p, t) => (p === 1 && t >= first ? 0.02 + (0.06 * Math.min(t - first, 40 * DAY_MS)) / (40 * DAY_MS) : 0),
    7,
    70,
  );
  const { anomalies, opened } = rollUp(points, START + 21 * DAY_MS, START + 70 * DAY_MS);
  assert.equal(opened.length, 1, `opened: ${at(opened)}`);
  assert.equal(anomalies[0]!.status, 'open');
});

test('after a long leak is repaired the model is not blind: a new leak at another point days later is caught', () => {
  // P-1 leaks 25 days; its anomaly resolves after the repair. Three weeks of reference after that would
  // hold no hour outside it: earlier hours, before the leak, take their place.
  const leakAt = START + 22 * DAY_MS + 10 * HOUR_MS;
  const repaired = START + 47 * DAY_MS;
  const second = START + 57 * DAY_MS + 4 * HOUR_MS;
  const points = district(
    5,
    (p, t) => (p === 1 && t >= leakAt && t < repaired ? 0.03 : p === 3 && t >= second ? 0.03 : 0),
    4,
    62,
  );
  const { anomalies, opened } = rollUp(points, START + 21 * DAY_MS, START + 62 * DAY_MS);
  assert.equal(anomalies[0]!.status, 'resolved');
  assert.ok(anomalies[0]!.resolvedAtMs! < second, 'the first anomaly resolved before the second leak');
  assert.equal(opened.length, 2, `opened: ${at(opened)}`);
  assert.equal(opened[1]!.nodeId, 'P-3');
  assert.ok(opened[1]!.t >= second && opened[1]!.t - second <= DAY_MS, at(opened));
});
