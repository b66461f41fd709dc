/**
 * Calibrates the pressure-residual detector (shared/anomaly/pressure-model.ts) on a LEAK-FREE simulation of
 * L-Town — the schedule's sensor layout with its leaks removed, on another seed — so its decision level is set
 * by a false-alarm budget, not by the leaks the evaluation scores:
 *
 *   npm run eval:leaks:calibrate -- [--from 2018-01-01] [--to 2018-04-01] [--seed 2] [--k 1] [--leaky]
 *
 * Reads the generated readings directly (hourly means per pressure point, grouped by area as the cycle groups
 * them by district) and evaluates the detector's CUSUM once an hour over the span, exactly as the rollup does.
 * Prints per area the largest CUSUM reached and its quantiles. With `--leaky` the schedule's leaks are kept
 * (to see what the chosen level would catch; not used to choose it).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  DEFAULT_PRESSURE_MODEL,
  type PressureSeries,
  pressureResiduals,
} from '../../shared/anomaly/pressure-model.ts';
import { emptySeries } from '../../shared/anomaly/series.ts';
import { cachedReadings } from './cache.ts';
import { type GeneratedReadings, STEP_MS } from './generate.ts';
import { parseSchedule, scheduleTime } from './schedule.ts';

const HOUR_MS = 3_600_000;
const ltown = (f: string) => new URL(`../../../shared/data/ltown/${f}`, import.meta.url).pathname;

/** Hourly means of each pressure point, per area (what agg_1h holds for them). */
export function hourlyPressures(readings: GeneratedReadings): Map<string, PressureSeries[]> {
  const perHour = HOUR_MS / STEP_MS;
  const hours = Math.floor(readings.steps / perHour);
  const out = new Map<string, PressureSeries[]>();
  for (const s of readings.sensors) {
    if (s.kind !== 'pressure') continue;
    const hourly = emptySeries(readings.startMs, HOUR_MS, hours);
    for (let h = 0; h < hours; h++) {
      let sum = 0;
      for (let k = 0; k < perHour; k++) sum += s.values[h * perHour + k]!;
      hourly.count[h] = perHour;
      hourly.sum[h] = sum;
    }
    const list = out.get(s.area) ?? [];
    list.push({ nodeId: `P-${s.id}`, hourly });
    out.set(s.area, list);
  }
  return out;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      from: { type: 'string', default: '2018-01-01' },
      to: { type: 'string', default: '2018-04-01' },
      schedule: { type: 'string', default: ltown('leaks-2018.yaml') },
      seed: { type: 'string', default: '2' },
      k: { type: 'string' },
      leaky: { type: 'boolean', default: false },
    },
  });
  const text = readFileSync(args.schedule, 'utf8');
  const parsed = parseSchedule(text, args.schedule);
  const schedule = args.leaky ? parsed : { ...parsed, leaks: [] };
  const fromMs = scheduleTime(`${args.from} 00:00`);
  const toMs = scheduleTime(`${args.to} 00:00`);
  const cfg = { ...DEFAULT_PRESSURE_MODEL, ...(args.k ? { k: Number(args.k) } : {}) };
  const warmupMs = (cfg.referenceHours + cfg.lagHours) * HOUR_MS;
  const { readings } = await cachedReadings(
    {
      inpText: readFileSync(ltown('L-TOWN.inp'), 'utf8'),
      schedule,
      fromMs: fromMs - warmupMs,
      toMs,
      seed: Number(args.seed),
    },
    args.leaky ? text : `${text}\n# leak-free`,
  );
  const areas = hourlyPressures(readings);
  console.log(
    `pressure-residual CUSUM on ${args.leaky ? 'the schedule' : 'a LEAK-FREE'} simulation, seed ${args.seed}, ` +
      `${args.from} → ${args.to}, k ${cfg.k}, evaluated hourly; decision level now ${cfg.threshold}`,
  );
  for (const [area, points] of [...areas].sort()) {
    const maxima: number[] = [];
    let worst = { cusum: 0, nodeId: '', atMs: 0 };
    let firstAbove: number | null = null;
    for (let t = fromMs; t <= toMs; t += HOUR_MS) {
      const r = pressureResiduals(points, t, cfg);
      const top = r.reduce((a, b) => (b.cusum > a.cusum ? b : a), { cusum: 0, nodeId: '' } as {
        cusum: number;
        nodeId: string;
      });
      maxima.push(top.cusum);
      if (top.cusum > worst.cusum) worst = { cusum: top.cusum, nodeId: top.nodeId, atMs: t };
      if (firstAbove === null && top.cusum >= cfg.threshold) firstAbove = t;
    }
    const sorted = [...maxima].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1);
    console.log(
      `area ${area}: ${points.length} points; district max CUSUM per hour: median ${q(0.5)}, p99 ${q(0.99)}, ` +
        `max ${worst.cusum.toFixed(1)} (${worst.nodeId} at ${new Date(worst.atMs).toISOString().slice(0, 13)}); ` +
        `first at or above the level: ${firstAbove === null ? 'never' : new Date(firstAbove).toISOString().slice(0, 13)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
