import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reading } from '../domain/readings.ts';
import { createSimulator, HOUR_MS, MINUTE_MS } from './index.ts';

// A Monday in spring, with the clocks going forward on the Sunday after.
const T0 = Date.UTC(2025, 2, 24);
const byNodeThenTime = (a: Reading, b: Reading) =>
  a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.ts - b.ts || a.ingestedAt - b.ingestedAt;

describe('determinism', () => {
  it('gives the same readings and events for the same seed', () => {
    const a = createSimulator({ seed: 11, nodes: 30 });
    const b = createSimulator({ seed: 11, nodes: 30 });
    assert.deepEqual(a.readings(T0, T0 + 6 * HOUR_MS), b.readings(T0, T0 + 6 * HOUR_MS));
    assert.deepEqual(a.events(T0, T0 + 14 * 24 * HOUR_MS), b.events(T0, T0 + 14 * 24 * HOUR_MS));
  });

  it('gives different readings and events for another seed', () => {
    const a = createSimulator({ seed: 11, nodes: 30 }).readings(T0, T0 + HOUR_MS, {
      nodeIds: ['d01-inlet-1'],
    });
    const b = createSimulator({ seed: 12, nodes: 30 }).readings(T0, T0 + HOUR_MS, {
      nodeIds: ['d01-inlet-1'],
    });
    const differing = a.filter((r, i) => r.values.flow !== b[i]?.values.flow).length;
    assert.ok(differing > a.length / 2, `${differing} of ${a.length} flows differ`);
    const ea = createSimulator({ seed: 11, nodes: 30 }).events(T0, T0 + 14 * 24 * HOUR_MS);
    const eb = createSimulator({ seed: 12, nodes: 30 }).events(T0, T0 + 14 * 24 * HOUR_MS);
    assert.notDeepEqual(
      ea.map((e) => e.id),
      eb.map((e) => e.id),
    );
  });

  it('does not depend on how time is split into windows', () => {
    const sim = createSimulator({ seed: 3, nodes: 40 });
    const whole = sim.readings(T0, T0 + 60 * MINUTE_MS);
    const split = [
      ...sim.readings(T0, T0 + 30 * MINUTE_MS),
      ...sim.readings(T0 + 30 * MINUTE_MS, T0 + 60 * MINUTE_MS),
    ];
    assert.deepEqual(split.sort(byNodeThenTime), whole.sort(byNodeThenTime));

    // Over days, across the DST change, for every node: uneven splits and a fresh simulator (cold caches).
    const days = 7 * 24 * HOUR_MS;
    const fresh = createSimulator({ seed: 3, nodes: 40 });
    for (const node of sim.network().nodes) {
      const all = sim.columns(node.id, T0, T0 + days);
      const cut = T0 + (3 * days) / 7 + 17 * MINUTE_MS;
      const left = fresh.columns(node.id, cut, T0 + days);
      const right = fresh.columns(node.id, T0, cut);
      assert.equal(left.length + right.length, all.length, node.id);
      for (const [part, offset] of [
        [right, 0],
        [left, right.length],
      ] as const) {
        assert.deepEqual(part.ts, all.ts.subarray(offset, offset + part.length), node.id);
        assert.deepEqual(part.ingestedAt, all.ingestedAt.subarray(offset, offset + part.length), node.id);
        for (const m of node.metrics) {
          assert.deepEqual(
            part.values[m],
            all.values[m]!.subarray(offset, offset + part.length),
            `${node.id} ${m}`,
          );
        }
      }
    }
  });

  it('gives a reading the same value whatever the step of the grid', () => {
    const sim = createSimulator({ seed: 3, nodes: 40 });
    const fine = sim.readings(T0, T0 + 2 * HOUR_MS, { stepMs: MINUTE_MS });
    const coarse = sim.readings(T0, T0 + 2 * HOUR_MS, { stepMs: 15 * MINUTE_MS });
    const key = (r: Reading) => `${r.nodeId}@${r.ts}@${r.ingestedAt}`;
    const fineByKey = new Map(fine.map((r) => [key(r), r]));
    assert.ok(coarse.length > 0);
    for (const r of coarse) assert.deepEqual(r, fineByKey.get(key(r)));
  });

  it('lists the same events for a window whatever window they were asked in', () => {
    const sim = createSimulator({ seed: 5, nodes: 48 });
    const week = 7 * 24 * HOUR_MS;
    const wide = sim.events(T0 - week, T0 + 2 * week);
    const narrow = sim.events(T0, T0 + week);
    const overlapping = wide.filter((e) => e.startMs < T0 + week && e.endMs > T0);
    assert.deepEqual(narrow, overlapping);
  });
});
