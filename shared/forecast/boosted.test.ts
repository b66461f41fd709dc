import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blend, fitBoosted, gbm } from './boosted.ts';
import { createCalendar } from './calendar.ts';
import { ensemble } from './ensemble.ts';
import { syntheticDemand, syntheticProfile } from './synthetic.ts';
import { absoluteHour, HOUR_MS, WEEK_HOURS } from './types.ts';

const DAY_MS = 24 * HOUR_MS;
const mae = (a: ArrayLike<number>, f: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - f[i]!);
  return s / a.length;
};

describe('gbm: calendar, holidays and what it may read', () => {
  // Twenty weeks from Monday 2024-01-01 (UTC), then the week to forecast. Every third Wednesday, and the
  // Wednesday of the forecast week, is a local holiday: demand follows the Sunday profile.
  const weeks = 20;
  const series = syntheticDemand({ hours: (weeks + 1) * WEEK_HOURS, level: 20, noise: 0.6, seed: 3 });
  const holidayWeeks: number[] = [];
  for (let w = 1; w < weeks; w += 3) holidayWeeks.push(w);
  const dates = [...holidayWeeks, weeks].map((w) =>
    new Date(series.startMs + (w * 7 + 2) * DAY_MS).toISOString().slice(0, 10),
  );
  const h0 = absoluteHour(series.startMs);
  for (const date of dates) {
    const start = (Date.parse(`${date}T00:00:00Z`) - series.startMs) / HOUR_MS;
    for (let k = 0; k < 24; k++) {
      // The same hour of the Sunday before, in the noise-free profile, plus the noise already there.
      const noise = series.values[start + k]! - syntheticProfile(h0 + start + k, 20);
      series.values[start + k] = syntheticProfile(h0 + start + k - 3 * 24, 20) + noise;
    }
  }
  const cut = weeks * WEEK_HOURS;
  const history = { startMs: series.startMs, values: series.values.slice(0, cut) };
  const actual = series.values.subarray(cut, cut + WEEK_HOURS);
  const withHolidays = createCalendar({
    timeZone: 'UTC',
    holidays: [],
    extraDates: dates,
    bridgeDays: false,
  });
  const without = createCalendar({ timeZone: 'UTC', holidays: [], bridgeDays: false });

  it('learns the configured holidays: the holiday of the forecast week is forecast as a Sunday', () => {
    const f = gbm.forecast(gbm.fit(history, { calendar: withHolidays }), WEEK_HOURS);
    const blind = gbm.forecast(gbm.fit(history, { calendar: without }), WEEK_HOURS);
    const day = actual.subarray(2 * 24, 3 * 24);
    const a = mae(day, f.mean.subarray(2 * 24, 3 * 24));
    const b = mae(day, blind.mean.subarray(2 * 24, 3 * 24));
    assert.ok(a < 0.6 * b, `holiday MAE ${a.toFixed(2)} with the calendar, ${b.toFixed(2)} without`);
    assert.ok(mae(actual, f.mean) < 1.2, `week MAE ${mae(actual, f.mean).toFixed(2)}`);
  });

  it('replays from a past origin without reading anything at or after it', () => {
    const origin = cut - 2 * WEEK_HOURS;
    const changed = history.values.slice();
    for (let i = origin; i < cut; i++) changed[i] = changed[i]! * 3 + 50;
    const a = fitBoosted(history, { calendar: withHolidays }, [origin]).hindcasts[0]!.mean;
    const b = fitBoosted({ ...history, values: changed }, { calendar: withHolidays }, [origin]).hindcasts[0]!
      .mean;
    assert.deepEqual(Array.from(a), Array.from(b));
  });

  it('learns nothing from hours the training mask leaves out (nor from the inputs of kept hours)', () => {
    // Weeks 1–2 go wild; the mask keeps weeks 9 on, whose lags reach back at most 5 weeks and a day past
    // their origin, at most a week earlier: no further back than week 3.
    const wild = history.values.slice();
    wild.fill(500, WEEK_HOURS, 3 * WEEK_HOURS);
    const trainingMask = new Uint8Array(cut).fill(1).fill(0, 0, 9 * WEEK_HOURS);
    const fitWith = (values: Float64Array) =>
      gbm.forecast(
        gbm.fit({ startMs: history.startMs, values }, { trainingMask, calendar: without }),
        WEEK_HOURS,
      );
    assert.deepEqual(fitWith(wild), fitWith(history.values));
  });

  it('blend weights the ensemble and the trees (a weight in tenths, from their replays) between the two; gbm refuses two weeks', () => {
    const model = blend.fit(history, { calendar: withHolidays });
    assert.ok(Math.abs(model.weights[0] + model.weights[1] - 1) < 1e-12);
    assert.ok(model.weights.every((w) => w >= 0 && w <= 1 && Math.abs(w * 10 - Math.round(w * 10)) < 1e-9));
    const f = blend.forecast(model, WEEK_HOURS);
    const e = ensemble.forecast(model.ensemble, WEEK_HOURS).mean;
    for (let k = 0; k < WEEK_HOURS; k++) {
      const lo = Math.min(e[k]!, model.gbm.mean[k]!) - 1e-9;
      const hi = Math.max(e[k]!, model.gbm.mean[k]!) + 1e-9;
      assert.ok(f.mean[k]! >= lo && f.mean[k]! <= hi, `hour ${k}`);
    }
    assert.throws(
      () => gbm.fit({ startMs: history.startMs, values: history.values.slice(0, 2 * WEEK_HOURS) }),
      /too few/,
    );
  });
});

describe('gbm: too short a history', () => {
  it('refuses a history shorter than its six weeks of replays with a RangeError (a backtest week of a young target skips it)', () => {
    const short = syntheticDemand({ hours: 5 * WEEK_HOURS, level: 20, noise: 0.6, seed: 4 });
    assert.throws(() => gbm.fit(short, {}), RangeError);
    const enough = syntheticDemand({ hours: 7 * WEEK_HOURS, level: 20, noise: 0.6, seed: 4 });
    assert.equal(gbm.forecast(gbm.fit(enough, {}), WEEK_HOURS).mean.length, WEEK_HOURS);
  });
});
