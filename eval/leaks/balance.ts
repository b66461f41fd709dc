/**
 * Area C's water balance from the generated readings: what the pump lifts into the tank, minus what the
 * tank stored, minus what the 82 AMR meters of C measured — a leak in C is the balance's rise. C has no
 * inflow meter of its own: its supply is A's outlet (PUMP_1) through the tank T1, both registered in A.
 *
 * This is a study of the signal (eval/leaks/calibrate.ts `--balance`), not a detector of the system: the
 * registry has no way to say that A's outlet and A's tank feed C (a node belongs to one district), so the
 * rollup cannot form C's supply. What it measures: the balance's hourly noise on a leak-free simulation,
 * the CUSUM level that noise reaches (the decision level is set from it), and the delay at which that
 * level would catch the schedule's leaks in C.
 */
import { type GeneratedReadings, STEP_MS, tankVolume } from './generate.ts';

const HOUR_MS = 3_600_000;
const PER_HOUR = HOUR_MS / STEP_MS;

export interface BalanceConfig {
  /** Reference window (hours) the balance's level and spread are learned on, ending `lagHours` before now. */
  referenceHours: number;
  lagHours: number;
  /** CUSUM allowance in σ, and decision level in σ·hours. */
  k: number;
  threshold: number;
  /** Smallest σ, L/s. */
  minSigmaLps: number;
}

/**
 * k and the level set on the LEAK-FREE seed-2 simulation of 2018-01-01 → 04-01 (`npm run eval:leaks:calibrate --
 * --balance --seed 2 --warmup-days 35 --k 0.5`): the largest CUSUM its noise reached was 4.3; 7 leaves 60 % margin.
 */
export const DEFAULT_BALANCE: BalanceConfig = {
  referenceHours: 14 * 24,
  lagHours: 7 * 24,
  k: 0.5,
  threshold: 7,
  minSigmaLps: 0.02,
};

/** Hourly balance of area C, L/s: pump − tank storage − Σ AMR (NaN where a series is missing). */
export function areaCBalance(r: GeneratedReadings): { startMs: number; values: Float64Array } {
  const pump = r.sensors.find((s) => s.kind === 'flow' && s.id === 'PUMP_1');
  const tank = r.sensors.find((s) => s.kind === 'level');
  const amrs = r.sensors.filter((s) => s.kind === 'amr');
  if (!pump || !tank || amrs.length === 0) throw new Error('area C balance needs PUMP_1, the tank and AMRs');
  const hours = Math.floor(r.steps / PER_HOUR);
  const values = new Float64Array(hours).fill(Number.NaN);
  // The tank's volume at each hour boundary: the mean level of the three readings around it (noise 5 mm each).
  const volumeAt = (step: number) => {
    let s = 0;
    let n = 0;
    for (let i = step - 1; i <= step + 1; i++) {
      if (i < 0 || i >= r.steps) continue;
      s += tank.values[i]!;
      n++;
    }
    return tankVolume(s / n);
  };
  for (let h = 0; h < hours; h++) {
    const lo = h * PER_HOUR;
    let q = 0;
    let use = 0;
    for (let i = lo; i < lo + PER_HOUR; i++) {
      q += pump.values[i]!;
      for (const a of amrs) use += a.values[i]!;
    }
    const stored = ((volumeAt(lo + PER_HOUR) - volumeAt(lo)) * 1000) / (HOUR_MS / 1000);
    values[h] = q / PER_HOUR - stored - use / PER_HOUR;
  }
  return { startMs: r.startMs, values };
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The balance's CUSUM of rises at `nowMs` (hours after the reference window), with its reference. */
export function balanceCusum(
  b: { startMs: number; values: Float64Array },
  nowMs: number,
  cfg: BalanceConfig = DEFAULT_BALANCE,
  leakFreeBeforeMs = Number.POSITIVE_INFINITY,
): { cusum: number; level: number; sigma: number; lastDayLps: number } | null {
  const end = Math.floor((nowMs - b.startMs) / HOUR_MS);
  const refEnd = Math.min(end - cfg.lagHours, Math.floor((leakFreeBeforeMs - b.startMs) / HOUR_MS));
  const refStart = refEnd - cfg.referenceHours;
  if (refStart < 0 || end > b.values.length) return null;
  const ref: number[] = [];
  for (let h = refStart; h < refEnd; h++) if (Number.isFinite(b.values[h]!)) ref.push(b.values[h]!);
  if (ref.length < cfg.referenceHours / 2) return null;
  const level = median(ref);
  const sigma = Math.max(cfg.minSigmaLps, 1.4826 * median(ref.map((v) => Math.abs(v - level))));
  let s = 0;
  let day = 0;
  let dayN = 0;
  for (let h = refEnd; h < end; h++) {
    const v = b.values[h]!;
    if (!Number.isFinite(v)) continue;
    s = Math.max(0, s + (v - level) / sigma - cfg.k);
    if (h >= end - 24) {
      day += v - level;
      dayN++;
    }
  }
  return { cusum: s, level, sigma, lastDayLps: dayN > 0 ? day / dayN : 0 };
}
