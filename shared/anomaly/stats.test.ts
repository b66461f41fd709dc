import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffSigma, gradeBy, mad, median, medianOfRange, quantile } from './stats.ts';

test('median, quantiles and MAD ignore NaN', () => {
  assert.equal(median([3, Number.NaN, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(quantile([0, 10], 0.1), 1);
  assert.equal(mad([1, 2, 3, 4, 100]), 1);
});

test('medianOfRange agrees with median on any range, long ones included', () => {
  const xs = Array.from({ length: 200 }, (_, i) => ((i * 7919) % 101) - 50 + (i % 13 === 0 ? Number.NaN : 0));
  for (const [a, b] of [
    [0, 1],
    [3, 9],
    [10, 26],
    [0, 200],
    [50, 50],
  ] as const) {
    const expected = median(xs.slice(a, b));
    const got = medianOfRange(xs, a, b);
    assert.ok(Object.is(got, expected) || got === expected, `${a}..${b}: ${got} vs ${expected}`);
  }
});

test('diffSigma measures noise, not level shifts', () => {
  const steps = [...Array(50).fill(0), ...Array(50).fill(100)];
  assert.equal(diffSigma(steps), 0);
  assert.ok(Number.isNaN(diffSigma([1])));
});

test('gradeBy picks the most severe threshold reached', () => {
  const order = ['warning', 'minor', 'major', 'critical'] as const;
  assert.equal(gradeBy(12, { minor: 0, major: 10, critical: 30 }, order), 'major');
  assert.equal(gradeBy(-1, { minor: 0 }, order), undefined);
});
