/**
 * Area C's water balance from the generated readings, through the system's own detector
 * (shared/anomaly/water-balance.ts): the hourly means the rollup reads from agg_1h — A's pump (registered
 * as feeding C), the tank T1's volume and the 82 AMR meters — laid on an hourly grid. Used by
 * eval/leaks/calibrate.ts `--balance` to set the detector's level on a leak-free simulation (its hourly
 * spread, the CUSUM level its noise reaches) and, with the schedule, to see when that level would catch C's
 * leaks — the cycle itself runs the same code on the same series (eval:leaks).
 */
import { emptySeries } from '../../shared/anomaly/series.ts';
import type { BucketSeries } from '../../shared/anomaly/types.ts';
import {
  DEFAULT_WATER_BALANCE,
  hourlyWaterBalance,
  type WaterBalanceConfig,
  type WaterBalanceCusum,
  type WaterBalanceInput,
  waterBalanceCusum,
} from '../../shared/anomaly/water-balance.ts';
import { type GeneratedReadings, STEP_MS, tankVolume } from './generate.ts';

const HOUR_MS = 3_600_000;
const PER_HOUR = HOUR_MS / STEP_MS;

export type BalanceConfig = WaterBalanceConfig;
export const DEFAULT_BALANCE = DEFAULT_WATER_BALANCE;

/** Hourly means of one series (after `map`), as agg_1h holds them. */
function hourly(
  r: GeneratedReadings,
  values: Float32Array,
  map: (v: number) => number = (v) => v,
): BucketSeries {
  const hours = Math.floor(r.steps / PER_HOUR);
  const out = emptySeries(r.startMs, HOUR_MS, hours);
  for (let h = 0; h < hours; h++) {
    let s = 0;
    for (let i = h * PER_HOUR; i < (h + 1) * PER_HOUR; i++) s += map(values[i]!);
    out.count[h] = PER_HOUR;
    out.sum[h] = s;
    out.first[h] = map(values[h * PER_HOUR]!);
    out.last[h] = map(values[(h + 1) * PER_HOUR - 1]!);
  }
  return out;
}

/** Area C's balance input: PUMP_1 as supply, T1's volume, the AMR meters. */
export function areaCBalanceInput(r: GeneratedReadings): WaterBalanceInput {
  const pump = r.sensors.find((s) => s.kind === 'flow' && s.id === 'PUMP_1');
  const tank = r.sensors.find((s) => s.kind === 'level');
  const amrs = r.sensors.filter((s) => s.kind === 'amr');
  if (!pump || !tank || amrs.length === 0) throw new Error('area C balance needs PUMP_1, the tank and AMRs');
  return {
    supply: [hourly(r, pump.values)],
    outflow: [],
    tanks: [hourly(r, tank.values, tankVolume)],
    customers: amrs.map((a) => hourly(r, a.values)),
    nodeId: 'F-PUMP_1',
  };
}

/** Hourly balance of area C, L/s (for inspection and the test). */
export function areaCBalance(r: GeneratedReadings): { startMs: number; values: Float64Array } {
  const hours = Math.floor(r.steps / PER_HOUR);
  const at = Array.from({ length: hours }, (_, h) => r.startMs + h * HOUR_MS);
  return { startMs: r.startMs, values: hourlyWaterBalance(areaCBalanceInput(r), at) };
}

/** The balance's CUSUM of rises at `nowMs`, exactly as the rollup evaluates it. */
export function balanceCusum(
  input: WaterBalanceInput,
  nowMs: number,
  cfg: BalanceConfig = DEFAULT_BALANCE,
  leakFreeBeforeMs = Number.POSITIVE_INFINITY,
): WaterBalanceCusum | null {
  return waterBalanceCusum(input, nowMs, cfg, leakFreeBeforeMs);
}
