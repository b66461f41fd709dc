import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PHYSICAL_LIMITS } from '../domain/readings.ts';
import {
  createSimulator,
  DAY_MS,
  EVENT_TYPES,
  type EventRates,
  HOUR_MS,
  MINUTE_MS,
  type SimEvent,
  type SimEventType,
  type Simulator,
} from './index.ts';

const T0 = Date.UTC(2025, 9, 6); // a Monday; the clocks go back on Sunday 26 October
const WEEK = 7 * DAY_MS;
const NONE = Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])) as EventRates;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Values of one metric of a node in [from, to), with the rows other faults of the node touch left out. */
function valuesIn(sim: Simulator, e: SimEvent, metric: string, others: readonly SimEventType[]) {
  const blockers = sim
    .events(e.startMs, e.endMs, { nodeIds: [e.nodeId], types: others })
    .filter((x) => x.nodeId === e.nodeId && x.id !== e.id);
  const c = sim.columns(e.nodeId, e.startMs, e.endMs);
  const out: number[] = [];
  for (let i = 0; i < c.length; i++) {
    const t = c.ts[i]!;
    const v = c.values[metric as 'flow']![i]!;
    if (Number.isNaN(v) || blockers.some((b) => t >= b.startMs && t < b.endMs)) continue;
    out.push(v);
  }
  return out;
}

