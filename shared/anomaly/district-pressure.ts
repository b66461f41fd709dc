/**
 * A district's pressure points judged together: a hydraulic event, or a faulty sensor.
 *
 * When a district loses pressure (its tank runs empty, a main bursts, a pump trips), every pressure point
 * in it drops at once, and a reading far below the plausible range or a one-reading dip looks, to a
 * detector that sees one sensor, exactly like a sensor fault. On L-Town (eval:leaks, random-12) three leaks
 * in area C drained its tank and the three pressure points of C fell to −0.8 bar together every half hour
 * for two days: the per-sensor detectors filed 32 data faults, telling the operator the sensors lied while
 * the district lost supply. So the plausible range and the spikes of a district's pressure points are
 * judged here, with the district's other points beside them:
 *
 * - A point **dropped** in a 5-minute bucket when its lowest reading there lies below its reference level
 *   by at least max(`minDropBar`, `dropShare` × the level). The reference is the median of the point's
 *   hourly means at the same hours of past weeks (the seasonal baseline's hours the caller reads anyway), so
 *   a supply loss that lasts days stays a drop; without them, the median of its 5-minute means before.
 * - A bucket in which at least `minPoints` points dropped is a **district drop**: the points moved
 *   together, in the same direction, in the same five minutes. One `low_pressure` condition for the
 *   district names them, with the lowest pressure and the tank levels (critical at or below
 *   `noSupplyBar`: no supply at all). Coming back within a day at some of the same points, it re-opens
 *   the same anomaly (`continuesLowPressure`, the lifecycle's re-open rule).
 * - Each point's readings in its corroborated buckets are left out of its own range and spike checks; what
 *   remains is judged as a sensor's (a single point out of range while its neighbours stay normal is still
 *   an `out_of_range` of that point, with its node id). Impossible values (outside PHYSICAL_LIMITS) never
 *   reach the buckets: the node's own detector reports them, whatever the district does.
 *
 * Resolution is the 5-minute bucket (the district reads partials, not raw readings): range checks see the
 * bucket's min and max, spikes the bucket's extreme (its min or max, whichever lies farther from its mean).
 */
import type { Metric } from '../domain/readings.ts';
import { round } from './baseline.ts';
import { detectOutOfRange, type RangeConfig } from './sensor-faults.ts';
import { bucketIndex, bucketMean, FIVE_MINUTES_MS, HOUR_MS } from './series.ts';
import { detectSpikes, type SpikeConfig } from './spikes.ts';
import { median } from './stats.ts';
import type { BucketSeries, Condition, DistrictNodeSeries, Evidence } from './types.ts';

export interface DistrictPressureConfig {
  /** A drop is at least this share of the point's reference level (0.5: half its usual pressure lost)... */
  dropShare: number;
  /** ... and at least this many bar (a point at 0.3 bar is not judged on a few hundredths). */
  minDropBar: number;
  /** Points that must drop in the same bucket for a hydraulic event ("several sensors move together"). */
  minPoints: number;
  /** A dropped point at or below this pressure (bar): the district is out of supply there (critical). */
  noSupplyBar: number;
  /** Fewest hourly means of past weeks for the seasonal reference (else the recent 5-minute means). */
  minReferenceHours: number;
  /** Look-back of the fallback reference: 5-minute means before the cycle. */
  fallbackHours: number;
}

export const DEFAULT_DISTRICT_PRESSURE: DistrictPressureConfig = {
  dropShare: 0.5,
  minDropBar: 0.3,
  minPoints: 2,
  noSupplyBar: 0,
  minReferenceHours: 6,
  fallbackHours: 6,
};

const METRIC: Metric = 'pressure';

