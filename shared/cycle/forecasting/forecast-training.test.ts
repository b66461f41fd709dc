import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forecastMethod } from '../../forecast/methods.ts';
import { syntheticDemand } from '../../forecast/synthetic.ts';
import { HOUR_MS, WEEK_HOURS } from '../../forecast/types.ts';
import { refreshForecast, TAIL_HOURS } from './forecast-refresh.ts';
import {
  BACKTEST_WEEKS,
  challengerFor,
  enoughHistory,
  firstChampion,
  nextChallenger,
  trainModels,
} from './forecast-training.ts';
import { slotDue, slotOffsetMs } from './forecaster.ts';
import { trainGlobalTrees } from './global-trees.ts';

const DAY_MS = 24 * HOUR_MS;

test('challengers rotate through the methods, never the champion', () => {
  assert.equal(nextChallenger('seasonal-naive'), 'combination');
  assert.equal(nextChallenger('combination'), 'blend');
  assert.equal(nextChallenger('blend', 'blend'), 'ensemble');
  assert.equal(nextChallenger('blend', 'ensemble'), 'gbm');
  assert.equal(nextChallenger('ensemble', 'ensemble'), 'gbm');
  assert.equal(nextChallenger('ensemble', 'gbm'), 'holt-winters');
  assert.equal(nextChallenger('ensemble', 'holt-winters'), 'regression');
  assert.equal(nextChallenger('ensemble', 'regression'), 'seasonal-naive');
  assert.equal(nextChallenger('ensemble', 'seasonal-naive'), 'combination');
  // Under eight weeks of history the trees wait: the ensemble challenges first.
  assert.equal(nextChallenger('seasonal-naive', undefined, 3 * 168), 'ensemble');
  assert.equal(nextChallenger('ensemble', 'ensemble', 3 * 168), 'holt-winters');
  // Where the tenant has global trees, the global blend comes first.
  assert.equal(nextChallenger('seasonal-naive', undefined, Number.POSITIVE_INFINITY, true), 'global-blend');
  assert.equal(nextChallenger('ensemble', 'seasonal-naive', Number.POSITIVE_INFINITY, true), 'global-blend');
  assert.equal(
    nextChallenger('global-blend', 'seasonal-naive', Number.POSITIVE_INFINITY, true),
    'combination',
  );
});

test('champion and challenger are backtested on the same last weeks, then fitted on everything', () => {
  const history = syntheticDemand({ hours: 5 * WEEK_HOURS, seed: 9, noise: 0.7, levelWalk: 0.03 });
  const end = history.startMs + history.values.length * HOUR_MS;
  assert.ok(enoughHistory(history));
  const trained = trainModels({
    history,
    dataEndMs: end,
    timeZone: 'Europe/Rome',
    unit: 'L/s',
    methodIds: ['seasonal-naive', 'ensemble'],
    trainedMs: end,
  });
  assert.deepEqual(
    trained.map((t) => t.methodId),
    ['seasonal-naive', 'ensemble'],
  );
  for (const t of trained) {
    assert.ok(Number.isFinite(t.score) && t.score > 0);
    assert.equal(t.stored.dataToMs, end);
    const kept = Math.min(TAIL_HOURS, history.values.length);
    assert.equal(t.stored.tail.values.length, kept);
    assert.equal(t.stored.tail.startMs + kept * HOUR_MS, end);
  }
  assert.ok(trained[1]!.score < trained[0]!.score, 'the ensemble beats the weekly naive here');
  // Several weeks, each fitted on the data before it; the score is the mean over the weeks both could backtest
  // (the ensemble needs two weeks to fit on: not the oldest week here), so the two compare on the same weeks.
  assert.ok(BACKTEST_WEEKS >= 3);
  const [naive, ens] = trained as [(typeof trained)[0], (typeof trained)[0]];
  assert.equal(naive.weeklyTotals.length, BACKTEST_WEEKS);
  const common = naive.weeklyTotals
    .map((_, k) => k)
    .filter((k) => Number.isFinite(naive.weeklyTotals[k]!) && Number.isFinite(ens.weeklyTotals[k]!));
  assert.ok(common.length >= 2 && common.length < BACKTEST_WEEKS, `weeks in common: ${common}`);
  assert.ok(
    Number.isFinite(naive.weeklyTotals[BACKTEST_WEEKS - 1]!),
    'the naive backtests the oldest week alone',
  );
  for (const t of trained) {
    const mean = common.reduce((s, k) => s + t.weeklyTotals[k]!, 0) / common.length;
    assert.ok(Math.abs(t.score - mean) < 1e-9 * mean, `${t.methodId}: ${t.score} against ${mean}`);
  }
  // The latest week is the one-week backtest.
  const oneWeek = trainModels({
    history,
    dataEndMs: end,
    timeZone: 'Europe/Rome',
    unit: 'L/s',
    methodIds: ['ensemble'],
    trainedMs: end,
    backtestWeeks: 1,
  });
  assert.equal(oneWeek[0]!.score, ens.weeklyTotals[0]);
});

