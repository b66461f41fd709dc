import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BlendModel, blend, fitBlend } from './boosted.ts';
import { combination, combinationOf } from './combination.ts';
import { ensemble } from './ensemble.ts';
import { holtWinters } from './holt-winters.ts';
import { regression } from './regression.ts';
import { syntheticDemand } from './synthetic.ts';

/** Only the weights are read by `combinationOf`. */
const weights = (ensembleWeights: [number, number], blendWeights: [number, number]) =>
  ({ ensemble: { weights: ensembleWeights }, weights: blendWeights }) as unknown as BlendModel;

test('the combination is the trimmed mean of its five members: the highest and the lowest left out', () => {
  // Members at hour 0: holt-winters 10, regression 20, ensemble 15, trees 40, blend 27.5 → (15 + 20 + 27.5) / 3.
  const m = weights([0.5, 0.5], [0.5, 0.5]);
  const [v] = combinationOf(m, [10], [20], [40]);
  assert.equal(v, (15 + 20 + 27.5) / 3);
  // One member astray moves it no further than the members in the middle allow (the equal mean would follow it).
  const [far] = combinationOf(weights([0.5, 0.5], [1, 0]), [10], [20], [1000]);
  // Members: 10, 20, 15 (ensemble), 1000 (trees), 15 (blend, all ensemble) → 1000 and 10 left out.
  assert.equal(far, (20 + 15 + 15) / 3);
  // Gaps: a missing member is left out; with fewer than three left, their plain mean.
  const [noTrees] = combinationOf(m, [10], [20], [Number.NaN]);
  // holt-winters 10, regression 20, ensemble 15, blend 15 (the trees missing) → 15 and 15 kept.
  assert.equal(noTrees, 15);
  const [one] = combinationOf(m, [Number.NaN], [Number.NaN], [7]);
  assert.equal(one, 7);
});

test('the combination forecast is the trimmed mean of the forecasts the blend fit holds, in the blend intervals', () => {
  const history = syntheticDemand({ hours: 10 * 168, seed: 3, noise: 0.6, levelWalk: 0.02 });
  const model = fitBlend(history).model;
  const f = combination.forecast(model, 168);
  const b = blend.forecast(model, 168);
  const members = [
    holtWinters.forecast(model.ensemble.holtWinters, 168).mean,
    regression.forecast(model.ensemble.regression, 168).mean,
    ensemble.forecast(model.ensemble, 168).mean,
    model.gbm.mean,
  ];
  for (let k = 0; k < 168; k += 17) {
    const xs = [...members.map((x) => x[k]!)];
    xs.push(xs[2]! * model.weights[0] + xs[3]! * model.weights[1]);
    xs.sort((a, b) => a - b);
    assert.ok(Math.abs(f.mean[k]! - (xs[1]! + xs[2]! + xs[3]!) / 3) < 1e-9, `hour ${k}`);
    // The blend's intervals around the combination's mean: the same offsets as around the blend's own forecast.
    for (const side of ['lo80', 'hi80', 'lo95', 'hi95'] as const) {
      const own = f[side][k]! - f.mean[k]!;
      const blends = b[side][k]! - b.mean[k]!;
      assert.ok(Math.abs(own - blends) < 1e-9, `${side} at hour ${k}: ${own} vs ${blends}`);
    }
  }
});
