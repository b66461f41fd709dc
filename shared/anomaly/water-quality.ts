/**
 * Water-quality limits: free chlorine, turbidity and pH against drinking-water thresholds.
 *
 * Catches: loss of disinfectant residual (stale water, a dosing failure), over-dosing, turbid water (a
 * burst's disturbance, sediment after a flow reversal, intrusion) and pH out of the range that protects
 * pipes and disinfection. The mean of the last `windowMinutes` is compared — the median of its 5-minute means —, so one
 * odd reading (a spike, reported separately) does not raise a quality alarm.
 *
 * Defaults, WHO / EU style:
 * - free chlorine: below 0.2 mg/L is major (WHO's minimum residual at the point of delivery), below 0.05
 *   critical (no residual); above 4 mg/L major (US EPA MRDL), above 5 critical (WHO guideline value);
 * - turbidity: above 1 NTU major (WHO: below 1 NTU for effective disinfection; EU DWD at treatment), above 4
 *   critical (WHO: noticeable to consumers);
 * - pH: outside 6.5–9.5 major (EU Drinking Water Directive indicator range), outside 6.0–10.0 critical.
 */
import type { Metric } from '../domain/readings.ts';
import { round } from './baseline.ts';
import { bucketIndex, bucketMean, MINUTE_MS } from './series.ts';
import { median } from './stats.ts';
import { type BucketSeries, type Condition, type Severity, severityRank } from './types.ts';

/** A limit: the value is below `below` or above `above` (one of the two) for `severity`. */
export interface QualityLimit {
  below?: number;
  above?: number;
  severity: Severity;
}

export interface WaterQualityConfig {
  /** Mean over this long (ending now) is compared: 15 minutes, three 5-minute buckets. */
  windowMinutes: number;
  /** Share of the window that must hold data. */
  minCoverage: number;
  limits: Partial<Record<Metric, readonly QualityLimit[]>>;
}

export const DEFAULT_WATER_QUALITY: WaterQualityConfig = {
  windowMinutes: 15,
  minCoverage: 0.5,
  limits: {
    chlorine: [
      { below: 0.2, severity: 'major' },
      { below: 0.05, severity: 'critical' },
      { above: 4, severity: 'major' },
      { above: 5, severity: 'critical' },
    ],
    turbidity: [
      { above: 1, severity: 'major' },
      { above: 4, severity: 'critical' },
    ],
    ph: [
      { below: 6.5, severity: 'major' },
      { above: 9.5, severity: 'major' },
      { below: 6, severity: 'critical' },
      { above: 10, severity: 'critical' },
    ],
  },
};

/** The most severe limit `metric`'s recent mean breaks, or null. */
export function detectWaterQuality(
  s: BucketSeries,
  metric: Metric,
  nowMs: number,
  cfg: WaterQualityConfig = DEFAULT_WATER_QUALITY,
): Condition | null {
  const limits = cfg.limits[metric];
  if (!limits || limits.length === 0) return null;
  // The median of the window's bucket means: one wild reading (a spike, reported as such) moves one bucket only.
  const means: number[] = [];
  for (let t = nowMs - cfg.windowMinutes * MINUTE_MS; t < nowMs; t += s.stepMs)
    means.push(bucketMean(s, bucketIndex(s, t)));
  const present = means.filter(Number.isFinite);
  const wanted = Math.max(1, Math.round((cfg.windowMinutes * MINUTE_MS) / s.stepMs));
  if (present.length === 0 || present.length / wanted < cfg.minCoverage) return null;
  const mean = median(present);
  let hit: QualityLimit | null = null;
  for (const limit of limits) {
    const broken =
      (limit.below !== undefined && mean < limit.below) || (limit.above !== undefined && mean > limit.above);
    if (broken && (!hit || severityRank(limit.severity) > severityRank(hit.severity))) hit = limit;
  }
  if (!hit) return null;
  return {
    type: 'water_quality',
    metric,
    severity: hit.severity,
    observedAtMs: nowMs,
    evidence: {
      value: round(mean),
      limit: (hit.below ?? hit.above)!,
      direction: hit.below !== undefined ? 'low' : 'high',
      windowMinutes: cfg.windowMinutes,
    },
  };
}
