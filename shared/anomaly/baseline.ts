/**
 * Seasonal baseline deviation: the node's value against its own history at the same hour of the week.
 *
 * Catches: anything that makes a node behave unlike its usual self at this time of week — a leak or an
 * open valve raising flow, a closed valve or a failing pump lowering it, a pressure zone out of its regime.
 *
 * How: for each hour, the baseline is the median of the same local hour of the week over the last `weeks`
 * weeks (DST-corrected); the scale is the MAD of the residuals of the neighbouring hours, pooled (four values
 * per slot are too few for a MAD of their own). The rolling mean of the last `windowMinutes` is compared with
 * the baseline interpolated between hour centres (so morning ramps are not deviations), giving a robust
 * z-score; the condition holds when |z| ≥ `zThreshold` at every evaluation point of the last `sustainMinutes`.
 * Median and MAD ignore the odd holiday or past incident in the look-back, where a mean and a standard
 * deviation would be dragged by them.
 */

import { type LocalClock, localClock } from '../domain/local-time.ts';
import type { Metric } from '../domain/readings.ts';
import { HOUR_MS, historyMeanOver, MINUTE_MS, meanOver } from './series.ts';
import { gradeBy, MAD_TO_SIGMA, medianOfRange, quantile } from './stats.ts';
import { type Condition, type Evidence, type MetricHistory, SEVERITIES, type Severity } from './types.ts';

export interface BaselineConfig {
  /** Look-back in weeks for each hour-of-week slot. 4: a month of habits, short enough to follow seasons. */
  weeks: number;
  /** Fewest weeks with data before a slot has a baseline. 3: a median of two is just a mean. */
  minWeeks: number;
  /** Length of the rolling mean compared with the baseline; 60 min matches the hourly slots. */
  windowMinutes: number;
  /** The deviation must hold at every evaluation point over this long (60 min: not a passing blip). */
  sustainMinutes: number;
  /** Spacing of the evaluation points inside `sustainMinutes`. */
  stepMinutes: number;
  /** |z| at which the condition holds. 4: about one false hour in several weeks on heavy-tailed demand. */
  zThreshold: number;
  /** Hours either side whose residuals are pooled into the slot's scale. */
  neighbourHours: number;
  /** Floors on the scale, absolute (metric units) and relative to the baseline: quiet nights are not infinitely precise. */
  minScale: number;
  minScaleRel: number;
  /** Which deviations count: a pressure point cares about drops, an inlet about both. */
  direction: 'both' | 'up' | 'down';
  /** |z| from which each severity applies (the sustained minimum over the window is graded). */
  severityZ: Partial<Record<Severity, number>>;
  /**
   * Off when the flow was switched off (its minimum at or near zero, within the noise floor) in more than
   * this share of the buckets it is judged on and its baseline is built from (the recent 5-minute buckets
   * and the look-back's hours): a flow switched on and off (a pump filling a tank, a cycling valve) follows
   * its control, not habits. Absent: always on.
   */
  maxZeroShare?: number;
  /**
   * "Near zero" for `maxZeroShare`: at most this share of the flow's typical running level (the 90th
   * percentile of its bucket means), or `minScale`, whichever is larger. 0.05: a meter's noise on a
   * stopped pump (±0.03 L/s on L-Town's) is far below it, a district's quiet night (a third or more of its
   * day) far above. Default 0.05.
   */
  zeroLevelRel?: number;
}

export const DEFAULT_BASELINE: BaselineConfig = {
  weeks: 4,
  minWeeks: 3,
  windowMinutes: 60,
  sustainMinutes: 60,
  stepMinutes: 15,
  zThreshold: 4,
  neighbourHours: 2,
  minScale: 0.05,
  minScaleRel: 0.05,
  direction: 'both',
  severityZ: { warning: 4, minor: 6, major: 10 },
};

interface Slot {
  median: number;
  residuals: number[];
}

/** Baseline of one hour [hourMs, hourMs + 1 h): median of the same local slot in past weeks. */
function slotOf(h: MetricHistory, clock: LocalClock, hourMs: number, cfg: BaselineConfig): Slot | null {
  const values: number[] = [];
  for (let w = 1; w <= cfg.weeks; w++) {
    const from = clock.sameSlotWeeksBefore(hourMs, w);
    const { mean, coverage } = historyMeanOver(h, from, from + HOUR_MS);
    if (coverage >= 0.5 && Number.isFinite(mean)) values.push(mean);
  }
  if (values.length < cfg.minWeeks) return null;
  const m = medianOfRange(values, 0, values.length);
  return { median: m, residuals: values.map((v) => v - m) };
}

/** A memo of slots for one call: the evaluation points share hours. */
export function baselineModel(h: MetricHistory, timezone: string, cfg: BaselineConfig = DEFAULT_BASELINE) {
  const clock = localClock(timezone);
  const slots = new Map<number, Slot | null>();
  const slot = (hourMs: number): Slot | null => {
    let s = slots.get(hourMs);
    if (s === undefined) {
      s = slotOf(h, clock, hourMs, cfg);
      slots.set(hourMs, s);
    }
    return s;
  };
  return {
    /** Baseline at instant `ms`, interpolated between the centres of the hours around it; NaN without history. */
    expected(ms: number): number {
      const a = Math.floor((ms - HOUR_MS / 2) / HOUR_MS) * HOUR_MS;
      const sa = slot(a);
      const sb = slot(a + HOUR_MS);
      if (!sa || !sb) return sa?.median ?? sb?.median ?? Number.NaN;
      const frac = (ms - (a + HOUR_MS / 2)) / HOUR_MS;
      return sa.median * (1 - frac) + sb.median * frac;
    },
    /** Robust standard deviation of an hourly mean around its baseline, near instant `ms`. */
    scale(ms: number, expected: number): number {
      const a = Math.floor(ms / HOUR_MS) * HOUR_MS;
      const pooled: number[] = [];
      let n = 0;
      for (let k = -cfg.neighbourHours; k <= cfg.neighbourHours; k++) {
        const s = slot(a + k * HOUR_MS);
        if (!s) continue;
        for (const r of s.residuals) pooled.push(Math.abs(r));
        n = Math.max(n, s.residuals.length);
      }
      // Residuals from a sample median understate the spread of a new value around it: widen by
      // √((1 + π/2n)·n/(n−1)), the variance of a fresh value about a median of n, over a residual's.
      const smallSample = n > 1 ? Math.sqrt(((1 + Math.PI / (2 * n)) * n) / (n - 1)) : 1;
      const madSigma =
        pooled.length > 0 ? MAD_TO_SIGMA * medianOfRange(pooled, 0, pooled.length) * smallSample : 0;
      return Math.max(madSigma, cfg.minScale, cfg.minScaleRel * Math.abs(expected));
    },
  };
}

