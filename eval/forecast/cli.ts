/**
 * Rolling-origin backtest of the forecasting methods on the real BWDF district inflows (../shared/data/bwdf):
 * every weekly origin of the last full year of the file (52 by default), each forecasting the next 168 hours from
 * all the data before it (with the training-window sampling), scored as the BWDF scores. Prints a table per DMA
 * and method — the mean over the weeks and, beside it, the worst week (its total and its date) — the average, and
 * the champion (best on average) against the seasonal-naive baseline.
 *
 *   node eval/forecast/cli.ts [--dma dma_3,dma_5] [--weeks 52]
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { italianCalendar } from '../../shared/forecast/calendar.ts';
import { BASELINE_METHOD_ID, FORECAST_METHODS } from '../../shared/forecast/methods.ts';
import { type BwdfScore, bwdfTotal, meanScore } from '../../shared/forecast/score.ts';
import type { WeatherSeries } from '../../shared/forecast/types.ts';
import { rollingOriginBacktest, rollingOrigins } from './backtest.ts';
import { parseHourlyCsv, tableSeries } from './hourly-csv.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = resolve(repoRoot, '../shared/data/bwdf');
const inflowsPath = resolve(dataDir, 'dma-inflows.csv');
const weatherPath = resolve(dataDir, 'weather.csv');

const { values: args } = parseArgs({
  options: { dma: { type: 'string' }, weeks: { type: 'string', default: '52' } },
});

if (!existsSync(inflowsPath)) {
  console.error(
    `eval:forecast needs the BWDF inflows at ${inflowsPath} (the team handbook's shared/data/bwdf).`,
  );
  process.exit(2);
}
const weeks = Number(args.weeks);
if (!Number.isInteger(weeks) || weeks < 1) {
  console.error(`--weeks must be a positive integer, got ${args.weeks}`);
  process.exit(2);
}

const started = performance.now();
const inflows = parseHourlyCsv(readFileSync(inflowsPath, 'utf8'));
let weather: WeatherSeries | undefined;
if (existsSync(weatherPath)) {
  const table = parseHourlyCsv(readFileSync(weatherPath, 'utf8'));
  weather = {
    startMs: table.startMs,
    airTemperature: tableSeries(table, 'air_temperature').values,
    rainfall: tableSeries(table, 'rainfall_depth').values,
  };
} else {
  console.warn(`no weather at ${weatherPath}: the regression runs on the calendar alone`);
}
const calendar = italianCalendar();
const dmas = args.dma ? args.dma.split(',') : [...inflows.columns.keys()];

type Row = {
  dma: string;
  methodId: string;
  score: BwdfScore;
  coverage80: number;
  coverage95: number;
  /** The week with the largest total score: its scores and its origin. */
  worst: { score: BwdfScore; originMs: number } | null;
};
const rows: Row[] = [];
const mean = (xs: number[]): number => {
  const ok = xs.filter((x) => !Number.isNaN(x));
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : Number.NaN;
};

