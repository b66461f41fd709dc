/**
 * Leaks by the district's water balance: what enters the district, less what leaves it through metered
 * outlets, less what its tanks store, less what its customer meters measured. What remains is the water
 * nobody measured — unmetered use and leakage. It has a level (unmetered use, meter bias) and noise, but
 * no daily pattern to speak of when the customers are metered: a new leak is a step up of that level.
 *
 * Catches: a leak in a district whose customers are metered (AMR/smart meters), sooner than the pressure
 * points or the night flow see it, whatever its size relative to the demand — and in a district with no
 * inflow meter of its own, supplied by another district's metered outlet (a pump or a valve declared as
 * `feedsDistrictId` in the registry: L-Town's area C, fed by A's pump through the tank).
 *
 * How: on the hourly partials (L/s). Supply = Σ inlets + Σ outlets of other districts that feed this one;
 * outflow = Σ the district's own outlets; storage = each tank's volume change (m³) between the hour's
 * boundaries, a boundary's volume being the mean of the last reading before it and the first after it (the
 * partials' `last` and `first`): exact for any flow shape within the hour, a pump switching included. An
 * hour with a series missing is skipped. A single reading's level noise is large against an hour's storage,
 * but the boundaries telescope: over a block of hours only its two ends count. So the detector works on
 * means of `blockHours`-hour blocks (aligned on the clock, so successive cycles see the same blocks). The blocks' median and robust spread
 * are learned on a reference window ending `lagHours` before now (or before the district's open balance
 * anomaly: a leak never becomes its own reference); the blocks of the last `lagHours` feed a one-sided
 * CUSUM of rises: S ← max(0, S + (b − level)/σ − k). A leak holds at S ≥ `threshold`.
 * `k` and `threshold` are set on a leak-free simulation for a false-alarm budget (eval/leaks/calibrate.ts
 * `--balance`), not on the leaks the evaluation scores.
 *
 * A second leak while the first one's anomaly is open: `detectWaterBalanceStepUp` (the rollup then resolves
 * the open anomaly as superseded and opens a new one, whose reference holds the first leak).
 */
import { round } from './baseline.ts';
import { HOUR_MS } from './series.ts';
import { MAD_TO_SIGMA, median } from './stats.ts';
import type { BucketSeries, Condition, Severity, WaterBalanceInput } from './types.ts';

export type { WaterBalanceInput } from './types.ts';

export interface WaterBalanceConfig {
  /** Hours of the reference window the balance's level and spread are learned on. */
  referenceHours: number;
  /** Hours between the reference window's end and now: the CUSUM runs over them. */
  lagHours: number;
  /** Fewest hours of the reference window with a complete balance. */
  minReferenceHours: number;
  /** Fewest customer meters: without them the balance is the net inflow, with all of the demand's pattern. */
  minCustomers: number;
  /**
   * Smallest share of the district's water (supply − outflow − storage) its customer meters measured over
   * the reference window. Below it the consumption is mostly unmetered, and the balance is the demand with
   * its daily and weekly walk, not a level a leak steps up from (a few sample meters do not make a balance).
   */
  minMeteredShare: number;
  /** Hours per block: the CUSUM runs on block means of the hourly balance (a multiple of 24 divides days evenly). */
  blockHours: number;
  /** CUSUM allowance, in σ of a block mean: drifts smaller than this are not accumulated. */
  k: number;
  /** CUSUM decision level, in σ·blocks. */
  threshold: number;
  /** Smallest σ, L/s (a near-perfect balance is not infinitely precise). */
  minSigmaLps: number;
  /** CUSUM levels (in multiples of `threshold`) from which each severity applies. */
  severity: Partial<Record<Severity, number>>;
}

