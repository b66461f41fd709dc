import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choleskySolve, NormalEquations } from './ridge.ts';

describe('ridge', () => {
  it('solves a small symmetric positive definite system', () => {
    // [[4,2],[2,3]] x = [2,1] → x = [0.5, 0]
    const x = choleskySolve(Float64Array.of(4, 2, 2, 3), Float64Array.of(2, 1), 2);
    assert.ok(Math.abs(x[0]! - 0.5) < 1e-12 && Math.abs(x[1]!) < 1e-12);
  });

  it('recovers the coefficients of sparse rows, leaving unused columns at zero', () => {
    const eq = new NormalEquations(4);
    const truth = [3, -1, 0.5];
    for (let i = 0; i < 200; i++) {
      const dummy = i % 2; // one of two dummies, plus a numeric column
      const x = Math.sin(i);
      eq.add({ index: [dummy, 2], value: [1, x] }, truth[dummy]! + truth[2]! * x);
    }
    const beta = eq.solve([1e-9, 1e-9, 1e-9, 1]);
    assert.ok(
      Math.abs(beta[0]! - 3) < 1e-6 && Math.abs(beta[1]! + 1) < 1e-6 && Math.abs(beta[2]! - 0.5) < 1e-6,
    );
    assert.equal(beta[3], 0);
  });
});
