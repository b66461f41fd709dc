import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitBoosted } from './boosted.ts';
import { createCalendar } from './calendar.ts';
import { ensemble } from './ensemble.ts';
import { fitGlobalTrees, GLOBAL_GBM_PARAMS, globalBlend } from './global.ts';
import { syntheticDemand } from './synthetic.ts';
import { HOUR_MS, type HourlySeries, WEEK_HOURS } from './types.ts';

const calendar = createCalendar({ timeZone: 'UTC', holidays: [], bridgeDays: false });
// Small trees: the test is about what the global model reads, not how well it forecasts.
const params = { ...GLOBAL_GBM_PARAMS, trees: { ...GLOBAL_GBM_PARAMS.trees, trees: 30, maxDepth: 3 } };
const weeks = 12;
/** Three districts of very different size, twelve weeks each, ending at the same hour. */
const peers: HourlySeries[] = [5, 20, 80].map((level, i) =>
  syntheticDemand({ hours: weeks * WEEK_HOURS, level, noise: level * 0.04, seed: 11 + i }),
);
const endMs = peers[0]!.startMs + weeks * WEEK_HOURS * HOUR_MS;
const cutAt = (s: HourlySeries, ms: number): HourlySeries => ({
  startMs: s.startMs,
  values: s.values.slice(0, (ms - s.startMs) / HOUR_MS),
});

describe('global trees (one model over many series)', () => {
  it('fitted at an origin, read nothing after it, and the holdout trees nothing at or after the holdout end', () => {
    const originMs = endMs - WEEK_HOURS * HOUR_MS;
    const a = fitGlobalTrees(
      peers.map((s) => ({ history: cutAt(s, originMs) })),
      { calendar },
      params,
    );
    // The same origin, but each history carries a wild week after it, cut off by the origin as the eval does.
    const wild = peers.map((s) => {
      const values = s.values.slice();
      for (let i = values.length - WEEK_HOURS; i < values.length; i++) values[i] = values[i]! * 5 + 100;
      return { history: cutAt({ startMs: s.startMs, values }, originMs) };
    });
    const b = fitGlobalTrees(wild, { calendar }, params);
    assert.deepEqual(a, b);
    assert.equal(a.series, 3);
    assert.equal(a.dataEndMs, originMs);
    assert.equal(a.holdoutEndMs, originMs - params.holdoutHours * HOUR_MS);
    // The holdout trees (for the replays) read nothing at or after the holdout's end.
    const early = peers.map((s) => {
      const values = s.values.slice();
      const from = (a.holdoutEndMs - s.startMs) / HOUR_MS;
      for (let i = from; i < values.length; i++) values[i] = values[i]! * 3;
      return { history: cutAt({ startMs: s.startMs, values }, originMs) };
    });
    assert.deepEqual(fitGlobalTrees(early, { calendar }, params).holdout, a.holdout);
  });

  it('serve a series they never saw, and a series refuses trees fitted on data after its end', () => {
    const originMs = endMs - WEEK_HOURS * HOUR_MS;
    const global = fitGlobalTrees(
      peers.slice(0, 2).map((s) => ({ history: cutAt(s, originMs) })),
      { calendar },
      params,
    );
    const unseen = cutAt(peers[2]!, originMs);
    const actual = peers[2]!.values.subarray(unseen.values.length);
    const model = globalBlend.fit(unseen, { calendar, globalTrees: global });
    const f = globalBlend.forecast(model, WEEK_HOURS);
    let err = 0;
    let spread = 0;
    const level = actual.reduce((a, b) => a + b, 0) / actual.length;
    for (let k = 0; k < WEEK_HOURS; k++) {
      err += Math.abs(actual[k]! - model.gbm.mean[k]!);
      spread += Math.abs(actual[k]! - level);
      assert.ok(f.lo95[k]! <= f.mean[k]! && f.mean[k]! <= f.hi95[k]!, `hour ${k}`);
    }
    // The trees alone, on a series 4–16 times the size of those they learned on, beat a flat mean by far.
    assert.ok(err < 0.4 * spread, `global trees MAE ${err / WEEK_HOURS} vs flat ${spread / WEEK_HOURS}`);
    const e = ensemble.forecast(model.ensemble, WEEK_HOURS).mean;
    for (let k = 0; k < WEEK_HOURS; k++) {
      const lo = Math.min(e[k]!, model.gbm.mean[k]!) - 1e-9;
      const hi = Math.max(e[k]!, model.gbm.mean[k]!) + 1e-9;
      assert.ok(f.mean[k]! >= lo && f.mean[k]! <= hi, `blend between its members at hour ${k}`);
    }
    const older = cutAt(peers[2]!, originMs - 24 * HOUR_MS);
    assert.throws(
      () => fitBoosted(older, { calendar, globalTrees: global }),
      /after the end of this history/,
    );
    assert.throws(() => globalBlend.fit(unseen, { calendar }), /no global trees/);
  });
});
