import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, seededRandom } from './random.ts';

test('the same seed gives the same uniform draws in [0, 1), another seed others', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const draws = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(
    Array.from({ length: 1000 }, () => b()),
    draws,
  );
  assert.ok(draws.every((x) => x >= 0 && x < 1));
  assert.notEqual(seededRandom(43)(), draws[0]);
});

test('gaussian draws have mean about 0 and variance about 1', () => {
  const normal = gaussian(seededRandom(7));
  const n = 20_000;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const x = normal();
    sum += x;
    sumSq += x * x;
  }
  const mean = sum / n;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(sumSq / n - mean * mean - 1) < 0.05);
});
