import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FORECAST_METHODS } from '../../forecast/methods.ts';
import { trainingMask } from '../../forecast/sampling.ts';
import { syntheticDemand } from '../../forecast/synthetic.ts';
import { HOUR_MS, WEEK_HOURS } from '../../forecast/types.ts';
import { calendarFor, refreshForecast, type StoredModel, TAIL_HOURS } from './forecast-refresh.ts';
import { decodeModel, encodeModel } from './model-codec.ts';

const TZ = 'Europe/Rome';
const series = syntheticDemand({ hours: 7 * WEEK_HOURS, seed: 5, noise: 0.8, levelWalk: 0.02 });
const fitHours = 6 * WEEK_HOURS;
const history = { startMs: series.startMs, values: series.values.slice(0, fitHours) };
const dataEnd = series.startMs + fitHours * HOUR_MS;

function stored(methodId: string): {
  stored: StoredModel;
  direct: ReturnType<(typeof FORECAST_METHODS)[number]['forecast']>;
} {
  const method = FORECAST_METHODS.find((m) => m.id === methodId)!;
  const model = method.fit(history, {
    calendar: calendarFor(TZ),
    trainingMask: trainingMask(history.startMs, fitHours, dataEnd),
  });
  const s: StoredModel = {
    methodId,
    model,
    tail: {
      startMs: dataEnd - Math.min(fitHours, TAIL_HOURS) * HOUR_MS,
      values: history.values.slice(-TAIL_HOURS),
    },
    timeZone: TZ,
    trainedMs: dataEnd,
    dataToMs: dataEnd,
    unit: 'L/s',
  };
  return { stored: s, direct: method.forecast(model, 168) };
}

for (const method of FORECAST_METHODS) {
  test(`${method.id}: refreshed with no new data (and stored as JSON), it reproduces its own forecast`, () => {
    const { stored: s, direct } = stored(method.id);
    const roundTrip = decodeModel<StoredModel>(JSON.parse(JSON.stringify(encodeModel(s))));
    const refreshed = refreshForecast(roundTrip, { startMs: dataEnd, values: new Float64Array(0) }, dataEnd);
    assert.equal(refreshed.startMs, direct.startMs);
    for (const k of ['mean', 'lo80', 'hi80', 'lo95', 'hi95'] as const) {
      assert.deepEqual(Array.from(refreshed[k]), Array.from(direct[k]), k);
    }
  });

  test(`${method.id}: refreshed with a day of new data, it forecasts the week after it, intervals ordered`, () => {
    const { stored: s } = stored(method.id);
    const recent = { startMs: dataEnd, values: series.values.slice(fitHours, fitHours + 24) };
    const end = dataEnd + 24 * HOUR_MS;
    const f = refreshForecast(s, recent, end);
    assert.equal(f.startMs, end);
    assert.equal(f.mean.length, 168);
    for (let i = 0; i < 168; i++) {
      assert.ok(
        f.lo95[i]! <= f.lo80[i]! && f.lo80[i]! <= f.mean[i]! && f.mean[i]! <= f.hi80[i]!,
        `hour ${i}`,
      );
      assert.ok(f.hi80[i]! <= f.hi95[i]!, `hour ${i}`);
    }
    // The new day moved the forecast: it is not the old forecast shifted by a day.
    const actual = series.values.slice(fitHours + 24, fitHours + 48);
    const mae = actual.reduce((a, v, i) => a + Math.abs(v - f.mean[i]!), 0) / 24;
    assert.ok(mae < 3, `day-1 MAE ${mae.toFixed(2)} on a level of 20`);
  });
}

test('a stored model round-trips typed arrays and NaN exactly', () => {
  const value = {
    a: new Float64Array([1.5, Number.NaN, -0]),
    b: new Uint8Array([0, 255]),
    c: Number.NaN,
    d: [1, 'x'],
  };
  const back = decodeModel<typeof value>(JSON.parse(JSON.stringify(encodeModel(value))));
  assert.ok(back.a instanceof Float64Array);
  assert.ok(Number.isNaN(back.a[1]!));
  assert.deepEqual(Array.from(back.b), [0, 255]);
  assert.ok(Number.isNaN(back.c));
  assert.deepEqual(back.d, [1, 'x']);
});
