/**
 * eval:leaks — the leak and burst detectors proven on L-Town (BattLeDIM 2020), a benchmark we did not write.
 *
 *   npm run eval:leaks -- [--from 2018-01-01] [--to 2018-02-12] [--schedule ../shared/data/ltown/leaks-2018.yaml]
 *                         [--inp ../shared/data/ltown/L-TOWN.inp] [--seed 1] [--step-hours 24] [--leak-free]
 *                         [--without pressure_residual] [--rescore [--anomalies FILE]] [--checkpoint-days 7]
 *
 * Generates 5-minute SCADA readings with EPANET (generate.ts; cached by its inputs' hash in
 * .data/eval-cache/), five weeks of warm-up before --from included, feeds them through the real cycle on a
 * fresh PostgreSQL database (run.ts; DATABASE_URL's server, or the local one) and scores the anomalies
 * the system opened against the schedule (score.ts). Prints per leak: detected or not, by what, the delay,
 * the water saved; then true positives, repeats, false alarms per week and the competition's score; then
 * where the system located each detected leak, first and as last refreshed (localisation.ts: pipe distance,
 * within 300 m).
 * Every `--checkpoint-days` simulated days the anomalies so far are saved beside the cache
 * (`….partial.json`): `--rescore` of a run stopped early scores the span it completed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createTestDatabase } from '../../dev/peers/index.ts';
import type { AnomalyPayload } from '../../shared/anomaly/listed.ts';
import { cachedReadings } from './cache.ts';
import { printLocalisation, readPipeGraph, scoreLocalisation } from './localisation.ts';
import { runThroughCycle } from './run.ts';
import { parseSchedule, scheduleTime } from './schedule.ts';
import { type LeakScore, scoreDetections } from './score.ts';

const ltown = (f: string) => new URL(`../../../shared/data/ltown/${f}`, import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    from: { type: 'string', default: '2018-01-01 00:00' },
    to: { type: 'string', default: '2018-02-12 00:00' },
    schedule: { type: 'string', default: ltown('leaks-2018.yaml') },
    inp: { type: 'string', default: ltown('L-TOWN.inp') },
    seed: { type: 'string', default: '1' },
    'step-hours': { type: 'string', default: '24' },
    /** The schedule's sensor layout without its leaks: every leak alarm is false (false alarms per week). */
    'leak-free': { type: 'boolean', default: false },
    /** Score the anomalies a previous run with the same inputs saved, without running the cycle again. */
    rescore: { type: 'boolean', default: false },
    /** Also print the score without these anomaly types (what the system scored before they existed). */
    without: { type: 'string' },
    'checkpoint-days': { type: 'string', default: '7' },
    /** With --rescore: the saved anomalies to score (a run's file or checkpoint kept under another name). */
    anomalies: { type: 'string' },
  },
});

const WARMUP_MS = 35 * 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
const dur = (ms: number | null) =>
  ms === null
    ? '—'
    : ms < 48 * 3_600_000
      ? `${(ms / 3_600_000).toFixed(1)} h`
      : `${(ms / 86_400_000).toFixed(1)} d`;

export function printScore(s: LeakScore, outflowLps: Record<string, number>): void {
  console.log(
    '| leak | area | type | start | end | mean outflow | detected | delay | by | outflow then | volume m³ | saved m³ |',
  );
  console.log('|---|---|---|---|---|---:|---|---:|---|---:|---:|---:|');
  for (const o of s.leaks) {
    const l = o.leak;
    console.log(
      `| ${l.pipe} | ${o.area} | ${l.kind} | ${day(l.startMs)} | ${day(l.endMs)} | ` +
        `${(outflowLps[l.pipe] ?? 0).toFixed(2)} L/s | ${o.detectedAtMs === null ? 'no' : day(o.detectedAtMs)} | ${dur(o.delayMs)} | ${o.by ?? '—'} | ` +
        `${o.outflowAtDetectionLps === null ? '—' : `${o.outflowAtDetectionLps.toFixed(2)} L/s`} | ` +
        `${o.volumeM3.toFixed(0)} | ${o.savedM3.toFixed(0)} |`,
    );
  }
  const detected = s.leaks.filter((o) => o.detectedAtMs !== null).length;
  const falseTypes =
    Object.entries(s.falseByType)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ') || 'none';
  console.log(
    `\nDetected ${detected} of ${s.leaks.length} leaks; ${s.alarms} leak alarms: ${s.truePositives} true, ` +
      `${s.repeats} repeats during a detected leak, ${s.falseAlarms} false (${falseTypes}) = ` +
      `${(s.falseAlarms / s.weeks).toFixed(2)} false alarms per week over ${s.weeks.toFixed(1)} weeks; ` +
      `competition false positives (false + repeats) ${s.falseAlarms + s.repeats}; data-fault alarms ${s.dataFaultAlarms}.`,
  );
  const detectors = Object.entries(s.byDetector).sort(
    (a, b) => b[1][0] + b[1][1] + b[1][2] - (a[1][0] + a[1][1] + a[1][2]),
  );
  console.log(
    `Alarms by detector and node (true / repeat / false): ${detectors.map(([k, [t, r, f]]) => `${k} ${t}/${r}/${f}`).join('; ') || 'none'}.`,
  );
  console.log(
    `Competition score (water not lost): ${s.savedM3.toFixed(0)} m³ saved of ${s.volumeM3.toFixed(0)} m³ leaked ` +
      `in the span (${s.volumeM3 > 0 ? ((100 * s.savedM3) / s.volumeM3).toFixed(0) : '—'} %).`,
  );
}