/**
 * 14 days of reference (every weekday twice), 7 days of lag (a leak of the last week is not yet part of the
 * reference), as the pressure model; 6-hour blocks. k 0.5 and level 4 were set on the LEAK-FREE seed-2
 * simulation of L-Town, 2018-01-01 → 04-01 (`npm run eval:leaks:calibrate -- --balance --seed 2
 * --warmup-days 35`): σ of a block 0.13 L/s, the largest CUSUM its noise reached over the quarter 1.3 (k 0.25:
 * 2.0; k 1: 0.6) — the level is three times that (eval/RESULTS.md, 2026-12-07).
 */
export const DEFAULT_WATER_BALANCE: WaterBalanceConfig = {
  referenceHours: 14 * 24,
  lagHours: 7 * 24,
  minReferenceHours: 7 * 24,
  minCustomers: 1,
  minMeteredShare: 0.5,
  blockHours: 6,
  k: 0.5,
  threshold: 4,
  minSigmaLps: 0.02,
  severity: { warning: 1, minor: 2, major: 4 },
};

/** Hourly mean of a series at hour `t` (NaN when empty or outside). */
function at(s: BucketSeries, t: number): number {
  const i = Math.floor((t - s.startMs) / s.stepMs);
  if (i < 0 || i >= s.length) return Number.NaN;
  const c = s.count[i]!;
  return c > 0 ? s.sum[i]! / c : Number.NaN;
}

/** A tank's volume at the hour boundary `t`: the last reading before it and the first after, averaged. */
function volumeAt(s: BucketSeries, t: number): number {
  const i = Math.floor((t - s.startMs) / s.stepMs);
  const before = i - 1 >= 0 && i - 1 < s.length && s.count[i - 1]! > 0 ? s.last[i - 1]! : Number.NaN;
  const after = i >= 0 && i < s.length && s.count[i]! > 0 ? s.first[i]! : Number.NaN;
  if (Number.isFinite(before) && Number.isFinite(after)) return (before + after) / 2;
  return Number.isFinite(before) ? before : after;
}

const sumAt = (series: readonly BucketSeries[], t: number): number => {
  let s = 0;
  for (const x of series) s += at(x, t);
  return s;
};

/**
 * The balance (L/s) of each hour starting at `hours[i]`: the hour's mean supply − outflow − customers, less
 * each tank's volume change between the hour's boundaries. NaN where a series is missing.
 */
export function hourlyWaterBalance(input: WaterBalanceInput, hours: readonly number[]): Float64Array {
  const out = new Float64Array(hours.length);
  for (let i = 0; i < hours.length; i++) {
    const t = hours[i]!;
    let storage = 0;
    for (const tank of input.tanks) {
      storage += ((volumeAt(tank, t + HOUR_MS) - volumeAt(tank, t)) * 1000) / (HOUR_MS / 1000);
    }
    out[i] = sumAt(input.supply, t) - sumAt(input.outflow, t) - sumAt(input.customers, t) - storage;
  }
  return out;
}

export interface WaterBalanceCusum {
  /** Share of the district's water its customer meters measured over the reference window. */
  meteredShare: number;
  /** CUSUM of rises at the last hour with a balance before now, σ·hours. */
  cusum: number;
  /** The reference's median balance and robust spread, L/s. */
  level: number;
  sigma: number;
  /** Mean rise over the reference level in the last 24 hours, L/s. */
  lastDayRiseLps: number;
  /** First hour of the CUSUM's current run above zero. */
  sinceMs: number;
}

/**
 * The balance's CUSUM at `nowMs` over the hours after the reference window, which ends `lagHours` before
 * the last full hour, or at `leakFreeBeforeMs` if earlier. Null without enough reference.
 */