/** The point's usual level around `nowMs`: seasonal hours of past weeks, else its recent 5-minute means. */
export function referenceLevel(p: DistrictNodeSeries, fromMs: number, cfg: DistrictPressureConfig): number {
  const h = p.pressure;
  if (!h) return Number.NaN;
  const hours: number[] = [];
  const hourly = h.hourly;
  if (hourly) {
    for (let i = 0; i < hourly.length; i++) {
      // Only whole hours before the cycle: the hours being judged are not their own reference.
      if (hourly.startMs + (i + 1) * hourly.stepMs > fromMs) break;
      const m = bucketMean(hourly, i);
      if (Number.isFinite(m)) hours.push(m);
    }
  }
  if (hours.length >= cfg.minReferenceHours) return median(hours);
  const s = h.fiveMinute;
  const recent: number[] = [];
  for (let t = fromMs - cfg.fallbackHours * HOUR_MS; t < fromMs; t += s.stepMs) {
    const m = bucketMean(s, bucketIndex(s, t));
    if (Number.isFinite(m)) recent.push(m);
  }
  return recent.length > 0 ? median(recent) : Number.NaN;
}

/** The 5-minute buckets (start times) in which the point dropped, over its whole series before `nowMs`. */
function droppedBuckets(
  s: BucketSeries,
  level: number,
  nowMs: number,
  cfg: DistrictPressureConfig,
): Set<number> {
  const out = new Set<number>();
  if (!Number.isFinite(level)) return out;
  const below = level - Math.max(cfg.minDropBar, cfg.dropShare * Math.abs(level));
  const end = Math.min(s.length, bucketIndex(s, nowMs - 1) + 1);
  for (let i = 0; i < end; i++) {
    if (s.count[i]! > 0 && s.min[i]! < below) out.add(s.startMs + i * s.stepMs);
  }
  return out;
}

/** The series without the given buckets (emptied): what the sensor checks see once corroborated drops are out. */
function without(s: BucketSeries, buckets: ReadonlySet<number>): BucketSeries {
  if (buckets.size === 0) return s;
  const count = Float64Array.from(s.count);
  for (const t of buckets) {
    const i = bucketIndex(s, t);
    if (i >= 0 && i < s.length) count[i] = 0;
  }
  return { ...s, count };
}

/** The bucket's value farthest from its mean: a single wild reading among several is its min or max. */
function extreme(s: BucketSeries, i: number): number {
  const mean = s.sum[i]! / s.count[i]!;
  return s.max[i]! - mean > mean - s.min[i]! ? s.max[i]! : s.min[i]!;
}

export interface DistrictPressureJudgement {
  /** One `low_pressure` condition when points dropped together in the cycle. */
  event: Condition | null;
  /** Sensor faults of single points (`out_of_range`, `spike`), each with its `nodeId`. */
  faults: Condition[];
}

/**
 * Judges the district's pressure points over the cycle [fromMs, nowMs). `tanks`: the district's tanks
 * (their level as pressure), for the evidence. `range` and `spikes`: the pressure point's own checks (the
 * node configuration's; null: off).
 */
