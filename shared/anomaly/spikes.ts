/**
 * Spikes: single values far from both their neighbours.
 *
 * Catches: transmission glitches, electrical noise, a sensor's momentary fault — one reading (or
 * `maxWidth` readings) jumping away and coming straight back. A step (a burst, a pump start) is not a spike:
 * after a step the value agrees with its right-hand neighbours, so requiring a distance from the median of
 * the left AND of the right neighbours, in the same direction, keeps steps out.
 *
 * How: the cycle's raw readings, preceded by the last values of the previous buckets (so the previous
 * cycle's final reading gets its right-hand neighbours now), each compared with the medians of `neighbours`
 * values either side. Noise is the robust spread of first differences over the recent 5-minute means and
 * the cycle's values, floored by `minScale`; a spike is at least `zThreshold` noise units and `minRel` of
 * the local level away from both sides.
 */
import type { Metric } from '../domain/readings.ts';
import { round } from './baseline.ts';
import { bucketIndex, bucketMean, HOUR_MS } from './series.ts';
import { diffSigma, medianOfRange } from './stats.ts';
import type { BucketSeries, Condition } from './types.ts';

export interface SpikeConfig {
  /** Values each side whose median is the neighbourhood. 3: one other odd value cannot move it. */
  neighbours: number;
  /** Distance from both neighbourhoods in robust noise units. 8: far beyond demand noise, which is heavy-tailed. */
  zThreshold: number;
  /** ... and at least this share of the local level (a jump of 5 % is not a fault, whatever the noise). */
  minRel: number;
  /** Noise floor in metric units (a perfectly smooth series would otherwise make every wiggle a spike). */
  minScale: number;
  /** Spikes in one cycle from which the condition is minor (else warning). */
  minorCount: number;
  /**
   * A reading of zero is real on this meter (a customer drawing nothing or cut off, a pump off): never a
   * spike, even between two non-zero readings (as a run of zeros is no flatline there).
   */
  zeroIsReal?: boolean;
}

/** What counts as a reading of zero (as the flatline's zero tolerance). */
const ZERO = 1e-6;

export const DEFAULT_SPIKES: SpikeConfig = {
  neighbours: 3,
  zThreshold: 8,
  minRel: 0.25,
  minScale: 0.05,
  minorCount: 3,
};

/**
 * Spikes among the cycle's readings `ts`/`v` (time order, finite values only) of `metric`, using `history`
 * (5-minute buckets) for context and noise.
 */
export function detectSpikes(
  cycle: { ts: readonly number[]; v: readonly number[] },
  history: BucketSeries | undefined,
  metric: Metric,
  fromMs: number,
  nowMs: number,
  cfg: SpikeConfig = DEFAULT_SPIKES,
): Condition | null {
  const ts: number[] = [];
  const v: number[] = [];
  const context: number[] = [];
  if (history) {
    // The last value of each of the previous `neighbours` buckets with data, oldest first.
    const tail: [number, number][] = [];
    for (let i = bucketIndex(history, fromMs) - 1; i >= 0 && tail.length < cfg.neighbours; i--) {
      if (i < history.length && history.count[i]! > 0)
        tail.push([history.startMs + (i + 1) * history.stepMs - 1, history.last[i]!]);
    }
    for (const [t, x] of tail.reverse()) {
      ts.push(t);
      v.push(x);
    }
    // Noise from the last two hours of 5-minute means.
    for (let t = fromMs - 2 * HOUR_MS; t < fromMs; t += history.stepMs)
      context.push(bucketMean(history, bucketIndex(history, t)));
  }
  const checkFrom = Math.max(0, ts.length - 1);
  for (let k = 0; k < cycle.ts.length; k++) {
    if (!Number.isFinite(cycle.v[k]!)) continue;
    ts.push(cycle.ts[k]!);
    v.push(cycle.v[k]!);
  }
  if (v.length < 3) return null;
  // The raw values' own spread when there are enough of them (5-minute means are smoother than raw readings).
  const raw = diffSigma(v);
  const sigma = Math.max(cfg.minScale, (v.length >= 6 ? raw : diffSigma(context)) || raw || 0);
  let count = 0;
  let worst: { atMs: number; value: number; neighbourhood: number; z: number } | null = null;
  for (let i = Math.max(1, checkFrom); i < v.length - 1; i++) {
    const left = medianOfRange(v, Math.max(0, i - cfg.neighbours), i);
    const right = medianOfRange(v, i + 1, Math.min(v.length, i + 1 + cfg.neighbours));
    const x = v[i]!;
    if (cfg.zeroIsReal && Math.abs(x) <= ZERO) continue;
    const dl = x - left;
    const dr = x - right;
    if (Math.sign(dl) !== Math.sign(dr)) continue;
    const d = Math.sign(dl) * Math.min(Math.abs(dl), Math.abs(dr));
    const level = Math.max(Math.abs(left), Math.abs(right));
    if (Math.abs(d) < cfg.zThreshold * sigma || Math.abs(d) < cfg.minRel * level) continue;
    count++;
    const z = d / sigma;
    if (!worst || Math.abs(z) > Math.abs(worst.z))
      worst = { atMs: ts[i]!, value: x, neighbourhood: (left + right) / 2, z };
  }
  if (!worst) return null;
  return {
    type: 'spike',
    metric,
    severity: count >= cfg.minorCount ? 'minor' : 'warning',
    observedAtMs: nowMs,
    sinceMs: worst.atMs,
    evidence: {
      spikes: count,
      value: round(worst.value),
      neighbourhood: round(worst.neighbourhood),
      z: round(worst.z, 1),
      noise: round(sigma),
      atMs: worst.atMs,
    },
  };
}