export function waterBalanceCusum(
  input: WaterBalanceInput,
  nowMs: number,
  cfg: WaterBalanceConfig = DEFAULT_WATER_BALANCE,
  leakFreeBeforeMs = Number.POSITIVE_INFINITY,
  reference: WaterBalanceInput = input,
  followRise = false,
): WaterBalanceCusum | null {
  if (input.customers.length < cfg.minCustomers) return null;
  if (input.supply.length === 0 && input.tanks.length === 0) return null;
  const blockMs = cfg.blockHours * HOUR_MS;
  const floorBlock = (t: number) => Math.floor(t / blockMs) * blockMs;
  const endMs = floorBlock(nowMs);
  const refEnd = floorBlock(Math.min(endMs - cfg.lagHours * HOUR_MS, leakFreeBeforeMs));
  const refStart = refEnd - floorBlock(cfg.referenceHours * HOUR_MS);
  // The CUSUM runs over the last `lagHours` (after the reference when it is not frozen): a frozen reference
  // may lie months back, and only its own window and the recent hours are read.
  const cusumFrom = Math.max(refEnd, floorBlock(endMs - cfg.lagHours * HOUR_MS));
  const blocksOf = (series: WaterBalanceInput, from: number, to: number) => {
    const hours: number[] = [];
    for (let t = from; t < to; t += HOUR_MS) hours.push(t);
    const b = hourlyWaterBalance(series, hours);
    // Block means: the tanks' boundary volumes telescope, so a block's storage rests on its two ends only.
    const out: { t: number; v: number }[] = [];
    for (let i = 0; i < hours.length; i += cfg.blockHours) {
      let sum = 0;
      let n = 0;
      for (let j = i; j < i + cfg.blockHours && j < hours.length; j++) {
        if (Number.isFinite(b[j]!)) {
          sum += b[j]!;
          n++;
        }
      }
      out.push({ t: hours[i]!, v: n * 2 > cfg.blockHours ? sum / n : Number.NaN });
    }
    return out;
  };
  const refBlocks = blocksOf(reference, refStart, refEnd);
  const ref = refBlocks.filter((x) => Number.isFinite(x.v)).map((x) => x.v);
  // The customers' share of the district's water over the reference's complete hours.
  let metered = 0;
  let unmetered = 0;
  for (let t = refStart; t < refEnd; t += HOUR_MS) {
    const b = hourlyWaterBalance(reference, [t])[0]!;
    if (!Number.isFinite(b)) continue;
    const used = sumAt(reference.customers, t);
    metered += used;
    unmetered += b;
  }
  const meteredShare = metered + unmetered > 0 ? metered / (metered + unmetered) : 0;
  if (meteredShare < cfg.minMeteredShare) return null;
  const blocks = blocksOf(input, cusumFrom, endMs);
  if (ref.length * cfg.blockHours < cfg.minReferenceHours) return null;
  // With `followRise`, a reference still rising (a leak growing) is carried on at its own rate.
  const valid = refBlocks.filter((x) => Number.isFinite(x.v));
  const slope = followRise ? Math.max(0, theilSen(valid)) : 0;
  const mid = (refStart + refEnd) / 2;
  const trend = (t: number) => slope * (t - mid);
  const detrended = valid.map((x) => x.v - trend(x.t));
  const level = median(detrended);
  const sigma = Math.max(cfg.minSigmaLps, MAD_TO_SIGMA * median(detrended.map((v) => Math.abs(v - level))));
  // The slope is known to a standard error σ/√Σ(tᵢ − mid)², and its error is common to every block it is
  // carried on to: it would add up in the CUSUM as a drift. So the rise is carried on at the fastest rate
  // the reference supports — its slope plus two standard errors — and a new leak must step beyond that.
  const spreadT = valid.reduce((a, x) => a + (x.t - mid) ** 2, 0);
  const carried = slope > 0 ? slope + (2 * sigma) / Math.sqrt(spreadT) : 0;
  let s = 0;
  let since = cusumFrom;
  let day = 0;
  let dayN = 0;
  for (const { t, v } of blocks) {
    if (!Number.isFinite(v)) continue;
    const rise = v - trend(t) - level;
    const beyond = rise - (carried - slope) * Math.max(0, t - mid);
    const next = Math.max(0, s + beyond / sigma - cfg.k);
    if (s === 0 && next > 0) since = t;
    s = next;
    if (t >= endMs - 24 * HOUR_MS) {
      day += rise;
      dayN++;
    }
  }
  return {
    cusum: s,
    level,
    sigma,
    lastDayRiseLps: dayN > 0 ? day / dayN : 0,
    sinceMs: since,
    meteredShare,
  };
}