async function main(): Promise<void> {
  const scheduleText = readFileSync(args.schedule, 'utf8');
  const parsed = parseSchedule(scheduleText, args.schedule);
  const schedule = args['leak-free'] ? { ...parsed, leaks: [] } : parsed;
  const evalFromMs = scheduleTime(args.from.length === 10 ? `${args.from} 00:00` : args.from);
  let evalToMs = scheduleTime(args.to.length === 10 ? `${args.to} 00:00` : args.to);
  if (!(evalToMs > evalFromMs)) throw new Error('--to must be after --from');
  const seed = Number(args.seed);
  const t0 = performance.now();
  const { readings, cached, path } = await cachedReadings(
    {
      inpText: readFileSync(args.inp, 'utf8'),
      schedule,
      fromMs: evalFromMs - WARMUP_MS,
      toMs: evalToMs,
      seed,
      onProgress: (d, t) => process.stderr.write(`\rEPANET ${((100 * d) / t).toFixed(0)} %`),
    },
    args['leak-free'] ? `${scheduleText}\n# leak-free` : scheduleText,
  );
  const genS = (performance.now() - t0) / 1000;
  process.stderr.write(`\n${cached ? 'cached' : 'generated'} readings ${path} (${genS.toFixed(0)} s)\n`);
  const saved = `${path}.anomalies-${evalFromMs}-${evalToMs}.json`;
  const inpText = readFileSync(args.inp, 'utf8');
  const graph = await readPipeGraph(inpText);
  const scoreAll = (anomalies: AnomalyPayload[]) => {
    const score = scoreDetections(anomalies, schedule.leaks, readings, evalFromMs, evalToMs);
    printScore(score, readings.leakOutflowLps);
    for (const which of ['first', 'latest'] as const) {
      printLocalisation(scoreLocalisation(score.leaks, anomalies, graph, which), which);
    }
    if (!args.without) return;
    const left = new Set(args.without.split(','));
    console.log(`\n### The same run without ${[...left].join(', ')} alarms\n`);
    const kept = anomalies.filter((a) => !left.has(a.type));
    printScore(
      scoreDetections(kept, schedule.leaks, readings, evalFromMs, evalToMs),
      readings.leakOutflowLps,
    );
  };
  const partial = `${saved}.partial.json`;
  if (args.rescore) {
    const file = args.anomalies ?? (!existsSync(saved) && existsSync(partial) ? partial : null);
    const kept = file ? (JSON.parse(readFileSync(file, 'utf8')) as unknown) : null;
    if (file && kept && !Array.isArray(kept)) {
      // A run's checkpoint: score the span it completed, up to --to (a longer run can be scored on a
      // shorter span, with --anomalies naming its checkpoint).
      const p = kept as { toMs: number; anomalies: AnomalyPayload[] };
      const how =
        p.toMs < evalToMs
          ? `(a run to ${day(evalToMs)} stopped there)`
          : `(of a checkpoint at ${day(p.toMs)})`;
      evalToMs = Math.min(p.toMs, evalToMs);
      console.log(`\n## L-Town ${day(evalFromMs)} → ${day(evalToMs)} ${how}, rescored from ${file}\n`);
      scoreAll(p.anomalies);
      return;
    }
    console.log(`\n## L-Town ${day(evalFromMs)} → ${day(evalToMs)}, rescored from ${file ?? saved}\n`);
    scoreAll((kept ?? JSON.parse(readFileSync(saved, 'utf8'))) as AnomalyPayload[]);
    return;
  }
  const db = await createTestDatabase();
  const t1 = performance.now();
  try {
    const run = await runThroughCycle({
      databaseUrl: db.url,
      readings,
      networkInp: inpText,
      evalFromMs,
      evalToMs,
      stepMs: Number(args['step-hours']) * 3_600_000,
      checkpointRuns: Math.max(
        1,
        Math.round((Number(args['checkpoint-days']) * 24) / Number(args['step-hours'])),
      ),
      onCheckpoint: (anomalies, toMs) => writeFile(partial, JSON.stringify({ toMs, anomalies })),
      onProgress: (d, t) =>
        process.stderr.write(
          `\rcycles ${((100 * d) / t).toFixed(0)} % (${((performance.now() - t1) / 1000).toFixed(0)} s)`,
        ),
    });
    process.stderr.write('\n');
    await writeFile(saved, JSON.stringify(run.anomalies, null, 1));
    const cycleS = (performance.now() - t1) / 1000;
    console.log(
      `\n## L-Town ${day(evalFromMs)} → ${day(evalToMs)}, schedule ${args.schedule.split('/').pop()}${args['leak-free'] ? ' WITHOUT its leaks' : ''}, seed ${seed}: ` +
        `${readings.sensors.length} sensors at 5 min, mean inflow ${readings.meanInflowLps.toFixed(1)} L/s; ` +
        `${run.runs} cycles of ${args['step-hours']} h (${run.readings.toLocaleString('en')} readings) in ${cycleS.toFixed(0)} s, ` +
        `EPANET ${cached ? 'cached' : `${genS.toFixed(0)} s`}\n`,
    );
    scoreAll(run.anomalies);
  } finally {
    await db.drop();
  }
}

await main();
