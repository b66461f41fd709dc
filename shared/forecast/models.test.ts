import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../domain/random.ts';
import { ensemble } from './ensemble.ts';
import { holtWinters } from './holt-winters.ts';
import { intervalCoverage } from './intervals.ts';
import { FORECAST_METHODS, forecastMethod } from './methods.ts';
import { regression } from './regression.ts';
import { seasonalNaive } from './seasonal-naive.ts';
import { splitAt, syntheticDemand, syntheticProfile } from './synthetic.ts';
import { absoluteHour, type ForecastMethod, HOUR_MS, WEEK_HOURS } from './types.ts';

const TRAIN_HOURS = 16 * WEEK_HOURS;
const series = syntheticDemand({ hours: TRAIN_HOURS + WEEK_HOURS, level: 20, noise: 1.5, seed: 7 });
const { history, actual } = splitAt(series, TRAIN_HOURS);

const mae = (a: ArrayLike<number>, f: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - f[i]!);
  return s / a.length;
};
const run = (method: ForecastMethod, h = history) => method.forecast(method.fit(h), WEEK_HOURS);

describe('every forecasting method on a synthetic double-seasonal series with noise', () => {
  const historyMean = history.values.reduce((a, b) => a + b, 0) / history.values.length;
  const naiveMae = mae(actual, run(seasonalNaive).mean);

  for (const method of FORECAST_METHODS) {
    it(`${method.id} beats a flat mean forecast by far`, () => {
      const forecast = run(method);
      assert.equal(forecast.mean.length, WEEK_HOURS);
      assert.equal(forecast.startMs, history.startMs + TRAIN_HOURS * HOUR_MS);
      const flat = mae(actual, new Float64Array(WEEK_HOURS).fill(historyMean));
      assert.ok(mae(actual, forecast.mean) < 0.5 * flat, `${mae(actual, forecast.mean)} vs flat ${flat}`);
    });

    it(`${method.id} is deterministic`, () => {
      assert.deepEqual(run(method), run(method));
    });

    it(`${method.id} keeps lo95 ≤ lo80 ≤ mean ≤ hi80 ≤ hi95`, () => {
      const f = run(method);
      for (let k = 0; k < WEEK_HOURS; k++) {
        assert.ok(f.lo95[k]! <= f.lo80[k]! && f.lo80[k]! <= f.mean[k]! + 1e-9, `lead ${k + 1}`);
        assert.ok(f.mean[k]! <= f.hi80[k]! + 1e-9 && f.hi80[k]! <= f.hi95[k]!, `lead ${k + 1}`);
      }
    });
  }

  for (const method of [holtWinters, regression, ensemble]) {
    it(`${method.id} beats the seasonal naive (which carries last week's noise)`, () => {
      const m = mae(actual, run(method).mean);
      assert.ok(m < naiveMae, `${m} vs naive ${naiveMae}`);
    });
  }

  it('finds each method by id and rejects an unknown one', () => {
    for (const method of FORECAST_METHODS) assert.equal(forecastMethod(method.id), method);
    assert.throws(() => forecastMethod('prophet'), /unknown forecast method prophet/);
  });

  it('refuses horizons beyond a week', () => {
    const model = seasonalNaive.fit(history);
    assert.throws(() => seasonalNaive.forecast(model, 169), RangeError);
    assert.throws(() => seasonalNaive.forecast(model, 0), RangeError);
    assert.equal(seasonalNaive.forecast(model, 5).mean.length, 5);
  });
});

describe('seasonal naive', () => {
  it('reproduces the last week exactly on a clean periodic series', () => {
    const clean = syntheticDemand({ hours: 4 * WEEK_HOURS, noise: 0 });
    const f = run(seasonalNaive, clean);
    assert.deepEqual(Array.from(f.mean), Array.from(clean.values.subarray(3 * WEEK_HOURS)));
  });

  it('fills a gap last week from the week before', () => {
    const clean = syntheticDemand({ hours: 4 * WEEK_HOURS, noise: 0 });
    const values = clean.values.slice();
    values.fill(Number.NaN, 3 * WEEK_HOURS + 10, 3 * WEEK_HOURS + 40);
    const f = run(seasonalNaive, { startMs: clean.startMs, values });
    assert.deepEqual(Array.from(f.mean), Array.from(clean.values.subarray(3 * WEEK_HOURS)));
  });
});

