import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bwdfTotal, meanScore, scoreBwdf } from './score.ts';

describe('scoreBwdf', () => {
  it('scores day 1 and days 2–7 as the BWDF does, ignoring missing actuals', () => {
    const actual = new Float64Array(168).fill(10);
    const forecast = new Float64Array(168).fill(10);
    // Day 1: errors 2, 4 and a missing actual whose forecast is way off (ignored).
    forecast[0] = 12;
    forecast[5] = 6;
    actual[7] = Number.NaN;
    forecast[7] = 100;
    // Days 2–7: one error of 14.4 over 144 hours, one missing hour.
    forecast[30] = 24.4;
    actual[100] = Number.NaN;
    const s = scoreBwdf(actual, forecast);
    assert.equal(s.maeDay1, 6 / 23);
    assert.equal(s.maxAeDay1, 4);
    assert.ok(Math.abs(s.maeDays2to7 - 14.4 / 143) < 1e-12);
    assert.ok(Math.abs(bwdfTotal(s) - (6 / 23 + 4 + 14.4 / 143)) < 1e-12);
  });

  it('gives NaN for a window without actuals', () => {
    const s = scoreBwdf(new Float64Array(24).fill(Number.NaN), new Float64Array(24));
    assert.ok(Number.isNaN(s.maeDay1) && Number.isNaN(s.maxAeDay1) && Number.isNaN(s.maeDays2to7));
    assert.ok(Number.isNaN(bwdfTotal(s)));
  });

  it('averages scores over weeks, skipping NaN', () => {
    const m = meanScore([
      { maeDay1: 1, maxAeDay1: 3, maeDays2to7: 2 },
      { maeDay1: 3, maxAeDay1: 5, maeDays2to7: Number.NaN },
    ]);
    assert.deepEqual(m, { maeDay1: 2, maxAeDay1: 4, maeDays2to7: 2 });
  });
});