/** Theil–Sen slope (L/s per ms) of block means: the median of the pairwise slopes, robust to odd blocks. */
function theilSen(blocks: readonly { t: number; v: number }[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < blocks.length; i++) {
    for (let j = i + 1; j < blocks.length; j++) {
      slopes.push((blocks[j]!.v - blocks[i]!.v) / (blocks[j]!.t - blocks[i]!.t));
    }
  }
  return slopes.length > 0 ? median(slopes) : 0;
}

function conditionOf(
  c: WaterBalanceCusum,
  nowMs: number,
  cfg: WaterBalanceConfig,
  input: WaterBalanceInput,
): Condition {
  const level = c.cusum / cfg.threshold;
  let severity: Severity = 'warning';
  for (const [s, from] of Object.entries(cfg.severity) as [Severity, number][]) {
    if (level >= from) severity = s;
  }
  return {
    type: 'water_balance',
    metric: 'flow',
    severity,
    observedAtMs: nowMs,
    sinceMs: c.sinceMs,
    ...(input.nodeId ? { nodeId: input.nodeId } : {}),
    evidence: {
      cusum: round(c.cusum, 1),
      threshold: cfg.threshold,
      lastDayRiseLps: round(c.lastDayRiseLps, 3),
      referenceLps: round(c.level, 3),
      sigmaLps: round(c.sigma, 3),
      supplyMeters: input.supply.length,
      tanks: input.tanks.length,
      customerMeters: input.customers.length,
      meteredShare: round(c.meteredShare, 3),
    },
  };
}

/** The district's water-balance leak at `nowMs`, or null. */
export function detectWaterBalanceLeak(
  input: WaterBalanceInput,
  nowMs: number,
  cfg: WaterBalanceConfig = DEFAULT_WATER_BALANCE,
  leakFreeBeforeMs?: number,
  reference?: WaterBalanceInput,
): Condition | null {
  const c = waterBalanceCusum(input, nowMs, cfg, leakFreeBeforeMs, reference);
  return c && c.cusum >= cfg.threshold ? conditionOf(c, nowMs, cfg, input) : null;
}

/**
 * A second leak on top of an open balance anomaly that began at `openSinceMs`: the balance against the
 * ordinary reference — once that reference lies wholly after the open anomaly's start, so it holds the
 * first leak's level — rises again past the threshold. Null otherwise. Without it, the open anomaly (whose
 * reference is frozen before the first leak) would absorb every later leak of the district.
 * A leak that keeps growing (an incipient leak grows for weeks before it levels off) would also step up
 * against a reference of three weeks ago: so the reference's own rise (its Theil–Sen slope, when positive)
 * is carried on over the recent blocks, and only a rise beyond that — a new leak's step — counts. A grown
 * leak that has levelled off stays below the carried-on rise; a reference no longer rising is level again.
 */
export function detectWaterBalanceStepUp(
  input: WaterBalanceInput,
  nowMs: number,
  openSinceMs: number,
  cfg: WaterBalanceConfig = DEFAULT_WATER_BALANCE,
): Condition | null {
  const blockMs = cfg.blockHours * HOUR_MS;
  const endMs = Math.floor(nowMs / blockMs) * blockMs;
  const refStart = endMs - (cfg.lagHours + cfg.referenceHours) * HOUR_MS;
  if (refStart < openSinceMs) return null;
  const c = waterBalanceCusum(input, nowMs, cfg, Number.POSITIVE_INFINITY, input, true);
  if (!c || c.cusum < cfg.threshold) return null;
  const found = conditionOf(c, nowMs, cfg, input);
  return { ...found, evidence: { ...found.evidence, stepUp: true } };
}