describe('injected events', () => {
  it('shows a handful of each type in a 48-node network over 7 days (defaults)', () => {
    const totals = Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])) as Record<SimEventType, number>;
    const seeds = 12;
    for (let seed = 0; seed < seeds; seed++) {
      for (const e of createSimulator({ seed, nodes: 48 }).events(T0, T0 + WEEK)) totals[e.type]++;
    }
    for (const t of EVENT_TYPES) {
      const perWeek = totals[t] / seeds;
      assert.ok(perWeek >= 1.5 && perWeek <= 15, `${t}: ${perWeek} per week`);
    }
  });

  it('describes each event completely and consistently', () => {
    const sim = createSimulator({ seed: 2, nodes: 48 });
    const ids = new Set(sim.network().nodes.map((n) => n.id));
    const events = sim.events(T0, T0 + 2 * WEEK);
    assert.equal(new Set(events.map((e) => e.id)).size, events.length);
    for (const e of events) {
      assert.ok(EVENT_TYPES.includes(e.type));
      assert.ok(ids.has(e.nodeId) && e.affectedNodeIds.every((id) => ids.has(id)));
      assert.ok(e.nodeId.startsWith(`${e.districtId}-`));
      assert.ok(e.endMs > e.startMs && e.startMs < T0 + 2 * WEEK && e.endMs > T0);
      assert.ok(Number.isFinite(e.magnitude));
      if (e.type === 'leak') assert.ok(e.rampEndMs! > e.startMs && e.rampEndMs! <= e.endMs);
    }
  });

  it('bursts raise the inflow by their size and drop pressure, only within their window', () => {
    // Without duplicates, rows of different nodes line up one to one.
    const clean = { missingValueShare: 0, ingestion: { duplicateShare: 0 } };
    const sim = createSimulator({ seed: 4, nodes: 48, eventRates: { ...NONE, burst: 2 }, ...clean });
    const base = createSimulator({ seed: 4, nodes: 48, eventRates: NONE, ...clean });
    const bursts = sim.events(T0, T0 + WEEK, { types: ['burst'] });
    assert.ok(bursts.length >= 3);
    for (const e of bursts) {
      const from = e.startMs - HOUR_MS;
      const to = e.endMs + HOUR_MS;
      const inlets = sim.network().nodes.filter((n) => n.districtId === e.districtId && n.kind === 'inlet');
      const a = inlets.map((n) => sim.columns(n.id, from, to));
      const b = inlets.map((n) => base.columns(n.id, from, to));
      const extra: number[] = [];
      for (let i = 0; i < a[0]!.length; i++) {
        const t = a[0]!.ts[i]!;
        const dq = a.reduce((s, c, k) => s + c.values.flow![i]! - b[k]!.values.flow![i]!, 0);
        const dp = a[0]!.values.pressure![i]! - b[0]!.values.pressure![i]!;
        const inside = t >= e.startMs && t < e.endMs;
        if (inside) {
          extra.push(dq);
          assert.ok(dp < -0.005, `${e.id}: pressure change ${dp} bar at ${t}`);
        } else if (!sim.events(t, t + 1, { types: ['burst'], districtIds: [e.districtId] }).length) {
          assert.ok(Math.abs(dq) < 1e-9 && dp === 0, `${e.id}: changed outside at ${t}`);
        }
      }
      const overlapping = sim.events(e.startMs, e.endMs, { types: ['burst'], districtIds: [e.districtId] });
      if (overlapping.length === 1) {
        assert.ok(Math.abs(mean(extra) - e.magnitude) < 0.05 * e.magnitude, `${e.id}: +${mean(extra)} L/s`);
      }
      // The far pressure points lose more head than the inlet.
      const far = sim.network().nodes.find((n) => n.districtId === e.districtId && n.kind === 'pressure')!;
      const mid = Math.round((e.startMs + e.endMs) / 2 / MINUTE_MS) * MINUTE_MS;
      const pa = sim.columns(far.id, mid, mid + 1).values.pressure![0]!;
      const pb = base.columns(far.id, mid, mid + 1).values.pressure![0]!;
      assert.ok(pa < pb - 0.02, `${e.id}: ${far.id} ${pb} → ${pa} bar`);
    }
  });

  it('leaks raise the minimum night flow at the inlets, growing until fully developed', () => {
    const sim = createSimulator({
      seed: 9,
      nodes: 48,
      eventRates: { ...NONE, leak: 1 },
      missingValueShare: 0,
    });
    const base = createSimulator({ seed: 9, nodes: 48, eventRates: NONE, missingValueShare: 0 });
    const leaks = sim.events(T0, T0 + 3 * WEEK, { types: ['leak'] });
    assert.ok(leaks.length >= 3);
    let checked = 0;
    for (const e of leaks) {
      if (sim.events(e.startMs, e.endMs, { types: ['leak'], districtIds: [e.districtId] }).length > 1)
        continue;
      const inlets = sim.network().nodes.filter((n) => n.districtId === e.districtId && n.kind === 'inlet');
      // Minimum night flow: the lowest inflow between 02:00 and 05:00 UTC (03–06 local) of each night.
      const mnf = (s: Simulator, night: number) =>
        Math.min(
          ...Array.from({ length: 36 }, (_, k) => night + 2 * HOUR_MS + k * 5 * MINUTE_MS).map((t) =>
            inlets.reduce((a, n) => a + s.columns(n.id, t, t + 1).values.flow![0]!, 0),
          ),
        );
      const firstNight = Math.ceil(e.startMs / DAY_MS) * DAY_MS;
      let previous = 0;
      for (let night = firstNight; night + 5 * HOUR_MS < e.endMs; night += DAY_MS) {
        const rise = mnf(sim, night) - mnf(base, night);
        assert.ok(rise > previous - 0.1 * e.magnitude, `${e.id}: night rise ${rise} after ${previous}`);
        if (night + 2 * HOUR_MS > e.rampEndMs!) {
          assert.ok(
            Math.abs(rise - e.magnitude) < 0.1 * e.magnitude,
            `${e.id}: MNF +${rise} vs ${e.magnitude}`,
          );
        }
        previous = rise;
      }
      const before = firstNight - 2 * DAY_MS;
      if (
        sim.events(before, before + DAY_MS, { types: ['leak'], districtIds: [e.districtId] }).length === 0
      ) {
        assert.ok(Math.abs(mnf(sim, before) - mnf(base, before)) < 1e-9, `${e.id}: no rise before the leak`);
      }
      checked++;
    }
    assert.ok(checked >= 2);
  });

  describe('sensor faults and quality events show in the readings', () => {
    const sim = createSimulator({ seed: 13, nodes: 48 });
    const events = sim.events(T0, T0 + 2 * WEEK);
    const ofType = (t: SimEventType) => events.filter((e) => e.type === t);

    it('flatline: the metric is stuck at one value', () => {
      for (const e of ofType('flatline')) {
        const v = valuesIn(sim, e, e.metric!, ['gap', 'silent', 'spike', 'outOfRange']);
        assert.ok(v.length > 30, e.id);
        assert.ok(
          v.every((x) => x === e.magnitude),
          `${e.id}: ${new Set(v).size} distinct values`,
        );
      }
    });

    it('gap and silent: no readings at all', () => {
      for (const e of [...ofType('gap'), ...ofType('silent')]) {
        assert.equal(sim.columns(e.nodeId, e.startMs, e.endMs).length, 0, e.id);
        assert.equal(sim.readings(e.startMs, e.endMs, { nodeIds: [e.nodeId] }).length, 0, e.id);
      }
    });

    it('spike: one wild value within physical limits', () => {
      let seen = 0;
      for (const e of ofType('spike')) {
        const [lo, hi] = PHYSICAL_LIMITS[e.metric!];
        assert.ok(e.magnitude >= lo && e.magnitude <= hi);
        const v = valuesIn(sim, e, e.metric!, ['gap', 'silent', 'outOfRange']);
        if (v.length === 0) continue;
        assert.ok(
          v.every((x) => x === e.magnitude),
          e.id,
        );
        const before = sim.columns(e.nodeId, e.startMs - 10 * MINUTE_MS, e.startMs).values[e.metric!]!;
        const typical = before.filter((x) => !Number.isNaN(x)).at(-1)!;
        assert.ok(Math.abs(e.magnitude - typical) > 0.5, `${e.id}: ${typical} → ${e.magnitude}`);
        seen++;
      }
      assert.ok(seen > 0);
    });

    it('outOfRange: values outside PHYSICAL_LIMITS', () => {
      for (const e of ofType('outOfRange')) {
        const [lo, hi] = PHYSICAL_LIMITS[e.metric!];
        const v = valuesIn(sim, e, e.metric!, ['gap', 'silent']);
        assert.ok(v.length > 0, e.id);
        assert.ok(
          v.every((x) => x < lo || x > hi),
          `${e.id}: ${v}`,
        );
      }
    });

    it('negativeFlow: the flow meter reads below zero', () => {
      for (const e of ofType('negativeFlow')) {
        const v = valuesIn(sim, e, 'flow', ['gap', 'silent', 'flatline', 'spike', 'outOfRange']);
        assert.ok(v.length > 5, e.id);
        assert.ok(
          v.every((x) => x < 0),
          e.id,
        );
      }
    });

    it('lowChlorine and highTurbidity: quality outside its limits', () => {
      for (const e of ofType('lowChlorine')) {
        const v = valuesIn(sim, e, 'chlorine', ['gap', 'silent', 'flatline', 'spike', 'outOfRange']);
        assert.ok(v.length > 0 && Math.min(...v) < 0.1, `${e.id}: ${Math.min(...v)}`);
      }
      for (const e of ofType('highTurbidity')) {
        const v = valuesIn(sim, e, 'turbidity', ['gap', 'silent', 'flatline', 'spike', 'outOfRange']);
        assert.ok(v.length > 0 && Math.max(...v) > 1, `${e.id}: ${Math.max(...v)}`);
      }
    });

    it('has every kind of fault to check in these two weeks', () => {
      for (const t of EVENT_TYPES) assert.ok(ofType(t).length > 0, t);
    });
  });
});
