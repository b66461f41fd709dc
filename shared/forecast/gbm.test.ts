import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../domain/random.ts';
import { DEFAULT_GBM_PARAMS, type Design, fitGbm, predictGbm } from './gbm.ts';

/** y = 3·[x0 > 0.5] + 2·x1·[x2 > 0] + noise, x3 pure noise; x1 missing in a tenth of the rows. */
function data(rows: number, seed: number): { d: Design; y: Float64Array; truth: Float64Array } {
  const random = seededRandom(seed);
  const x = new Float64Array(rows * 4);
  const y = new Float64Array(rows);
  const truth = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const x0 = random();
    const x1 = random() * 2;
    const x2 = random() - 0.5;
    x.set([x0, random() < 0.1 ? Number.NaN : x1, x2, random()], r * 4);
    truth[r] = 3 * (x0 > 0.5 ? 1 : 0) + 2 * x1 * (x2 > 0 ? 1 : 0);
    y[r] = truth[r]! + 0.1 * (random() - 0.5);
  }
  return { d: { rows, features: 4, x }, y, truth };
}

const mae = (d: Design, model: ReturnType<typeof fitGbm>, truth: Float64Array): number => {
  let s = 0;
  for (let r = 0; r < d.rows; r++) s += Math.abs(predictGbm(model, d.x, r * d.features) - truth[r]!);
  return s / d.rows;
};

describe('gradient-boosted trees', () => {
  const train = data(3000, 1);
  const test = data(1000, 2);
  const ones = new Float64Array(train.d.rows).fill(1);
  const model = fitGbm(train.d, train.y, ones);

  it('weigh gradients as hessians: rows of tiny weight (old rows under a recency weight) barely count', () => {
    // Every row twice: once as it is (weight 1), once 10 higher (weight 0.001). The fit follows the first.
    const n = train.d.rows;
    const x = new Float64Array(2 * n * 4);
    x.set(train.d.x, 0);
    x.set(train.d.x, n * 4);
    const y = new Float64Array(2 * n);
    const w = new Float64Array(2 * n);
    for (let r = 0; r < n; r++) {
      y[r] = train.y[r]!;
      y[n + r] = train.y[r]! + 10;
      w[r] = 1;
      w[n + r] = 0.001;
    }
    const m = fitGbm({ rows: 2 * n, features: 4, x }, y, w);
    const a = mae(test.d, m, test.truth);
    assert.ok(a < 1.2 * mae(test.d, model, test.truth) + 0.02, `MAE ${a}`);
    // Weights are relative: all 0.01 fits what all 1 fits.
    const small = fitGbm(train.d, train.y, new Float64Array(n).fill(0.01));
    const b = mae(test.d, small, test.truth);
    assert.ok(Math.abs(b - mae(test.d, model, test.truth)) < 0.01, `MAE ${b} with weights 0.01`);
  });

  it('learn a step and an interaction out of sample (a mean forecast is far worse)', () => {
    const meanY = train.y.reduce((a, b) => a + b, 0) / train.y.length;
    const flat = test.truth.reduce((a, t) => a + Math.abs(t - meanY), 0) / test.truth.length;
    const m = mae(test.d, model, test.truth);
    assert.ok(m < 0.15 * flat, `MAE ${m.toFixed(3)} vs a flat ${flat.toFixed(3)}`);
    assert.ok(m < 0.3, `MAE ${m.toFixed(3)}`);
  });

  it('are deterministic and plain data', () => {
    assert.deepEqual(fitGbm(train.d, train.y, ones), model);
    assert.equal(model.roots.length, DEFAULT_GBM_PARAMS.trees);
  });

  it('send missing values the way that fits: rows with x1 missing still get the step in x0', () => {
    const row = (x0: number) => [x0, Number.NaN, -0.2, 0.5];
    assert.ok(predictGbm(model, row(0.9)) - predictGbm(model, row(0.1)) > 2.5);
  });

  it('leave out rows of weight 0 (their targets may be anything)', () => {
    const wild = train.y.slice();
    const weights = ones.slice();
    for (let r = 0; r < train.d.rows; r += 3) {
      wild[r] = 1000;
      weights[r] = 0;
    }
    const a = fitGbm(train.d, wild, weights);
    const b = fitGbm(
      train.d,
      train.y.map((v, r) => (r % 3 === 0 ? -1000 : v)),
      weights,
    );
    assert.deepEqual(a, b);
    assert.ok(mae(test.d, a, test.truth) < 0.35);
  });

  it('refuse to train without a row', () => {
    assert.throws(() => fitGbm(train.d, train.y, new Float64Array(train.d.rows)), RangeError);
  });
});
