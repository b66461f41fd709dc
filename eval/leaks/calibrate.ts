/**
 * Calibrates the pressure-residual detector (shared/anomaly/pressure-model.ts) on a LEAK-FREE simulation of
 * L-Town — the schedule's sensor layout with its leaks removed, on another seed — so its decision level is set
 * by a false-alarm budget, not by the leaks the evaluation scores:
 *
 *   npm run eval:leaks:calibrate -- [--from 2018-01-01] [--to 2018-04-01] [--seed 2] [--k 1] [--leaky]
 *                                  [--balance | --inflow] [--threshold 30] [--warmup-days 35]
 *
 * Reads the generated readings directly (hourly means per pressure point, grouped by area as the cycle groups
 * them by district) and evaluates the detector's CUSUM once an hour over the span, exactly as the rollup does.
 * Prints per area the largest CUSUM reached and its quantiles. With `--leaky` the schedule's leaks are kept
 * (to see what the chosen level would catch; not used to choose it).
 *
 * With `--balance`, the same for area C's water balance (the system's detector, shared/anomaly/water-balance.ts,
 * on the hourly series eval/leaks/balance.ts builds: pump − tank storage − Σ AMR): its hourly spread, the
 * CUSUM level its noise reaches and, with `--leaky`, when the level would catch C's leaks.
 * With `--inflow`, the same for district A's net-inflow CUSUM (shared/anomaly/inflow-cusum.ts).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  DEFAULT_PRESSURE_MODEL,
  type PressureSeries,
  pressureResiduals,
} from '../../shared/anomaly/pressure-model.ts';
import { emptySeries } from '../../shared/anomaly/series.ts';
import type { BucketSeries } from '../../shared/anomaly/types.ts';
import { detectWaterBalanceStepUp } from '../../shared/anomaly/water-balance.ts';
import { areaCBalanceInput, balanceCusum, DEFAULT_BALANCE } from './balance.ts';
import { cachedReadings } from './cache.ts';
import { type GeneratedReadings, STEP_MS } from './generate.ts';
import { DEFAULT_INFLOW_CUSUM, inflowCusum } from './inflow-cusum.ts';
import { parseSchedule, type ScheduledLeak, scheduleTime } from './schedule.ts';

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

const hourText = (ms: number) => new Date(ms).toISOString().slice(0, 13).replace('T', ' ');

type CusumAt = (
  t: number,
  leakFreeBeforeMs: number,
) => { cusum: number; sigma: number; sinceMs?: number } | null;

/**
 * A district-level CUSUM evaluated hourly as the rollup does, with the lifecycle's freeze (an alarm's
 * reference ends at its start while it holds): its noise (leak-free) or its detections (with the schedule).
 */
function studyCusum(
  title: string,
  cusumAt: CusumAt,
  areas: readonly string[],
  readings: GeneratedReadings,
  leaks: readonly ScheduledLeak[],
  fromMs: number,
  toMs: number,
  leaky: boolean,
  cfg: { k: number; threshold: number },
  /** A second rise while an alarm is open (the balance's step-up): the start of a new alarm, or null. */
  stepUpAt?: (t: number, openSinceMs: number) => number | null,
): void {
  const watched = leaky ? leaks.filter((l) => areas.includes(readings.leakArea[l.pipe] ?? '')) : [];
  console.log(
    `${title}, ${leaky ? 'with the schedule' : 'LEAK-FREE'}, ${hourText(fromMs)} → ${hourText(toMs)}; k ${cfg.k}, level ${cfg.threshold}`,
  );
  const maxima: number[] = [];
  let worst = { cusum: 0, atMs: 0 };
  let sigma = 0;
  let minShare = Number.POSITIVE_INFINITY;
  let alarmFrom: number | null = null;
  const alarms: number[] = [];
  for (let t = fromMs; t <= toMs; t += HOUR_MS) {
    if (alarmFrom !== null && stepUpAt) {
      const since = stepUpAt(t, alarmFrom);
      if (since !== null) {
        // The open alarm is superseded: a new one, whose reference holds the first leak.
        alarmFrom = since;
        alarms.push(t);
      }
    }
    const r = cusumAt(t, alarmFrom ?? Number.POSITIVE_INFINITY);
    if (!r) continue;
    maxima.push(r.cusum);
    sigma = r.sigma;
    if ('meteredShare' in r && typeof r.meteredShare === 'number') {
      minShare = Math.min(minShare, r.meteredShare);
    }
    if (r.cusum > worst.cusum) worst = { cusum: r.cusum, atMs: t };
    if (alarmFrom === null && r.cusum >= cfg.threshold) {
      // The lifecycle's anomaly starts where the detector says the rise began (its `sinceMs`), else now.
      alarmFrom = r.sinceMs ?? t;
      alarms.push(t);
    } else if (alarmFrom !== null && r.cusum < cfg.threshold) alarmFrom = null;
  }
  const sorted = [...maxima].sort((x, y) => x - y);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1);
  console.log(
    `σ ${sigma.toFixed(3)} L/s (at the end)${Number.isFinite(minShare) ? `, smallest metered share ${minShare.toFixed(3)}` : ''}; CUSUM per hour median ${q(0.5)}, p99 ${q(0.99)}, ` +
      `max ${worst.cusum.toFixed(1)} at ${hourText(worst.atMs)}; ${alarms.length} alarm(s) at the level` +
      (alarms.length > 0 ? `: ${alarms.map(hourText).join(', ')}` : ''),
  );
  for (const l of watched) {
    const first = alarms.find((a) => a >= l.startMs && a < l.endMs);
    console.log(
      `leak ${l.pipe} (${readings.leakArea[l.pipe]}, ${l.kind}, ${hourText(l.startMs)} → ${hourText(l.endMs)}): ` +
        `${first === undefined ? 'no alarm opened while it ran' : `alarm opened ${hourText(first)}, ${((first - l.startMs) / 86_400_000).toFixed(1)} d after its start`}`,
    );
  }
}