for (const dma of dmas) {
  const series = tableSeries(inflows, dma);
  const outcomes = rollingOriginBacktest({
    series,
    methods: FORECAST_METHODS,
    originsMs: rollingOrigins(series, weeks),
    calendar,
    ...(weather ? { weather } : {}),
  });
  for (const method of FORECAST_METHODS) {
    const mine = outcomes.filter((o) => o.methodId === method.id);
    const scored = mine.filter((o) => !Number.isNaN(bwdfTotal(o.score)));
    const worst = scored.reduce<(typeof mine)[number] | null>(
      (w, o) => (w === null || bwdfTotal(o.score) > bwdfTotal(w.score) ? o : w),
      null,
    );
    rows.push({
      worst: worst ? { score: worst.score, originMs: worst.originMs } : null,
      dma,
      methodId: method.id,
      score: meanScore(mine.map((o) => o.score)),
      coverage80: mean(mine.map((o) => o.coverage80)),
      coverage95: mean(mine.map((o) => o.coverage95)),
    });
  }
  process.stderr.write(`${dma} done (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}

const f = (x: number, digits = 2): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(digits));
const pct = (x: number): string =>
  Number.isNaN(x) ? 'n/a' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
/** Improvement over the baseline's total score: positive is better than seasonal naive. */
const improvement = (total: number, baseline: number): number => (baseline - total) / baseline;

const header = [
  'dma',
  'model',
  'MAE d1',
  'maxAE d1',
  'MAE d2-7',
  'total',
  'vs naive',
  'cov80',
  'cov95',
  'worst week: d1 / max d1 / d2-7',
  'total',
  'origin',
];
const worstCells = (w: Row['worst']): string[] =>
  w
    ? [
        `${f(w.score.maeDay1)} / ${f(w.score.maxAeDay1)} / ${f(w.score.maeDays2to7)}`,
        f(bwdfTotal(w.score)),
        new Date(w.originMs).toISOString().slice(0, 10),
      ]
    : ['n/a', 'n/a', ''];
const table: string[][] = [];
const baselineOf = (dma: string): number =>
  bwdfTotal(rows.find((r) => r.dma === dma && r.methodId === BASELINE_METHOD_ID)!.score);
for (const r of rows) {
  const total = bwdfTotal(r.score);
  table.push([
    r.dma,
    r.methodId,
    f(r.score.maeDay1),
    f(r.score.maxAeDay1),
    f(r.score.maeDays2to7),
    f(total),
    r.methodId === BASELINE_METHOD_ID ? '' : pct(improvement(total, baselineOf(r.dma))),
    pct(r.coverage80).replace('+', ''),
    pct(r.coverage95).replace('+', ''),
    ...worstCells(r.worst),
  ]);
}
// The average over DMAs of each score, and of the per-DMA relative improvement (DMAs differ tenfold in flow, so
// averaging relative figures keeps the big ones from drowning the small ones).
const averages = FORECAST_METHODS.map((method) => {
  const mine = rows.filter((r) => r.methodId === method.id);
  const score = meanScore(mine.map((r) => r.score));
  const relative = mean(mine.map((r) => improvement(bwdfTotal(r.score), baselineOf(r.dma))));
  return {
    method,
    score,
    relative,
    cov80: mean(mine.map((r) => r.coverage80)),
    cov95: mean(mine.map((r) => r.coverage95)),
    worstTotal: mean(mine.map((r) => (r.worst ? bwdfTotal(r.worst.score) : Number.NaN))),
  };
});
for (const a of averages) {
  table.push([
    'average',
    a.method.id,
    f(a.score.maeDay1),
    f(a.score.maxAeDay1),
    f(a.score.maeDays2to7),
    f(bwdfTotal(a.score)),
    a.method.id === BASELINE_METHOD_ID ? '' : pct(a.relative),
    pct(a.cov80).replace('+', ''),
    pct(a.cov95).replace('+', ''),
    `mean of the DMAs' worst: ${f(a.worstTotal)}`,
    '',
    '',
  ]);
}

const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c]!.length)));
const line = (cells: string[]): string =>
  cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
console.log(
  `BWDF rolling-origin backtest: ${weeks} weekly origins (the last ${weeks} weeks of the file), 168 h ahead, flows in L/s; total = sum of the three scores; ` +
    'vs naive = reduction of the total against seasonal naive; cov = share of actual hours inside the 80 %/95 % intervals.',
);
if (weather) {
  console.log(
    'The regression sees the observed weather of each forecast week in place of a weather forecast (optimistic).',
  );
}
console.log(line(header));
let lastDma = '';
for (const row of table) {
  if (row[0] !== lastDma && lastDma !== '') console.log('');
  lastDma = row[0]!;
  console.log(line(row));
}
const challengers = averages.filter((a) => a.method.id !== BASELINE_METHOD_ID);
const champion = challengers.reduce((best, a) => (a.relative > best.relative ? a : best), challengers[0]!);
console.log('');
console.log(
  `champion: ${champion.method.id} — beats seasonal naive by ${pct(champion.relative)} on the total score ` +
    `(average over ${dmas.length} DMAs; MAE d1 ${f(champion.score.maeDay1)} vs ${f(averages[0]!.score.maeDay1)}, ` +
    `maxAE d1 ${f(champion.score.maxAeDay1)} vs ${f(averages[0]!.score.maxAeDay1)}, ` +
    `MAE d2-7 ${f(champion.score.maeDays2to7)} vs ${f(averages[0]!.score.maeDays2to7)} L/s).`,
);
console.log(`took ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (!(champion.relative > 0)) process.exitCode = 1;
