import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maeOver } from '../../shared/forecast/boosted.ts';
import { createCalendar } from '../../shared/forecast/calendar.ts';
import { fitGlobalTrees } from '../../shared/forecast/global.ts';
import { syntheticDemand } from '../../shared/forecast/synthetic.ts';
import { WEEK_HOURS } from '../../shared/forecast/types.ts';
import { chooseWeights, combineValues, fitStack, stack, stackOf, tenthMixes } from './stack.ts';

describe('stack: weights per lead bucket chosen on replays', () => {
  it('mixes in tenths: 66 for three members, each summing to 1, the first member whole first', () => {
    const mixes = tenthMixes(3);
    assert.equal(mixes.length, 66);
    assert.deepEqual(mixes[0], [1, 0, 0]);
    for (const w of mixes) assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  });

  it('a member without a value leaves its weight to the others', () => {
    assert.equal(combineValues([10, Number.NaN, 20], [0.5, 0.3, 0.2]), (10 * 0.5 + 20 * 0.2) / 0.7);
    assert.equal(combineValues([Number.NaN, 7], [1, 0]), 7);
    assert.ok(Number.isNaN(combineValues([Number.NaN, Number.NaN], [0.5, 0.5])));
  });

  it('day 1 and days 2–7 get weights of their own: the member right in each bucket takes it', () => {
    // Member 0 is exact on day 1 and off by 5 after; member 1 the other way round.
    const n = 2000;
    const y = Float64Array.from({ length: n }, (_, t) => 10 + Math.sin(t / 5));
    const a = new Map<number, Float64Array>();
    const b = new Map<number, Float64Array>();
    for (let o = 1000; o < 1800; o += 24) {
      a.set(
        o,
        Float64Array.from({ length: 168 }, (_, k) => y[o + k]! + (k < 24 ? 0 : 5)),
      );
      b.set(
        o,
        Float64Array.from({ length: 168 }, (_, k) => y[o + k]! + (k < 24 ? 5 : 0)),
      );
    }
    assert.deepEqual(chooseWeights(y, [a, b], 0, 24), [1, 0]);
    assert.deepEqual(chooseWeights(y, [a, b], 24, 168), [0, 1]);
    const hs = (m: Map<number, Float64Array>) => [...m].map(([origin, mean]) => ({ origin, mean }));
    const { weights, hindcasts } = stackOf(y, [hs(a), hs(b)]);
    assert.deepEqual(weights, [
      [1, 0],
      [0, 1],
    ]);
    // The combined replays are exact: each bucket from its own member.
    assert.ok(maeOver(y, hindcasts) < 1e-12);
  });

  it('fitted on a series (own trees and global ones), its replays err no more than any member’s in each bucket', () => {
    const calendar = createCalendar({ timeZone: 'UTC', holidays: [], bridgeDays: false });
    const make = (seed: number, level: number) =>
      syntheticDemand({ hours: 14 * WEEK_HOURS, level, noise: 0.8, levelWalk: 0.02, seed });
    const series = [make(11, 20), make(12, 35), make(13, 8)];
    const globalTrees = fitGlobalTrees(
      series.map((history) => ({ history })),
      { calendar },
    );
    const fit = fitStack(series[0]!, { calendar, globalTrees });
    assert.equal(fit.model.trees.length, 2);
    assert.equal(fit.model.weights.length, 2);
    for (const w of fit.model.weights) assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    const y = series[0]!.values;
    const members = [fit.members.ensemble.hindcasts, ...fit.members.trees.map((t) => t.hindcasts)];
    const bucket = (hs: readonly { origin: number; mean: Float64Array }[], from: number, to: number) =>
      maeOver(
        y,
        hs.map((h) => ({ origin: h.origin + from, mean: h.mean.subarray(from, to) })),
      );
    for (const [from, to] of [
      [0, 24],
      [24, 168],
    ] as const) {
      const mine = bucket(fit.hindcasts, from, to);
      for (const m of members) assert.ok(mine <= bucket(m, from, to) + 1e-9, `leads ${from}–${to}`);
    }
    const f = stack.forecast(fit.model, 168);
    for (let k = 0; k < 168; k++) {
      assert.ok(Number.isFinite(f.mean[k]!), `hour ${k}`);
      assert.ok(f.lo95[k]! <= f.lo80[k]! && f.lo80[k]! <= f.hi80[k]! && f.hi80[k]! <= f.hi95[k]!);
    }
    // Without global trees it is the ensemble and the series' own trees.
    assert.equal(fitStack(series[0]!, { calendar }).model.trees.length, 1);
  });
});
