import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holtWinters } from '../../shared/forecast/holt-winters.ts';
import { intervalCoverage } from '../../shared/forecast/intervals.ts';
import { bwdfTotal } from '../../shared/forecast/score.ts';
import { seasonalNaive } from '../../shared/forecast/seasonal-naive.ts';
import { syntheticDemand } from '../../shared/forecast/synthetic.ts';
import { HOUR_MS, WEEK_HOURS } from '../../shared/forecast/types.ts';
import { rollingOriginBacktest, rollingOrigins } from './backtest.ts';

describe('rollingOrigins', () => {
  it('gives weekly origins ending one horizon before the end of the series', () => {
    const series = syntheticDemand({ hours: 20 * WEEK_HOURS });
    const origins = rollingOrigins(series, 3);
    const endMs = series.startMs + 20 * WEEK_HOURS * HOUR_MS;
    assert.deepEqual(
      origins.map((o) => (endMs - o) / HOUR_MS),
      [3 * WEEK_HOURS, 2 * WEEK_HOURS, WEEK_HOURS],
    );
  });
});

describe('intervalCoverage', () => {
  it('counts actuals inside the band, skipping gaps', () => {
    assert.equal(intervalCoverage([1, 5, Number.NaN, 3], [0, 0, 0, 4], [2, 2, 2, 6]), 1 / 3);
  });
});

describe('rollingOriginBacktest', () => {
  it('fits each method per origin on the data before it and scores the week after', () => {
    const series = syntheticDemand({ hours: 14 * WEEK_HOURS, noise: 1, seed: 4 });
    const originsMs = rollingOrigins(series, 2);
    const outcomes = rollingOriginBacktest({ series, methods: [seasonalNaive, holtWinters], originsMs });
    assert.deepEqual(
      outcomes.map((o) => [o.methodId, o.originMs]),
      [
        ['seasonal-naive', originsMs[0]],
        ['holt-winters', originsMs[0]],
        ['seasonal-naive', originsMs[1]],
        ['holt-winters', originsMs[1]],
      ],
    );
    for (const o of outcomes) {
      assert.equal(o.forecast.startMs, o.originMs);
      assert.ok(bwdfTotal(o.score) > 0 && o.coverage80 > 0.5 && o.coverage95 >= o.coverage80);
    }
  });

  it('rejects an origin outside the series', () => {
    const series = syntheticDemand({ hours: 4 * WEEK_HOURS });
    assert.throws(
      () =>
        rollingOriginBacktest({ series, methods: [seasonalNaive], originsMs: [series.startMs - HOUR_MS] }),
      RangeError,
    );
  });
});
