/**
 * Nothing after a forecast origin is read: the deployed replay (every method, the registry's `cycle` and the
 * week-old `cycle-7d`) and the BWDF protocol's global trees give bit-identical forecasts when every value after the
 * origin is changed — and different ones when a value before it is (so the comparison is not vacuous). The BWDF
 * protocol's one read past the origin is the observed weather of the forecast week, its stand-in for a weather
 * forecast; the deployed replay reads no weather at all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKTEST_WEEKS, trainModels } from '../../shared/cycle/forecasting/forecast-training.ts';
import { blend } from '../../shared/forecast/boosted.ts';
import { createCalendar } from '../../shared/forecast/calendar.ts';
import { globalBlend } from '../../shared/forecast/global.ts';
import { syntheticDemand } from '../../shared/forecast/synthetic.ts';
import { type Forecast, HOUR_MS, type HourlySeries, WEEK_HOURS } from '../../shared/forecast/types.ts';
import { globalTreesBefore, rollingOriginBacktest } from './backtest.ts';
import {
  type DeployedForecasts,
  historyBefore,
  RegistryReplay,
  replayDeployed,
  trainDeployed,
} from './deployed.ts';

const weeks = 13;
const series = syntheticDemand({
  hours: weeks * WEEK_HOURS,
  level: 20,
  noise: 0.8,
  levelWalk: 0.02,
  seed: 7,
});
const endMs = series.startMs + weeks * WEEK_HOURS * HOUR_MS;
/** Two consecutive weekly origins, each leaving a week after it; eight weeks before the first (the trees need them). */
const origins = [endMs - 3 * WEEK_HOURS * HOUR_MS, endMs - 2 * WEEK_HOURS * HOUR_MS];

/** The series with every hour from `fromMs` on changed (a level shift, noise and gaps). */
function perturbedFrom(s: HourlySeries, fromMs: number): HourlySeries {
  const values = s.values.slice();
  for (let i = (fromMs - s.startMs) / HOUR_MS; i < values.length; i++) {
    values[i] = i % 11 === 0 ? Number.NaN : values[i]! * 3 + (i % 5);
  }
  return { startMs: s.startMs, values };
}

const flat = (f: Forecast) => [f.startMs, ...f.mean, ...f.lo80, ...f.hi80, ...f.lo95, ...f.hi95];
const flatReplay = (r: DeployedForecasts[]) =>
  r.map((o) => ({
    originMs: o.originMs,
    forecasts: o.forecasts.map((f) => ({ id: f.methodId, by: f.servedBy, v: flat(f.forecast) })),
  }));

describe('nothing after a forecast origin is read', () => {
  it('the deployed replay: every method, the cycle and the week-old cycle bit-identical whatever follows the last origin', () => {
    const replay = [...replayDeployed(series, origins, 'Europe/Rome')];
    assert.deepEqual(
      replay.map((o) => o.forecasts.map((f) => f.methodId)),
      origins.map(() => [
        'seasonal-naive',
        'holt-winters',
        'regression',
        'ensemble',
        'gbm',
        'blend',
        'combination',
        'cycle',
        'cycle-7d',
      ]),
    );
    const after = [...replayDeployed(perturbedFrom(series, origins[1]!), origins, 'Europe/Rome')];
    assert.deepEqual(flatReplay(after), flatReplay(replay));
    // Not vacuous: the last day before the origin does change the last origin's forecasts.
    const before = [
      ...replayDeployed(perturbedFrom(series, origins[1]! - 24 * HOUR_MS), origins, 'Europe/Rome'),
    ];
    assert.deepEqual(flatReplay(before)[0], flatReplay(replay)[0]);
    assert.notDeepEqual(flatReplay(before)[1], flatReplay(replay)[1]);
  });

  it('the BWDF protocol: the global trees and the global blend read no flow after the origin, only the weather of the forecast week', () => {
    const calendar = createCalendar({ timeZone: 'UTC', holidays: [], bridgeDays: false });
    const peers = [5, 20, 80].map((level, i) =>
      syntheticDemand({ hours: weeks * WEEK_HOURS, level, noise: level * 0.04, seed: 11 + i }),
    );
    const hours = weeks * WEEK_HOURS;
    const weather = {
      startMs: series.startMs,
      airTemperature: Float64Array.from({ length: hours }, (_, i) => 15 + 8 * Math.sin((i / 24) * Math.PI)),
      rainfall: Float64Array.from({ length: hours }, (_, i) => (i % 97 < 3 ? 2 : 0)),
    };
    const originMs = origins[1]!;
    const run = (all: HourlySeries[], w: typeof weather) => {
      const globalTrees = globalTreesBefore(all, originMs, { calendar, weather: w });
      return rollingOriginBacktest({
        series: all[1]!,
        methods: [globalBlend, blend],
        originsMs: [originMs],
        optionsAt: (_, id) => (id === globalBlend.id ? { globalTrees } : {}),
        calendar,
        weather: w,
      }).map((o) => ({ id: o.methodId, v: flat(o.forecast) }));
    };
    const base = run(peers, weather);
    assert.deepEqual(
      run(
        peers.map((s) => perturbedFrom(s, originMs)),
        weather,
      ),
      base,
    );
    // The weather of the forecast week is read (the perfect weather forecast, labelled as a study): changing it
    // changes the forecasts, which is why the deployed configuration runs without it.
    const hotter = {
      ...weather,
      airTemperature: weather.airTemperature.map((t, i) =>
        series.startMs + i * HOUR_MS >= originMs ? t + 15 : t,
      ),
    };
    assert.notDeepEqual(run(peers, hotter), base);
  });
});

describe('the replay scores as the cycle trains', () => {
  it("the registry's backtest scores, from one-week backtests at consecutive origins, equal the cycle's multi-week backtest", () => {
    // Under eight weeks of history the first challenger is the ensemble (the trees wait): fast methods only.
    const young = { startMs: series.startMs, values: series.values.slice(0, 7 * WEEK_HOURS) };
    const originMs = young.startMs + 7 * WEEK_HOURS * HOUR_MS;
    const methodIds = ['seasonal-naive', 'ensemble'];
    const replay = new RegistryReplay();
    for (let k = BACKTEST_WEEKS - 1; k >= 1; k--) {
      const at = originMs - k * WEEK_HOURS * HOUR_MS;
      replay.record(at, trainDeployed(historyBefore(young, at), at, 'Europe/Rome', methodIds));
    }
    const history = historyBefore(young, originMs);
    replay.step(history, originMs, trainDeployed(history, originMs, 'Europe/Rome', methodIds));
    const cycle = trainModels({
      history,
      dataEndMs: originMs,
      timeZone: 'Europe/Rome',
      unit: 'L/s',
      methodIds,
      trainedMs: originMs,
    });
    const state = replay.state!;
    // The first training: the baseline champion and the ensemble as challenger, promoted when it backtests better.
    const scores = [state.champion, state.challenger ?? state.previousChampion!].map(
      (e): [string, number] => [e.modelId, e.backtestScore],
    );
    assert.deepEqual(
      new Map(scores),
      new Map(cycle.map((t) => [t.methodId, t.score])),
      'the same numbers: the same fits on the same data',
    );
    assert.ok(cycle.every((t) => t.weeklyTotals.filter(Number.isFinite).length >= 3));
  });
});
