/**
 * The champion candidates on real data, fast enough for CI, on two DMAs of the BWDF data at two weekly origins before
 * the evaluation year (July 2021). First as deployed (`eval:forecast`'s headline, no weather): the cycle's models and
 * its registry replayed over these weeks. Then under the BWDF protocol (observed weather, a study): the blend and the
 * global blend against the ensemble and the seasonal naive, fitted exactly as `eval:forecast --weather observed` fits
 * them (the global trees here on four DMAs, not ten, to keep it short). Floors are the levels reached
 * (eval/RESULTS.md has the year).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { type BlendModel, blend } from '../../shared/forecast/boosted.ts';
import { italianCalendar } from '../../shared/forecast/calendar.ts';
import { ensemble } from '../../shared/forecast/ensemble.ts';
import { fitGlobalTrees, globalBlend } from '../../shared/forecast/global.ts';
import { trainingMask } from '../../shared/forecast/sampling.ts';
import { bwdfTotal, scoreBwdf } from '../../shared/forecast/score.ts';
import { seasonalNaive } from '../../shared/forecast/seasonal-naive.ts';
import { rollingOriginBacktest } from './backtest.ts';
import { replayDeployed } from './deployed.ts';
import { parseHourlyCsv, tableSeries } from './hourly-csv.ts';

const dataDir = resolve(import.meta.dirname, '../../../shared/data/bwdf');
const ORIGINS = [Date.parse('2021-07-11T22:00:00Z'), Date.parse('2021-07-18T22:00:00Z')];

describe('as deployed, on BWDF weeks (July 2021, no weather)', () => {
  it('the cycle (its models, refresh and registry) beats the seasonal naive by over 20 % and the ensemble by over 1.5 %, a week-old champion refreshed beats the naive by over 17 % (20.1 %, 1.6 % and 17.4 % reached), and its 80 % / 95 % intervals cover 80–90 % / 95–99 % of the hours (82.0 % / 96.7 % reached)', () => {
    const inflows = parseHourlyCsv(readFileSync(resolve(dataDir, 'dma-inflows.csv'), 'utf8'));
    const totals: Record<string, number> = {};
    /** The served forecast's hours inside its 80 % and 95 % intervals, of the hours observed. */
    const inside = { hours: 0, in80: 0, in95: 0 };
    for (const dma of ['dma_3', 'dma_9']) {
      const series = tableSeries(inflows, dma);
      for (const { originMs, forecasts } of replayDeployed(series, ORIGINS, 'Europe/Rome')) {
        const cut = (originMs - series.startMs) / 3_600_000;
        const actual = series.values.subarray(cut, cut + 168);
        for (const f of forecasts) {
          totals[f.methodId] = (totals[f.methodId] ?? 0) + bwdfTotal(scoreBwdf(actual, f.forecast.mean));
          if (f.methodId !== 'cycle') continue;
          actual.forEach((a, k) => {
            if (Number.isNaN(a)) return;
            inside.hours++;
            if (a >= f.forecast.lo80[k]! && a <= f.forecast.hi80[k]!) inside.in80++;
            if (a >= f.forecast.lo95[k]! && a <= f.forecast.hi95[k]!) inside.in95++;
          });
        }
      }
    }
    const cov80 = inside.in80 / inside.hours;
    const cov95 = inside.in95 / inside.hours;
    console.log(
      `cycle's intervals: 80 % covers ${(cov80 * 100).toFixed(1)} %, 95 % covers ${(cov95 * 100).toFixed(1)} % of ${inside.hours} h`,
    );
    const vs = (id: string, base: string) => 1 - totals[id]! / totals[base]!;
    console.log(
      `${Object.keys(totals)
        .map((id) => `${id} vs seasonal naive ${(vs(id, 'seasonal-naive') * 100).toFixed(1)} %`)
        .join('; ')}; cycle vs ensemble ${(vs('cycle', 'ensemble') * 100).toFixed(1)} %`,
    );
    // The cycle serves the combination here (its first champion). The slice does not flatter it: the registry served
    // gbm on these weeks before (29.0 % vs naive), which loses over the year; the combination holds over the year
    // (eval/RESULTS.md, 2026-12-07, helpers C and C3: the equal-weight mean reached 3.5 % vs the ensemble here, the
    // trimmed mean 1.6 %, and over the year the trimmed mean is the better by 0.4 point).
    assert.ok(
      vs('cycle', 'seasonal-naive') > 0.2,
      `cycle vs seasonal naive: ${vs('cycle', 'seasonal-naive')}`,
    );
    assert.ok(vs('cycle', 'ensemble') > 0.015, `cycle vs ensemble: ${vs('cycle', 'ensemble')}`);
    assert.ok(
      vs('cycle-7d', 'seasonal-naive') > 0.17,
      `cycle-7d vs naive: ${vs('cycle-7d', 'seasonal-naive')}`,
    );
    // The intervals users get: near their nominal share here (80.0 % / 93.5 % over the year), and not so wide that
    // they hold every hour.
    assert.ok(inside.hours > 600, `hours observed: ${inside.hours}`);
    assert.ok(cov80 > 0.8 && cov80 < 0.9, `80 % interval coverage ${cov80}`);
    assert.ok(cov95 > 0.95 && cov95 < 0.99, `95 % interval coverage ${cov95}`);
  });
});