export function judgeDistrictPressure(
  points: readonly DistrictNodeSeries[],
  tanks: readonly DistrictNodeSeries[],
  fromMs: number,
  nowMs: number,
  cfg: DistrictPressureConfig,
  range: RangeConfig | null,
  spikes: SpikeConfig | null,
): DistrictPressureJudgement {
  const judged = points.flatMap((p) => (p.pressure ? [{ nodeId: p.nodeId, h: p.pressure }] : []));
  const drops = judged.map((p) => {
    const level = referenceLevel({ nodeId: p.nodeId, pressure: p.h }, fromMs, cfg);
    return { ...p, level, dropped: droppedBuckets(p.h.fiveMinute, level, nowMs, cfg) };
  });
  const together = new Map<number, number>();
  for (const p of drops) for (const t of p.dropped) together.set(t, (together.get(t) ?? 0) + 1);
  const districtDrop = (t: number) => (together.get(t) ?? 0) >= cfg.minPoints;

  const faults: Condition[] = [];
  let lowest: { nodeId: string; value: number; level: number } | null = null;
  const movedPoints = new Set<string>();
  let firstMs = Number.POSITIVE_INFINITY;
  let dropBuckets = 0;
  for (const t of together.keys()) {
    if (t >= fromMs && t < nowMs && districtDrop(t)) {
      dropBuckets++;
      firstMs = Math.min(firstMs, t);
    }
  }
  for (const p of drops) {
    const corroborated = new Set([...p.dropped].filter(districtDrop));
    const s = without(p.h.fiveMinute, corroborated);
    const from = Math.max(0, bucketIndex(s, fromMs));
    const end = Math.min(s.length, bucketIndex(s, nowMs - 1) + 1);
    const values: number[] = [];
    const cycle = { ts: [] as number[], v: [] as number[] };
    for (let i = from; i < end; i++) {
      const t = s.startMs + i * s.stepMs;
      if (p.h.fiveMinute.count[i]! > 0 && corroborated.has(t)) {
        movedPoints.add(p.nodeId);
        const v = p.h.fiveMinute.min[i]!;
        if (!lowest || v < lowest.value) lowest = { nodeId: p.nodeId, value: v, level: p.level };
      }
      if (s.count[i]! <= 0) continue;
      values.push(s.min[i]!);
      if (s.max[i]! !== s.min[i]!) values.push(s.max[i]!);
      cycle.ts.push(t);
      cycle.v.push(extreme(s, i));
    }
    if (range) {
      const c = detectOutOfRange(values, 0, METRIC, nowMs, range);
      if (c) faults.push({ ...c, nodeId: p.nodeId });
    }
    if (spikes) {
      const c = detectSpikes(cycle, s, METRIC, fromMs, nowMs, spikes);
      if (c) faults.push({ ...c, nodeId: p.nodeId });
    }
  }
  if (!lowest || dropBuckets === 0) return { event: null, faults };
  const tankLevels = tanks.flatMap((k) => {
    const s = k.pressure?.fiveMinute;
    if (!s) return [];
    let min = Number.POSITIVE_INFINITY;
    for (let t = fromMs; t < nowMs; t += FIVE_MINUTES_MS) {
      const i = bucketIndex(s, t);
      if (i >= 0 && i < s.length && s.count[i]! > 0) min = Math.min(min, s.min[i]!);
    }
    return Number.isFinite(min) ? [{ nodeId: k.nodeId, min }] : [];
  });
  const tank = tankLevels.sort((a, b) => a.min - b.min)[0];
  const moved = [...movedPoints].sort();
  const event: Condition = {
    type: 'low_pressure',
    metric: METRIC,
    severity: lowest.value <= cfg.noSupplyBar ? 'critical' : 'major',
    observedAtMs: nowMs,
    sinceMs: firstMs,
    nodeId: lowest.nodeId,
    evidence: {
      points: moved.join(','),
      pointsDropped: moved.length,
      pointsJudged: judged.length,
      minPressureBar: round(lowest.value, 3),
      minAt: lowest.nodeId,
      referenceBar: round(lowest.level, 3),
      dropBuckets,
      firstDropMs: firstMs,
      tank: tank?.nodeId ?? null,
      tankMinLevelBar: tank ? round(tank.min, 3) : null,
    },
  };
  return { event, faults };
}

/**
 * Whether a district's low pressure is an earlier one's again (the lifecycle's re-open rule): some of the
 * same points dropped. A tank run empty by a leak drains again at every day's peak and refills at night;
 * each evening's loss of supply is the same event while its cause lasts, not a new alarm a day.
 */
export function continuesLowPressure(
  previous: { evidence: Evidence; peakEvidence: Evidence },
  c: Pick<Condition, 'evidence'>,
): boolean {
  const points = (e: Evidence) => (typeof e.points === 'string' && e.points ? e.points.split(',') : []);
  const before = new Set([...points(previous.evidence), ...points(previous.peakEvidence)]);
  return points(c.evidence).some((p) => before.has(p));
}