describe('prediction intervals', () => {
  // Twenty origins a week apart on one long series: enough forecast hours for coverage to mean something.
  const long = syntheticDemand({ hours: 30 * WEEK_HOURS, level: 20, noise: 1.5, seed: 11 });
  const origins = Array.from({ length: 8 }, (_, i) => (12 + i) * WEEK_HOURS);

  for (const method of FORECAST_METHODS) {
    it(`${method.id} intervals hold the truth about as often as they claim`, () => {
      let in80 = 0;
      let in95 = 0;
      for (const cut of origins) {
        const { history: h, actual: a } = splitAt(long, cut);
        const f = method.forecast(method.fit(h), WEEK_HOURS);
        const truth = a.subarray(0, WEEK_HOURS);
        in80 += intervalCoverage(truth, f.lo80, f.hi80) / origins.length;
        in95 += intervalCoverage(truth, f.lo95, f.hi95) / origins.length;
      }
      assert.ok(in80 > 0.7 && in80 < 0.92, `80 % interval held ${in80}`);
      assert.ok(in95 > 0.88 && in95 <= 1, `95 % interval held ${in95}`);
    });
  }

  it('widen with lead time (same hour of day, a day further out) when the level wanders', () => {
    const wandering = syntheticDemand({
      hours: TRAIN_HOURS,
      level: 20,
      noise: 0.5,
      levelWalk: 0.15,
      seed: 5,
    });
    const f = run(holtWinters, wandering);
    for (let k = 0; k + 24 < WEEK_HOURS; k++) {
      assert.ok(f.hi95[k + 24]! - f.lo95[k + 24]! >= f.hi95[k]! - f.lo95[k]! - 1e-9, `lead ${k + 1}`);
    }
    assert.ok(f.hi95[WEEK_HOURS - 1]! - f.lo95[WEEK_HOURS - 1]! > f.hi95[23]! - f.lo95[23]!);
  });
});

describe('gaps in the training data', () => {
  const random = seededRandom(3);
  const values = history.values.map((v) => (random() < 0.1 ? Number.NaN : v));
  values.fill(Number.NaN, 3 * WEEK_HOURS, 3 * WEEK_HOURS + 72); // three silent days
  values.fill(Number.NaN, TRAIN_HOURS - 5); // the last hours missing too
  const gappy = { startMs: history.startMs, values };

  for (const method of FORECAST_METHODS) {
    it(`${method.id} still forecasts every hour, finite and close`, () => {
      const f = run(method, gappy);
      for (const arr of [f.mean, f.lo80, f.hi80, f.lo95, f.hi95]) assert.ok(arr.every(Number.isFinite));
      const h0 = absoluteHour(f.startMs);
      const truth = Float64Array.from({ length: WEEK_HOURS }, (_, k) => syntheticProfile(h0 + k, 20));
      assert.ok(mae(truth, f.mean) < 2.5, `${method.id}: ${mae(truth, f.mean)}`);
    });
  }

  it('a history shorter than a week: a forecast with unknown (NaN) intervals, or a clear refusal', () => {
    const short = splitAt(history, 72).history;
    for (const method of [seasonalNaive, holtWinters] as ForecastMethod[]) {
      const f = run(method, short);
      assert.ok(f.mean.every(Number.isFinite) && f.hi95.every(Number.isNaN), method.id);
    }
    assert.throws(() => regression.fit(short), /too few values/);
  });

  it('holt-winters refuses a history without any value', () => {
    assert.throws(
      () => holtWinters.fit({ startMs: 0, values: new Float64Array(500).fill(Number.NaN) }),
      RangeError,
    );
  });

  for (const method of [holtWinters, regression] as ForecastMethod[]) {
    it(`${method.id} learns nothing from hours the training mask leaves out`, () => {
      // Weeks 1–2 go wild, and the mask leaves out weeks 0–6: no kept hour nor its inputs reach back to them.
      const wild = history.values.slice();
      wild.fill(500, WEEK_HOURS, 3 * WEEK_HOURS);
      const trainingMask = new Uint8Array(TRAIN_HOURS).fill(1).fill(0, 0, 7 * WEEK_HOURS);
      const fitWith = (values: Float64Array) =>
        method.forecast(method.fit({ startMs: history.startMs, values }, { trainingMask }), WEEK_HOURS);
      assert.deepEqual(fitWith(wild), fitWith(history.values));
      assert.notDeepEqual(
        method.forecast(method.fit({ startMs: history.startMs, values: wild }), WEEK_HOURS),
        fitWith(history.values),
      );
    });
  }
});
