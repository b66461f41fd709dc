/**
 * Rolling-origin backtest of the forecasting methods on the real BWDF district inflows (../shared/data/bwdf):
 * every weekly origin of the last full year of the file (52 by default), each forecasting the next 168 hours from
 * all the data before it (with the training-window sampling), scored as the BWDF scores. Prints a table per DMA
 * and method — the mean over the weeks and, beside it, the worst week (its total and its date) — the average, and
 * the champion (best on average) against the seasonal-naive baseline.
 *
 * `--weather none` (the default) is the headline: the deployed configuration (deployed.ts) — every method the cycle
 * trains, trained and refreshed by the cycle's code without weather, and `cycle`, the forecast of the model the
 * registry policy leaves serving week by week (`cycle-7d`: last week's champion refreshed to the origin). Split a
 * run with `--dma` (the registry replay needs consecutive weeks), not `--part`.
 * `--weather observed` is the BWDF protocol, a study: the regression and the trees see the observed weather of each
 * forecast week as a perfect weather forecast (read after the origin, which no deployment can), as below.
 *
 * With `--weather observed` (or `--local`/`--stack`), at each origin the global trees are fitted once on every DMA's data before it (`fitGlobalTrees`); the champion,
 * `global-blend`, is fitted per DMA, and its members (holt-winters, regression, ensemble, global-gbm) are scored from
 * inside it, fitted on exactly the same data. `--local` adds the per-DMA trees (`gbm`) and their `blend`.
 * `--stack` fits the `stack` instead (once per DMA and origin) and scores every part of it from that one fit: its
 * members (holt-winters, regression, ensemble, gbm, global-gbm), `blend` and `global-blend` (their weights chosen as
 * those methods choose them, on the same replays), and other weightings (`stack-local`: the ensemble and the DMA's
 * own trees only, what the cycle fits without global trees; `stack-1w`: one mix for all leads; `stack-eq`: equal
 * weights). `--champion id` picks the model whose margin over the ensemble is printed.
 * `--before` ends the file at a date, so hyper-parameters can be chosen on origins before the evaluation year.
 * `--part k/m` runs every m-th origin from the k-th (`k1,k2/m`: from each) and `--save` writes its outcomes; `--merge a.json,b.json`
 * prints the table of saved parts (so a run can use both cores).
 *
 *   node eval/forecast/cli.ts [--dma dma_3,dma_5] [--weeks 52] [--before 2021-07-25] [--local | --stack]
 *                             [--part 1/2 --save part1.json] [--merge part1.json,part2.json]
 *
 * Longer than 400 lines because a run, the merge of saved parts and the table with the champion's margin share
 * one set of options and records and read best as one script (the stack's parts are in stack-parts.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BlendModel, blend, GBM_FORECAST_PARAMS, gbm } from '../../shared/forecast/boosted.ts';
import { italianCalendar } from '../../shared/forecast/calendar.ts';
import { ensemble } from '../../shared/forecast/ensemble.ts';
import { GLOBAL_GBM_PARAMS, globalBlend } from '../../shared/forecast/global.ts';
import { holtWinters } from '../../shared/forecast/holt-winters.ts';
import { intervalCoverage } from '../../shared/forecast/intervals.ts';
import { BASELINE_METHOD_ID } from '../../shared/forecast/methods.ts';
import { regression } from '../../shared/forecast/regression.ts';
import { type BwdfScore, bwdfTotal, meanScore, scoreBwdf } from '../../shared/forecast/score.ts';
import { seasonalNaive } from '../../shared/forecast/seasonal-naive.ts';
import {
  type ForecastMethod,
  type GlobalTrees,
  HOUR_MS,
  MAX_HORIZON_HOURS,
  type WeatherSeries,
} from '../../shared/forecast/types.ts';
import {
  type BacktestOutcome,
  globalTreesBefore,
  rollingOriginBacktest,
  rollingOrigins,
} from './backtest.ts';
import { replayDeployed } from './deployed.ts';
import { parseHourlyCsv, tableSeries } from './hourly-csv.ts';
import { stack } from './stack.ts';
import { type StackEval, stackEval } from './stack-parts.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = resolve(repoRoot, '../shared/data/bwdf');
const inflowsPath = resolve(dataDir, 'dma-inflows.csv');
const weatherPath = resolve(dataDir, 'weather.csv');

const { values: args } = parseArgs({
  options: {
    dma: { type: 'string' },
    weeks: { type: 'string', default: '52' },
    before: { type: 'string' },
    /** Tuning only: overrides of the trees' hyper-parameters, e.g. `trees=300,learningRate=0.05,halfLifeWeeks=4`. */
    gbm: { type: 'string' },
    /** Tuning only: the same for the global trees. */
    global: { type: 'string' },
    local: { type: 'boolean', default: false },
    /** Fit the stack (and score every part of it: members, blends, other weightings) in place of the global blend. */
    stack: { type: 'boolean', default: false },
    /** The model whose margin over the ensemble is printed (default: global-blend, or stack with --stack). */
    champion: { type: 'string' },
    part: { type: 'string' },
    save: { type: 'string' },
    merge: { type: 'string' },
    /** `none`: the deployed configuration (the cycle has no weather); `observed`: the BWDF protocol (a study). */
    weather: { type: 'string', default: 'none' },
    'keep-forecasts': { type: 'boolean', default: false },
  },
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