/** District A's net inflow (the reservoirs' inlets minus the pump to the tank), hourly means. */
function netInflowA(readings: GeneratedReadings): BucketSeries {
  const flows = readings.sensors.filter((s) => s.kind === 'flow');
  const hours = Math.floor(readings.steps / (HOUR_MS / STEP_MS));
  const out = emptySeries(readings.startMs, HOUR_MS, hours);
  const per = HOUR_MS / STEP_MS;
  for (let h = 0; h < hours; h++) {
    let sum = 0;
    for (const f of flows) {
      const sign = f.id === 'PUMP_1' ? -1 : 1;
      for (let k = 0; k < per; k++) sum += sign * f.values[h * per + k]!;
    }
    out.count[h] = 1;
    out.sum[h] = sum / per;
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
      balance: { type: 'boolean', default: false },
      inflow: { type: 'boolean', default: false },
      /** History before --from (default: the detector's reference and lag; 35 reuses eval:leaks's cached data). */
      'warmup-days': { type: 'string' },
      threshold: { type: 'string' },
    },
  });
  const text = readFileSync(args.schedule, 'utf8');
  const parsed = parseSchedule(text, args.schedule);
  const schedule = args.leaky ? parsed : { ...parsed, leaks: [] };
  const fromMs = scheduleTime(`${args.from} 00:00`);
  const toMs = scheduleTime(`${args.to} 00:00`);
  const cfg = { ...DEFAULT_PRESSURE_MODEL, ...(args.k ? { k: Number(args.k) } : {}) };
  const warmupMs = args['warmup-days']
    ? Number(args['warmup-days']) * 24 * HOUR_MS
    : (cfg.referenceHours + cfg.lagHours) * HOUR_MS;
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
  const k = args.k ? { k: Number(args.k) } : {};
  const threshold = args.threshold ? { threshold: Number(args.threshold) } : {};
  if (args.balance) {
    const bcfg = { ...DEFAULT_BALANCE, ...k, ...threshold };
    const b = areaCBalanceInput(readings);
    const title = `area C water balance (PUMP_1 − tank storage − Σ ${readings.sensors.filter((x) => x.kind === 'amr').length} AMR)`;
    const at: CusumAt = (t, free) => balanceCusum(b, t, bcfg, free);
    const step = (t: number, since: number) => detectWaterBalanceStepUp(b, t, since, bcfg)?.sinceMs ?? null;
    studyCusum(title, at, ['C'], readings, parsed.leaks, fromMs, toMs, args.leaky, bcfg, step);
    return;
  }
  if (args.inflow) {
    const icfg = { ...DEFAULT_INFLOW_CUSUM, ...k, ...threshold };
    const net = netInflowA(readings);
    const at: CusumAt = (t, free) => inflowCusum(net, t, icfg, free);
    const title = 'area A net inflow CUSUM (p227 + p235 − PUMP_1)';
    studyCusum(title, at, ['A', 'B'], readings, parsed.leaks, fromMs, toMs, args.leaky, icfg);
    return;
  }
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
