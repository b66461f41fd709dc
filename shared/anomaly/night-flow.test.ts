import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localClock } from '../domain/local-time.ts';
import { gaussian, seededRandom } from '../domain/random.ts';
import { demandShape, seriesOf } from './fixtures.ts';
import {
  continuesNightFlowLeak,
  DEFAULT_NIGHT_FLOW,
  detectNightFlowLeak,
  netInflow,
  nightlyMinimumFlows,
} from './night-flow.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './series.ts';

const TZ = 'Europe/Rome';
const rome = localClock(TZ);

/** District inflow following local time: 20 L/s at the night minimum, day-to-day variation and noise. */
function inflow(fromMs: number, toMs: number, leak: (t: number) => number = () => 0) {
  const noise = gaussian(seededRandom(3));
  const days = gaussian(seededRandom(5));
  const dayFactor = new Map<number, number>();
  return seriesOf(
    fromMs,
    toMs,
    (t) => {
      const local = t + rome.offsetMs(t);
      const day = Math.floor(local / DAY_MS);
      if (!dayFactor.has(day)) dayFactor.set(day, 1 + 0.03 * days());
      return (20 / 0.3) * demandShape(local) * dayFactor.get(day)! + 0.5 * noise() + leak(t);
    },
    5 * MINUTE_MS,
  );
}

test('night windows are in local time: 2 hours on the spring-forward night, 4 on the fall-back one', () => {
  const from = Date.UTC(2024, 2, 25);
  const to = Date.UTC(2024, 10, 2);
  const flow = inflow(from, to);
  const nights = nightlyMinimumFlows(flow, TZ, from, to);
  const byDate = new Map(nights.map((n) => [n.date, n]));
  const spring = byDate.get('2024-03-31')!;
  const autumn = byDate.get('2024-10-27')!;
  const ordinary = byDate.get('2024-06-12')!;
  assert.equal(spring.endMs - spring.startMs, 2 * HOUR_MS);
  assert.equal(autumn.endMs - autumn.startMs, 4 * HOUR_MS);
  assert.equal(ordinary.endMs - ordinary.startMs, 3 * HOUR_MS);
  assert.equal(ordinary.startMs, Date.UTC(2024, 5, 12, 0)); // 02:00 CEST
  // Every night's minimum is the quiet-hours level, DST or not.
  for (const n of [spring, autumn, ordinary]) assert.ok(Math.abs(n.mnf - 20) < 2, `${n.date}: ${n.mnf}`);
});

test('stays quiet on leak-free nights', () => {
  const from = Date.UTC(2024, 0, 1);
  const to = from + 70 * DAY_MS;
  const nights = nightlyMinimumFlows(inflow(from, to), TZ, from, to);
  for (let now = from + 35 * DAY_MS; now <= to; now += 6 * HOUR_MS) {
    assert.equal(detectNightFlowLeak(nights, now), null, new Date(now).toISOString());
  }
});

test('a leak growing over days is caught after three nights above the reference, graded by its size', () => {
  const from = Date.UTC(2024, 0, 1);
  const leakStart = from + 40 * DAY_MS + 12 * HOUR_MS;
  const ramp = (t: number) => (t < leakStart ? 0 : Math.min(6, (6 * (t - leakStart)) / (4 * DAY_MS)));
  const to = leakStart + 12 * DAY_MS;
  const nights = nightlyMinimumFlows(inflow(from, to, ramp), TZ, from, to);
  let firstAt: number | null = null;
  let last = null;
  for (let now = leakStart; now <= to; now += HOUR_MS) {
    const c = detectNightFlowLeak(nights, now, { nodeId: 'inlet-1' });
    if (c && firstAt === null) firstAt = now;
    if (c) last = c;
  }
  assert.ok(firstAt !== null, 'detected');
  const delayDays = (firstAt - leakStart) / DAY_MS;
  assert.ok(delayDays >= 2 && delayDays <= 6, `delay ${delayDays} days`);
  assert.ok(last);
  assert.equal(last.type, 'night_flow_leak');
  assert.equal(last.nodeId, 'inlet-1');
  assert.ok(Math.abs((last.evidence.riseLps as number) - 6) < 1.5);
  assert.equal(last.severity, 'major'); // 6 L/s on 20 L/s: 30 %, but over 3 L/s
  assert.ok(last.sinceMs! >= leakStart && last.sinceMs! < firstAt);
});

test('the reference stays leak-free while the leak lasts', () => {
  const from = Date.UTC(2024, 0, 1);
  const leakStart = from + 30 * DAY_MS;
  const to = leakStart + 40 * DAY_MS;
  const nights = nightlyMinimumFlows(
    inflow(from, to, (t) => (t >= leakStart ? 5 : 0)),
    TZ,
    from,
    to,
  );
  const now = to - 6 * HOUR_MS;
  // After 40 days the leak is the new normal of the last 28 nights...
  assert.equal(detectNightFlowLeak(nights, now), null);
  // ...unless the reference is held to the nights before it began.
  const c = detectNightFlowLeak(nights, now, { leakFreeBeforeMs: leakStart });
  assert.ok(c);
  assert.ok(Math.abs((c.evidence.riseLps as number) - 5) < 1.5);
});

test('a district without recent nights says nothing', () => {
  const from = Date.UTC(2024, 0, 1);
  const to = from + 40 * DAY_MS;
  const nights = nightlyMinimumFlows(
    inflow(from, to, (t) => (t > from + 35 * DAY_MS ? 10 : 0)),
    TZ,
    from,
    to,
  );
  assert.ok(detectNightFlowLeak(nights, to));
  assert.equal(detectNightFlowLeak(nights, to + 3 * DAY_MS), null);
  assert.equal(detectNightFlowLeak(nights.slice(-5), to), null, 'too few reference nights');
  assert.equal(DEFAULT_NIGHT_FLOW.recentNights, 3);
});

test('net inflow subtracts outlets and needs every meter', () => {
  const from = Date.UTC(2024, 0, 1);
  const to = from + HOUR_MS;
  const a = seriesOf(from, to, () => 10);
  const b = seriesOf(from, to, (t) => (t < from + 30 * MINUTE_MS ? 4 : null));
  const out = seriesOf(from, to, () => 3);
  const net = netInflow([a, b], [out])!;
  assert.equal(net.sum[0], 11);
  assert.equal(net.count[11], 0);
});

test('a night-flow leak continues an earlier one unless its nights rise a threshold beyond it', () => {
  const previous = {
    peakEvidence: { lowestRecentLps: 7.5, thresholdLps: 0.8 },
    evidence: { lowestRecentLps: 7.2, thresholdLps: 0.8 },
  };
  const now = (lps: number) => ({ evidence: { lowestRecentLps: lps, thresholdLps: 0.8 } });
  assert.equal(continuesNightFlowLeak(previous, now(7.4)), true, 'the same leak, seen again');
  assert.equal(continuesNightFlowLeak(previous, now(8.2)), true, 'grown, by less than the threshold');
  assert.equal(continuesNightFlowLeak(previous, now(8.4)), false, 'a second leak: a threshold beyond');
  assert.equal(continuesNightFlowLeak(previous, { evidence: { riseLps: 2 } }), false, 'no level to compare');
});