if (args.weather !== 'none' && args.weather !== 'observed') {
  console.error(`--weather must be none or observed, got ${args.weather}`);
  process.exit(2);
}
const deployed = args.weather === 'none' && !args.stack && !args.local;
const started = performance.now();
const inflows = parseHourlyCsv(readFileSync(inflowsPath, 'utf8'));
let weather: WeatherSeries | undefined;
if (args.weather === 'none') {
  // The cycle has no weather source: nothing reads it.
} else if (existsSync(weatherPath)) {
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

const override = (spec: string | undefined, params: typeof GBM_FORECAST_PARAMS, flag: string) => {
  for (const item of spec ? spec.split(',') : []) {
    const [key = '', raw = ''] = item.split('=');
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new RangeError(`--${flag} ${item}: not a number`);
    if (key === 'halfLifeWeeks') params.halfLifeHours = value * 168;
    else if (key in params.trees) (params.trees as unknown as Record<string, number>)[key] = value;
    else throw new RangeError(`--${flag} ${item}: unknown hyper-parameter`);
  }
};
override(args.gbm, GBM_FORECAST_PARAMS, 'gbm');
override(args.global, GLOBAL_GBM_PARAMS, 'global');
const beforeMs = args.before ? Date.parse(`${args.before}T00:00:00Z`) : Number.POSITIVE_INFINITY;
if (Number.isNaN(beforeMs)) {
  console.error(`--before must be a date YYYY-MM-DD, got ${args.before}`);
  process.exit(2);
}
/** Members scored from inside the blends, each as its own method would forecast. */
const blendMembers = (methodId: string, model: unknown, horizon: number) => {
  const m = model as BlendModel;
  if (methodId === globalBlend.id) {
    return [
      { methodId: holtWinters.id, forecast: holtWinters.forecast(m.ensemble.holtWinters, horizon) },
      { methodId: regression.id, forecast: regression.forecast(m.ensemble.regression, horizon) },
      { methodId: ensemble.id, forecast: ensemble.forecast(m.ensemble, horizon) },
      { methodId: 'global-gbm', forecast: gbm.forecast(m.gbm, horizon) },
    ];
  }
  if (methodId === blend.id) return [{ methodId: gbm.id, forecast: gbm.forecast(m.gbm, horizon) }];
  if (methodId === stack.id) return (model as StackEval).parts;
  return [];
};
/** What a run scores: one record per DMA, model and origin (what `--save` writes and `--merge` reads). */
type Outcome = Pick<BacktestOutcome, 'methodId' | 'originMs' | 'score' | 'coverage80' | 'coverage95'> & {
  dma: string;
  /** The point forecast (with `--save --keep-forecasts`, for studying combinations on past origins). */
  mean?: number[];
  /** `cycle` only: the method that served. */
  servedBy?: string;
};
let outcomes: Outcome[] = [];
if (args.merge) {
  for (const file of args.merge.split(','))
    outcomes.push(...(JSON.parse(readFileSync(file, 'utf8')) as Outcome[]));
} else {
  const [ks = '', mRaw = ''] = (args.part ?? '1/1').split('/');
  const m = Number(mRaw);
  const parts = ks.split(',').map(Number);
  if (!(Number.isInteger(m) && parts.every((k) => Number.isInteger(k) && k >= 1 && k <= m))) {
    console.error(`--part must be k/m or k1,k2/m with 1 ≤ k ≤ m, got ${args.part}`);
    process.exit(2);
  }
  const seriesOf = new Map(
    dmas.map((dma) => {
      const full = tableSeries(inflows, dma);
      const keep = Math.min(full.values.length, Math.max(0, (beforeMs - full.startMs) / 3_600_000));
      return [dma, { startMs: full.startMs, values: full.values.slice(0, Math.floor(keep)) }];
    }),
  );
  const origins = rollingOrigins(seriesOf.get(dmas[0]!)!, weeks).filter((_, i) =>
    parts.includes((i % m) + 1),
  );
  const methods: ForecastMethod[] = args.stack
    ? [seasonalNaive as ForecastMethod, stackEval as ForecastMethod]
    : [
        seasonalNaive as ForecastMethod,
        globalBlend as ForecastMethod,
        ...(args.local ? [blend as ForecastMethod] : []),
      ];
  if (deployed && m > 1) {
    console.error(
      '--part splits the weeks, which the registry replay needs in a row: split the DMAs with --dma',
    );
    process.exit(2);
  }
  // Deployed: every DMA's replay advanced a week at a time, saved after each week (a cut run keeps its weeks).
  const replays = deployed
    ? dmas.map((dma) => ({ dma, replay: replayDeployed(seriesOf.get(dma)!, origins, calendar.timeZone) }))
    : [];
  for (const originMs of deployed ? origins : []) {
    for (const { dma, replay } of replays) {
      const series = seriesOf.get(dma)!;
      const week = replay.next();
      if (week.done || week.value.originMs !== originMs) throw new Error(`${dma}: no replay at ${originMs}`);
      const cut = (originMs - series.startMs) / HOUR_MS;
      const actual = series.values.subarray(cut, cut + MAX_HORIZON_HOURS);
      for (const { methodId, forecast, servedBy } of week.value.forecasts) {
        outcomes.push({
          dma,
          methodId,
          originMs,
          score: scoreBwdf(actual, forecast.mean),
          coverage80: intervalCoverage(actual, forecast.lo80, forecast.hi80),
          coverage95: intervalCoverage(actual, forecast.lo95, forecast.hi95),
          ...(servedBy ? { servedBy } : {}),
          ...(args['keep-forecasts'] ? { mean: Array.from(forecast.mean) } : {}),
        });
      }
    }
    if (args.save) writeFileSync(args.save, JSON.stringify(outcomes));
    process.stderr.write(
      `${new Date(originMs).toISOString().slice(0, 10)} done (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
    );
  }
  for (const originMs of deployed ? [] : origins) {
    // The global trees: every DMA's data before the origin (each with its training-window sampling).
    const global: GlobalTrees = globalTreesBefore([...seriesOf.values()], originMs, {
      calendar,
      ...(weather ? { weather } : {}),
    });
    for (const dma of dmas) {
      const mine = rollingOriginBacktest({
        series: seriesOf.get(dma)!,
        methods,
        members: blendMembers,
        originsMs: [originMs],
        optionsAt: (_, id) => (id === globalBlend.id || id === stack.id ? { globalTrees: global } : {}),
        calendar,
        ...(weather ? { weather } : {}),
      });
      for (const o of mine) {
        const { methodId, score, coverage80, coverage95 } = o;
        outcomes.push({
          dma,
          methodId,
          originMs,
          score,
          coverage80,
          coverage95,
          ...(args['keep-forecasts'] ? { mean: Array.from(o.forecast.mean) } : {}),
        });
      }
    }
    process.stderr.write(
      `${new Date(originMs).toISOString().slice(0, 10)} done (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
    );
  }
  if (args.save) writeFileSync(args.save, JSON.stringify(outcomes));
}
outcomes = outcomes.filter((o) => dmas.includes(o.dma));
const ORDER = [
  BASELINE_METHOD_ID,
  holtWinters.id,
  regression.id,
  ensemble.id,
  gbm.id,
  blend.id,
  'global-gbm',
  globalBlend.id,
  'ensemble-cal',
  'stack-local',
  'stack-local-cal',
  'stack-eq',
  'stack-1w',
  stack.id,
  'cycle-7d',
  'cycle',
];
const present = new Set(outcomes.map((o) => o.methodId));
const methodIds = [
  ...ORDER.filter((id) => present.has(id)),
  ...[...present].filter((id) => !ORDER.includes(id)),
];
const originsByDma = new Map<string, number[]>();
for (const dma of dmas) {
  originsByDma.set(
    dma,
    [...new Set(outcomes.filter((o) => o.dma === dma).map((o) => o.originMs))].sort((a, b) => a - b),
  );
  for (const methodId of methodIds) {
    const mine = outcomes.filter((o) => o.dma === dma && o.methodId === methodId);
    const scored = mine.filter((o) => !Number.isNaN(bwdfTotal(o.score)));
    const worst = scored.reduce<(typeof mine)[number] | null>(
      (w, o) => (w === null || bwdfTotal(o.score) > bwdfTotal(w.score) ? o : w),
      null,
    );
    rows.push({
      worst: worst ? { score: worst.score, originMs: worst.originMs } : null,
      dma,
      methodId,
      score: meanScore(mine.map((o) => o.score)),
      coverage80: mean(mine.map((o) => o.coverage80)),
      coverage95: mean(mine.map((o) => o.coverage95)),
    });
  }
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
const averages = methodIds.map((id) => {
  const method = { id };
  const mine = rows.filter((r) => r.methodId === id);
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
const allOrigins = [...originsByDma.values()].flat();
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
console.log(
  `BWDF rolling-origin backtest: ${new Set(allOrigins).size} weekly origins (${day(Math.min(...allOrigins))} → ${day(Math.max(...allOrigins))}), 168 h ahead, flows in L/s; total = sum of the three scores; ` +
    'vs naive = reduction of the total against seasonal naive; cov = share of actual hours inside the 80 %/95 % intervals.',
);
if (weather) {
  console.log(
    'BWDF protocol (a study, not what is deployed): the regression and the trees see the observed weather of each forecast week in place of a weather forecast (optimistic).',
  );
} else if (present.has('cycle')) {
  console.log(
    "Deployed configuration: no weather; each method trained and refreshed by the cycle's code; cycle = the model the registry policy serves week by week, cycle-7d = last week's champion refreshed to the origin.",
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
// The champion against the current ensemble on the same origins: margin on the mean total, weeks won.
const CHAMPION =
  args.champion ?? (present.has('cycle') ? 'cycle' : present.has(stack.id) ? stack.id : globalBlend.id);
console.log('');
console.log(
  `${CHAMPION} (champion) against the ensemble on the same origins (margin = reduction of the mean total):`,
);
const margins: number[] = [];
let won = 0;
let weeksTotal = 0;
for (const dma of dmas) {
  const totalOf = (id: string, originMs: number) =>
    bwdfTotal(outcomes.find((o) => o.dma === dma && o.methodId === id && o.originMs === originMs)!.score);
  let w = 0;
  let c = 0;
  for (const originMs of originsByDma.get(dma)!) {
    const a = totalOf(CHAMPION, originMs);
    const b = totalOf('ensemble', originMs);
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    c++;
    if (a < b) w++;
  }
  won += w;
  weeksTotal += c;
  const er = rows.find((r) => r.dma === dma && r.methodId === 'ensemble')!;
  const br = rows.find((r) => r.dma === dma && r.methodId === CHAMPION)!;
  const e = bwdfTotal(er.score);
  const b = bwdfTotal(br.score);
  const worstOf = (r: Row) => (r.worst ? f(bwdfTotal(r.worst.score)) : 'n/a');
  margins.push((e - b) / e);
  console.log(
    `  ${dma.padEnd(8)} ensemble ${f(e)} (worst ${worstOf(er)})  ${CHAMPION} ${f(b)} (worst ${worstOf(br)})  margin ${pct((e - b) / e)}  weeks won ${w}/${c}`,
  );
}
console.log(
  `  average margin ${pct(mean(margins))}; ${CHAMPION} better in ${won} of ${weeksTotal} DMA-weeks`,
);
const servedBy = new Map<string, number>();
for (const o of outcomes) if (o.servedBy) servedBy.set(o.servedBy, (servedBy.get(o.servedBy) ?? 0) + 1);
if (servedBy.size) {
  console.log(
    `  the cycle's champion, DMA-weeks served: ${[...servedBy].map(([id, n]) => `${id} ${n}`).join(', ')}`,
  );
}
console.log(`took ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (!(champion.relative > 0)) process.exitCode = 1;
