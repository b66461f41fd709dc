/**
 * A STUDY, not a detector of the system (eval/leaks/calibrate.ts `--inflow`): a CUSUM of a district's net
 * inflow against its own recent weeks. On L-Town's leak-free simulation it drifts far above any useful
 * level (the town's demand walks by a few % for weeks: summed over hours, that is a "leak"), so it was
 * not wired into the rollup. Kept so the finding can be reproduced.
 *
 * Catches: a leak or a slow rise of losses that the hourly baselines (which need a deviation of 4 σ for an
 * hour) and the night flow (three nights) see late. A leak adds to the district's net inflow — inlets
 * minus metered outlets, so water passing through to a tank or a neighbour does not count — at every hour;
 * summed over hours, a rise of a fraction of the hourly noise becomes evidence.
 *
 * How: on hourly means of the net inflow, the expected value of an hour is the median of the same hour of
 * the week in the `weeks` weeks before the reference end (a leak-free past: it ends `lagHours` before now
 * and before the district's open inflow alarm, so a leak never becomes its own baseline). The scale is the
 * robust spread of the same residual over the reference window's last `lagHours` (each hour against its own
 * earlier weeks). The standardised residuals of the hours after the reference end feed a one-sided CUSUM
 * of rises: S ← max(0, S + r/σ − k). A leak holds when S reaches `threshold`. `k` and `threshold` are set on
 * a leak-free simulation for a false-alarm budget (eval/leaks/calibrate.ts `--inflow`), not on the scored leaks.
 */
import { HOUR_MS } from '../../shared/anomaly/series.ts';
import { MAD_TO_SIGMA, median } from '../../shared/anomaly/stats.ts';
import type { BucketSeries } from '../../shared/anomaly/types.ts';

const WEEK_H = 168;

export interface InflowCusumConfig {
  /** Weeks of the same hour the expected value is the median of. 3: a median that ignores one odd week. */
  weeks: number;
  /** Hours between the reference end and now: the CUSUM runs over them (7 days: every hour of the week once). */
  lagHours: number;
  /** Fewest hours after the reference with an expected value and data. */
  minHours: number;
  /** CUSUM allowance, in residual σ. */
  k: number;
  /** CUSUM decision level, in σ·hours. */
  threshold: number;
  /** Smallest residual scale: absolute (L/s) and relative to the mean net inflow of the reference. */
  minSigma: number;
  minSigmaRel: number;
  /** CUSUM levels (multiples of `threshold`) from which each severity applies. */
}

export const DEFAULT_INFLOW_CUSUM: InflowCusumConfig = {
  weeks: 3,
  lagHours: 7 * 24,
  minHours: 24,
  k: 1,
  threshold: 30,
  minSigma: 0.05,
  minSigmaRel: 0.01,
};

/** History the detector reads before now, in hours (the reference weeks, the scale's window, the lag). */
export const inflowCusumHours = (cfg: InflowCusumConfig): number => (cfg.weeks + 1) * WEEK_H + cfg.lagHours;

function hourly(s: BucketSeries, t: number): number {
  const i = Math.floor((t - s.startMs) / s.stepMs);
  if (i < 0 || i >= s.length) return Number.NaN;
  const c = s.count[i]!;
  return c > 0 ? s.sum[i]! / c : Number.NaN;
}

export interface InflowCusum {
  cusum: number;
  sigma: number;
  /** Mean residual of the last 24 hours (L/s; positive: more inflow than the past weeks). */
  lastDayResidual: number;
  /** First hour of the CUSUM's current run above zero. */
  sinceMs: number;
}

/**
 * The net inflow's CUSUM of rises at `nowMs` over the hours [refEnd, now); `net` is hourly (`stepMs` 1 h).
 * The reference ends `lagHours` before the last full hour, or at `leakFreeBeforeMs` if earlier. Null
 * without enough history.
 */
export function inflowCusum(
  net: BucketSeries,
  nowMs: number,
  cfg: InflowCusumConfig = DEFAULT_INFLOW_CUSUM,
  leakFreeBeforeMs = Number.POSITIVE_INFINITY,
): InflowCusum | null {
  const endMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const refEnd = Math.min(endMs - cfg.lagHours * HOUR_MS, Math.floor(leakFreeBeforeMs / HOUR_MS) * HOUR_MS);
  // Expected value of hour t: the median of the same hour in the `weeks` weeks before `before`.
  const expected = (t: number, before: number): number => {
    const past: number[] = [];
    for (let w = 1; past.length < cfg.weeks && w <= cfg.weeks + 2; w++) {
      const u = t - w * WEEK_H * HOUR_MS;
      if (u >= before) continue;
      const v = hourly(net, u);
      if (Number.isFinite(v)) past.push(v);
    }
    return past.length === cfg.weeks ? median(past) : Number.NaN;
  };
  // The scale: the same residual over the reference's last `lagHours` hours, each against its earlier weeks.
  const spread: number[] = [];
  const level: number[] = [];
  for (let t = refEnd - cfg.lagHours * HOUR_MS; t < refEnd; t += HOUR_MS) {
    const v = hourly(net, t);
    const e = expected(t, t);
    if (Number.isFinite(v) && Number.isFinite(e)) {
      spread.push(v - e);
      level.push(v);
    }
  }
  if (spread.length < cfg.minHours) return null;
  const centre = median(spread);
  const sigma = Math.max(
    cfg.minSigma,
    cfg.minSigmaRel * Math.abs(median(level)),
    MAD_TO_SIGMA * median(spread.map((r) => Math.abs(r - centre))),
  );
  let s = 0;
  let since = refEnd;
  let n = 0;
  let lastDay = 0;
  let lastDayN = 0;
  for (let t = refEnd; t < endMs; t += HOUR_MS) {
    const v = hourly(net, t);
    const e = expected(t, refEnd);
    if (!Number.isFinite(v) || !Number.isFinite(e)) continue;
    n++;
    const r = v - e;
    const next = Math.max(0, s + r / sigma - cfg.k);
    if (s === 0 && next > 0) since = t;
    s = next;
    if (t >= endMs - 24 * HOUR_MS) {
      lastDay += r;
      lastDayN++;
    }
  }
  if (n < cfg.minHours) return null;
  return { cusum: s, sigma, lastDayResidual: lastDayN > 0 ? lastDay / lastDayN : 0, sinceMs: since };
}