test('the first champion: the combination from eight weeks of history, the baseline before', () => {
  assert.equal(firstChampion(syntheticDemand({ hours: 8 * WEEK_HOURS })), 'combination');
  assert.equal(firstChampion(syntheticDemand({ hours: 8 * WEEK_HOURS - 1 })), 'seasonal-naive');
});

test('two weeks of data are not enough to train on', () => {
  assert.equal(enoughHistory(syntheticDemand({ hours: 2 * WEEK_HOURS })), false);
});

test('each target has one decision slot a day, spread by its id', () => {
  const offsets = new Set(['d01', 'd02', 'd03', 'd01-inlet-1', 'd02-inlet-1', 'd07'].map(slotOffsetMs));
  assert.ok(offsets.size > 3, 'targets spread over the day');
  const t = Date.UTC(2026, 5, 1);
  const slot = t + slotOffsetMs('d01');
  assert.equal(slotDue('d01', slot - 1, slot), true);
  assert.equal(slotDue('d01', slot, slot + DAY_MS - 1), false);
  assert.equal(slotDue('d01', slot, slot + DAY_MS), true);
  // A day-long batch always passes one.
  assert.equal(slotDue('d01', t + 3_600_000, t + 3_600_000 + DAY_MS), true);
});

test('with the tenant global trees, the global blend enters the rotation and is backtested out of sample', () => {
  const weeks = 10;
  const targets = [6, 20, 45].map((level, i) =>
    syntheticDemand({ hours: weeks * WEEK_HOURS, level, noise: level * 0.05, seed: 21 + i, levelWalk: 0.01 }),
  );
  const end = targets[0]!.startMs + weeks * WEEK_HOURS * HOUR_MS;
  const global = trainGlobalTrees(targets, end, 'Europe/Rome');
  assert.ok(global && global.series === 3 && global.dataEndMs === end);
  assert.equal(trainGlobalTrees(targets.slice(0, 1), end, 'Europe/Rome'), undefined, 'one target: no peers');
  // Without trees the rotation passes the global blend by; with them it is the first challenger.
  assert.equal(challengerFor('seasonal-naive', 'global-blend', targets[1]!, false), 'combination');
  assert.equal(challengerFor('seasonal-naive', 'global-blend', targets[1]!, true), 'global-blend');
  const input = {
    history: targets[1]!,
    dataEndMs: end,
    timeZone: 'Europe/Rome',
    unit: 'L/s',
    methodIds: ['seasonal-naive', 'global-blend'],
    trainedMs: end,
  };
  const trained = trainModels({ ...input, globalTrees: global });
  assert.deepEqual(
    trained.map((t) => t.methodId),
    ['seasonal-naive', 'global-blend'],
  );
  // The backtest week used the trees as they stood six weeks back: a real score, better than the weekly naive.
  assert.ok(Number.isFinite(trained[1]!.score) && trained[1]!.score < trained[0]!.score);
  // Without the trees the method is no candidate (it says so), the others train as before.
  assert.deepEqual(
    trainModels(input).map((t) => t.methodId),
    ['seasonal-naive'],
  );
  // Stored with a copy of the trees, it refreshes on its own, reproducing its forecast.
  const stored = trained[1]!.stored;
  const direct = forecastMethod('global-blend').forecast(stored.model, 168);
  const refreshed = refreshForecast(stored, { startMs: end, values: new Float64Array(0) }, end);
  assert.deepEqual(Array.from(refreshed.mean), Array.from(direct.mean));
});

test('the blend and the combination trained together (one fit shared) give exactly the models trained apart', () => {
  const history = syntheticDemand({ hours: 13 * WEEK_HOURS, seed: 5, noise: 0.8, levelWalk: 0.02 });
  const end = history.startMs + history.values.length * HOUR_MS;
  const train = (methodIds: string[]) =>
    trainModels({ history, dataEndMs: end, timeZone: 'Europe/Rome', unit: 'L/s', methodIds, trainedMs: end });
  const together = train(['combination', 'blend']);
  const apart = [...train(['combination']), ...train(['blend'])];
  assert.deepEqual(
    together.map((t) => t.methodId),
    ['combination', 'blend'],
  );
  for (const [i, t] of together.entries()) {
    const a = apart[i]!;
    // Every backtest week scored, the same weeks and figures as apart; the same stored model, to the bit.
    assert.ok(t.weeklyTotals.every(Number.isFinite), `${t.methodId}: ${t.weeklyTotals}`);
    assert.deepEqual(t.weeklyTotals, a.weeklyTotals);
    assert.deepEqual(t.stored, a.stored);
  }
  // One fit read two ways: the combination's forecast is not the blend's.
  const [comb, blend] = together.map((t) => forecastMethod(t.methodId).forecast(t.stored.model, 168));
  assert.notDeepEqual(Array.from(comb!.mean), Array.from(blend!.mean));
});