describe('BWDF protocol (observed weather): the champion on BWDF weeks (July 2021)', () => {
  it('the blend beats the seasonal naive by over 27 % and the ensemble by over 2.5 % (28.6 % and 3.0 % reached)', () => {
    assert.ok(existsSync(resolve(dataDir, 'dma-inflows.csv')), `BWDF data missing at ${dataDir}`);
    const inflows = parseHourlyCsv(readFileSync(resolve(dataDir, 'dma-inflows.csv'), 'utf8'));
    const w = parseHourlyCsv(readFileSync(resolve(dataDir, 'weather.csv'), 'utf8'));
    const weather = {
      startMs: w.startMs,
      airTemperature: tableSeries(w, 'air_temperature').values,
      rainfall: tableSeries(w, 'rainfall_depth').values,
    };
    const totals = { 'seasonal-naive': 0, ensemble: 0, blend: 0 } as Record<string, number>;
    for (const dma of ['dma_3', 'dma_9']) {
      const outcomes = rollingOriginBacktest({
        series: tableSeries(inflows, dma),
        methods: [seasonalNaive, blend],
        members: (id, model, h) =>
          id === 'blend'
            ? [{ methodId: 'ensemble', forecast: ensemble.forecast((model as BlendModel).ensemble, h) }]
            : [],
        originsMs: ORIGINS,
        calendar: italianCalendar(),
        weather,
      });
      for (const o of outcomes) totals[o.methodId]! += bwdfTotal(o.score);
    }
    const vsNaive = 1 - totals.blend! / totals['seasonal-naive']!;
    const vsEnsemble = 1 - totals.blend! / totals.ensemble!;
    console.log(
      `blend vs seasonal naive ${(vsNaive * 100).toFixed(1)} %, vs ensemble ${(vsEnsemble * 100).toFixed(1)} %`,
    );
    assert.ok(vsNaive > 0.27, `blend vs seasonal naive: ${vsNaive}`);
    assert.ok(vsEnsemble > 0.025, `blend vs ensemble: ${vsEnsemble}`);
  });
});

describe('BWDF protocol (observed weather): the global blend on BWDF weeks (July 2021)', () => {
  it('global trees over four DMAs: the global blend beats the seasonal naive by over 24 % and stays within 2.5 % of the ensemble (25.4 % and −1.5 % reached: it does not win here)', () => {
    const inflows = parseHourlyCsv(readFileSync(resolve(dataDir, 'dma-inflows.csv'), 'utf8'));
    const w = parseHourlyCsv(readFileSync(resolve(dataDir, 'weather.csv'), 'utf8'));
    const weather = {
      startMs: w.startMs,
      airTemperature: tableSeries(w, 'air_temperature').values,
      rainfall: tableSeries(w, 'rainfall_depth').values,
    };
    const calendar = italianCalendar();
    const dmas = ['dma_1', 'dma_3', 'dma_6', 'dma_9'];
    const totals = { 'seasonal-naive': 0, ensemble: 0, 'global-blend': 0 } as Record<string, number>;
    for (const originMs of ORIGINS) {
      // Fitted on the four DMAs' data before the origin, as eval:forecast fits them on all ten.
      const globalTrees = fitGlobalTrees(
        dmas.map((dma) => {
          const s = tableSeries(inflows, dma);
          const cut = (originMs - s.startMs) / 3_600_000;
          return {
            history: { startMs: s.startMs, values: s.values.slice(0, cut) },
            trainingMask: trainingMask(s.startMs, cut, originMs),
          };
        }),
        { calendar, weather },
      );
      for (const dma of ['dma_3', 'dma_9']) {
        const outcomes = rollingOriginBacktest({
          series: tableSeries(inflows, dma),
          methods: [seasonalNaive, globalBlend],
          members: (id, model, h) =>
            id === globalBlend.id
              ? [{ methodId: 'ensemble', forecast: ensemble.forecast((model as BlendModel).ensemble, h) }]
              : [],
          optionsAt: (_, id) => (id === globalBlend.id ? { globalTrees } : {}),
          originsMs: [originMs],
          calendar,
          weather,
        });
        for (const o of outcomes) totals[o.methodId]! += bwdfTotal(o.score);
      }
    }
    const vsNaive = 1 - totals['global-blend']! / totals['seasonal-naive']!;
    const vsEnsemble = 1 - totals['global-blend']! / totals.ensemble!;
    console.log(
      `global-blend vs seasonal naive ${(vsNaive * 100).toFixed(1)} %, vs ensemble ${(vsEnsemble * 100).toFixed(1)} %`,
    );
    assert.ok(vsNaive > 0.24, `global-blend vs seasonal naive: ${vsNaive}`);
    assert.ok(vsEnsemble > -0.025, `global-blend vs ensemble: ${vsEnsemble}`);
  });
});