/**
 * Share of the buckets with data (the recent 5-minute ones and the look-back's hours) in which the flow was
 * switched off: its minimum within the noise floor of zero. A metered pump never reads an exact zero (its
 * meter's noise), and in the last day alone it may run without a pause (the tank drains faster), so the
 * look-back's hours count too: a pump that was off in a fifth of them is a switched flow all the same.
 */
export function offShare(h: MetricHistory, cfg: BaselineConfig): number {
  const lows: number[] = [];
  const means: number[] = [];
  for (const s of [h.fiveMinute, h.hourly]) {
    if (!s) continue;
    for (let i = 0; i < s.length; i++) {
      const c = s.count[i]!;
      if (c === 0) continue;
      const mean = s.sum[i]! / c;
      means.push(mean);
      lows.push(Number.isFinite(s.min[i]!) ? s.min[i]! : mean);
    }
  }
  if (lows.length === 0) return 0;
  const level = Math.max(cfg.minScale, (cfg.zeroLevelRel ?? 0.05) * Math.abs(quantile(means, 0.9)));
  let off = 0;
  for (const v of lows) if (Math.abs(v) <= level) off++;
  return off / lows.length;
}

/** Seasonal baseline deviation of `metric` at `nowMs`, or null. */
export function detectBaselineDeviation(
  h: MetricHistory,
  metric: Metric,
  timezone: string,
  nowMs: number,
  cfg: BaselineConfig = DEFAULT_BASELINE,
): Condition | null {
  if (cfg.maxZeroShare !== undefined && offShare(h, cfg) > cfg.maxZeroShare) return null;
  const model = baselineModel(h, timezone, cfg);
  const window = cfg.windowMinutes * MINUTE_MS;
  let minAbsZ = Number.POSITIVE_INFINITY;
  let sign = 0;
  let latest: { value: number; expected: number; scale: number; z: number } | null = null;
  for (let back = 0; back <= cfg.sustainMinutes; back += cfg.stepMinutes) {
    const end = nowMs - back * MINUTE_MS;
    const { mean, coverage } = meanOver(h.fiveMinute, end - window, end);
    if (!Number.isFinite(mean) || coverage < 0.5) return null;
    const centre = end - window / 2;
    const expected = model.expected(centre);
    if (!Number.isFinite(expected)) return null;
    const scale = model.scale(centre, expected);
    const z = (mean - expected) / scale;
    const s = Math.sign(z);
    if (sign === 0) sign = s;
    if (s !== sign || Math.abs(z) < cfg.zThreshold) return null;
    if ((cfg.direction === 'up' && z < 0) || (cfg.direction === 'down' && z > 0)) return null;
    minAbsZ = Math.min(minAbsZ, Math.abs(z));
    latest ??= { value: mean, expected, scale, z };
  }
  if (!latest) return null;
  const severity = gradeBy(minAbsZ, cfg.severityZ, SEVERITIES) ?? 'warning';
  return {
    type: 'baseline_deviation',
    metric,
    severity,
    observedAtMs: nowMs,
    evidence: {
      value: round(latest.value),
      baseline: round(latest.expected),
      scale: round(latest.scale),
      z: round(latest.z),
      sustainedMinZ: round(minAbsZ * sign),
      deviationPct:
        latest.expected !== 0 ? round((100 * (latest.value - latest.expected)) / latest.expected) : null,
      sustainMinutes: cfg.sustainMinutes,
    },
  };
}

export const round = (v: number, digits = 4): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

const excessOf = (e: Evidence): number =>
  typeof e.value === 'number' && typeof e.baseline === 'number' ? e.value - e.baseline : Number.NaN;

/**
 * Whether a deviation is an earlier one's issue again (the lifecycle's re-open rule): the same direction,
 * and its excess over the baseline no clear step beyond the earlier one's (its latest or peak sighting) —
 * less than `stepZ` of today's scale more. A second leak that adds a clear step is a new anomaly; the same
 * leak seen again, as the baseline half-learns it, is not.
 */
export function continuesDeviation(
  previous: { evidence: Evidence; peakEvidence: Evidence },
  c: Pick<Condition, 'evidence'>,
  stepZ = DEFAULT_BASELINE.zThreshold,
): boolean {
  const now = excessOf(c.evidence);
  const scale = c.evidence.scale;
  if (!Number.isFinite(now) || typeof scale !== 'number') return false;
  const before = [excessOf(previous.evidence), excessOf(previous.peakEvidence)].filter(
    (x) => Number.isFinite(x) && Math.sign(x) === Math.sign(now),
  );
  if (before.length === 0) return false;
  return Math.abs(now) - Math.max(...before.map(Math.abs)) < stepZ * scale;
}
