/**
 * bench:forecast-refresh — CPU of one forecast refresh (`refreshForecast`: the stored model moved to a new hour
 * and the next 168 hours forecast, what the cycle does for every target each hour) per method, the methods side
 * by side in the same run: rounds alternate between them, each round refreshing every method's stored model
 * (decoded from its stored JSON, as the cycle reads it) at the same new hours. CPU time (process.cpuUsage), not
 * wall time; the median over rounds and the ratio to the seasonal naive (the champion of the cycle's own
 * `bench:cycle --steps` run, whose refresh it reports per node).
 *
 *   npm run bench:forecast-refresh [-- --dma dma_3 --rounds 15 --refreshes 24]
 *   npm run bench:forecast-refresh -- --training [--rounds 3]
 *
 * `--training` measures instead the CPU of one weekly training as the cycle runs it (`trainModels`: a champion and a
 * challenger, each backtested and then fitted on the year): the blend and the ensemble with one backtest week (main
 * before helper C's change), and the combination and the blend with BACKTEST_WEEKS each fitted on its own (main
 * before helper C3's change) and trained together, sharing each fit (now), alternating in the same run.
 *
 * Data: a BWDF district inflow (../shared/data/bwdf), fitted on the year before 2022-06-26 without weather (as
 * the cycle trains); the global blend with global trees fitted on the ten districts (the cycle has none yet).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseHourlyCsv, tableSeries } from '../eval/forecast/hourly-csv.ts';
import {
  calendarFor,
  refreshForecast,
  type StoredModel,
  TAIL_HOURS,
} from '../shared/cycle/forecasting/forecast-refresh.ts';
import { BACKTEST_WEEKS, trainModels } from '../shared/cycle/forecasting/forecast-training.ts';
import { decodeModel, encodeModel } from '../shared/cycle/forecasting/model-codec.ts';
import { fitGlobalTrees } from '../shared/forecast/global.ts';
import { forecastMethod } from '../shared/forecast/methods.ts';
import { trainingMask } from '../shared/forecast/sampling.ts';
import { HOUR_MS, WEEK_HOURS } from '../shared/forecast/types.ts';

const { values: args } = parseArgs({
  options: {
    dma: { type: 'string', default: 'dma_3' },
    rounds: { type: 'string', default: '15' },
    refreshes: { type: 'string', default: '24' },
    training: { type: 'boolean', default: false },
  },
});
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const inflows = parseHourlyCsv(
  readFileSync(resolve(repoRoot, '../shared/data/bwdf/dma-inflows.csv'), 'utf8'),
);
const TZ = 'Europe/Rome';
const originMs = Date.parse('2022-06-26T22:00:00Z');
const series = tableSeries(inflows, args.dma);
const cut = (originMs - series.startMs) / HOUR_MS;
const history = {
  startMs: originMs - 52 * WEEK_HOURS * HOUR_MS,
  values: series.values.slice(cut - 52 * WEEK_HOURS, cut),
};
const options = {
  calendar: calendarFor(TZ),
  trainingMask: trainingMask(history.startMs, history.values.length, originMs),
};
if (args.training) {
  const rounds = Number(args.rounds === '15' ? 3 : args.rounds);
  // Main before helper C's change: the blend champion, a challenger such as the ensemble, one backtest week. Then: the
  // combination champion and the blend challenger (the rotation's next), BACKTEST_WEEKS weeks, each fitted on its
  // own; now trained together they share one fit per week and for serving (the same models,
  // forecast-training.test.ts). The ensemble challenger for scale (its fit is cheap beside the trees').
  const variants = [
    { label: 'blend + ensemble, 1 week', methodIds: ['blend', 'ensemble'], weeks: 1, apart: false },
    {
      label: `combination + blend, ${BACKTEST_WEEKS} w, apart`,
      methodIds: ['combination', 'blend'],
      weeks: BACKTEST_WEEKS,
      apart: true,
    },
    {
      label: `combination + blend, ${BACKTEST_WEEKS} w, shared`,
      methodIds: ['combination', 'blend'],
      weeks: BACKTEST_WEEKS,
      apart: false,
    },
    {
      label: `combination + ensemble, ${BACKTEST_WEEKS} w`,
      methodIds: ['combination', 'ensemble'],
      weeks: BACKTEST_WEEKS,
      apart: true,
    },
  ];
  const cpu = variants.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const at = (i + r) % variants.length;
      const v = variants[at]!;
      const before = process.cpuUsage();
      for (const methodIds of v.apart ? v.methodIds.map((id) => [id]) : [v.methodIds]) {
        trainModels({
          history,
          dataEndMs: originMs,
          timeZone: TZ,
          unit: 'L/s',
          methodIds,
          trainedMs: originMs,
          backtestWeeks: v.weeks,
        });
      }
      const used = process.cpuUsage(before);
      cpu[at]!.push((used.user + used.system) / 1000);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `weekly training CPU (trainModels: champion + challenger on a year of ${args.dma}; median of ${rounds} rounds, alternating)`,
  );
  for (let i = 0; i < variants.length; i++) {
    const m = med(cpu[i]!);
    console.log(
      `  ${variants[i]!.label.padEnd(37)} ${m.toFixed(0)} ms per training  ×${(m / med(cpu[0]!)).toFixed(2)}  ` +
        `${(m / 168).toFixed(2)} ms per node-hour over the week  (rounds: ${cpu[i]!.map((x) => x.toFixed(0)).join(', ')})`,
    );
  }
  process.exit(0);
}
const globalTrees = fitGlobalTrees(
  [...inflows.columns.keys()].map((dma) => {
    const s = tableSeries(inflows, dma);
    const c = (originMs - s.startMs) / HOUR_MS;
    return { history: { startMs: s.startMs, values: s.values.slice(0, c) } };
  }),
  { calendar: calendarFor(TZ) },
);

const variants: { label: string; methodId: string; global: boolean }[] = [
  { label: 'seasonal-naive', methodId: 'seasonal-naive', global: false },
  { label: 'ensemble', methodId: 'ensemble', global: false },
  { label: 'blend', methodId: 'blend', global: false },
  { label: 'global-blend', methodId: 'global-blend', global: true },
];
const stored = variants.map((v) => {
  const model = forecastMethod(v.methodId).fit(history, { ...options, ...(v.global ? { globalTrees } : {}) });
  const s: StoredModel = {
    methodId: v.methodId,
    model,
    tail: { startMs: originMs - TAIL_HOURS * HOUR_MS, values: history.values.slice(-TAIL_HOURS) },
    timeZone: TZ,
    trainedMs: originMs,
    dataToMs: originMs,
    unit: 'L/s',
  };
  const json = JSON.stringify(encodeModel(s));
  return { ...v, stored: decodeModel<StoredModel>(JSON.parse(json)), bytes: json.length };
});

const refreshes = Number(args.refreshes);
const rounds = Number(args.rounds);
const samples = variants.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < stored.length; i++) {
    // Each round starts with the next method, so none always runs first (or last).
    const at = (i + r) % stored.length;
    const v = stored[at]!;
    const before = process.cpuUsage();
    for (let h = 1; h <= refreshes; h++) {
      const endMs = originMs + h * HOUR_MS;
      refreshForecast(v.stored, { startMs: originMs, values: series.values.slice(cut, cut + h) }, endMs);
    }
    const used = process.cpuUsage(before);
    samples[at]!.push((used.user + used.system) / 1000 / refreshes);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const base = median(samples[0]!);
console.log(
  `forecast refresh CPU per call (median of ${rounds} rounds × ${refreshes} refreshes, ${args.dma}, methods alternating)`,
);
for (let i = 0; i < variants.length; i++) {
  const m = median(samples[i]!);
  console.log(
    `  ${variants[i]!.label.padEnd(22)} ${m.toFixed(3)} ms  ×${(m / base).toFixed(2)} of seasonal-naive  stored ${(stored[i]!.bytes / 1024).toFixed(0)} KB`,
  );
}
