/**
 * Sensor and telemetry faults: flatline, out of range, gaps, silent nodes, negative flow. (Spikes are in
 * `spikes.ts`.) Each works on the 5-minute buckets and, where it matters, on the raw readings of the cycle.
 */
import type { Metric, Reading } from '../domain/readings.ts';
import { round } from './baseline.ts';
import { bucketIndex, bucketMean, FIVE_MINUTES_MS, MINUTE_MS } from './series.ts';
import type { BucketSeries, Condition, Severity } from './types.ts';

export interface FlatlineConfig {
  /** Identical values for at least this long make a flatline; per metric, since some sit still legitimately longer. */
  minMinutes: number;
  /** Values within this of each other count as identical (0: exactly identical, as a stuck sensor repeats). */
  tolerance: number;
  /** Fewest readings in the run: two hourly readings that agree are not a stuck sensor. */
  minReadings: number;
  /** A run of zeros (|v| ≤ `zeroTolerance`) is a true zero, not a fault: a pump that is off, a customer asleep. */
  allowZero: boolean;
  zeroTolerance: number;
  /** A flatline lasting this long is major (else minor). */
  majorAfterMinutes: number;
  /** Longest run looked back over (bounds the work; a longer flatline is reported with this duration). */
  maxLookbackMinutes: number;
}

/**
 * Flatline: the same value for a long time. Catches a frozen sensor or a logger repeating its last value.
 * A true zero (pump off) is exempt where `allowZero` is set. Empty buckets neither break nor extend a run.
 */
export function detectFlatline(
  s: BucketSeries,
  metric: Metric,
  nowMs: number,
  cfg: FlatlineConfig,
): Condition | null {
  const stop = Math.max(0, bucketIndex(s, nowMs - cfg.maxLookbackMinutes * MINUTE_MS));
  let i = Math.min(s.length - 1, bucketIndex(s, nowMs - 1));
  while (i >= stop && s.count[i]! <= 0) i--;
  if (i < stop) return null;
  const value = s.last[i]!;
  const endMs = s.startMs + (i + 1) * s.stepMs;
  let startMs = endMs;
  let readings = 0;
  for (; i >= stop; i--) {
    if (s.count[i]! <= 0) continue;
    const flat =
      s.max[i]! - s.min[i]! <= cfg.tolerance &&
      Math.abs(s.min[i]! - value) <= cfg.tolerance &&
      Math.abs(s.max[i]! - value) <= cfg.tolerance;
    if (!flat) break;
    startMs = s.startMs + i * s.stepMs;
    readings += s.count[i]!;
  }
  const minutes = (endMs - startMs) / MINUTE_MS;
  if (minutes < cfg.minMinutes || readings < cfg.minReadings) return null;
  if (cfg.allowZero && Math.abs(value) <= cfg.zeroTolerance) return null;
  return {
    type: 'flatline',
    metric,
    severity: minutes >= cfg.majorAfterMinutes ? 'major' : 'minor',
    observedAtMs: nowMs,
    sinceMs: startMs,
    evidence: { value, minutes, readings, untilMs: endMs },
  };
}

export interface RangeConfig {
  /** Plausible [low, high] for the metric at this kind of node: beyond them the value is possible but not believable. */
  low: number;
  high: number;
  /** Fewest offending readings (out of range or impossible) in the cycle. */
  minCount: number;
  /** Share of the cycle's readings offending from which the fault is major. */
  majorShare: number;
}

/** Values of one metric in raw readings, in time order, dropping missing ones (NaN kept: it is a value sent). */
export function valuesOf(readings: readonly Reading[], metric: Metric): { ts: number[]; v: number[] } {
  const rows: [number, number][] = [];
  for (const r of readings) {
    const v = r.values[metric];
    if (v !== undefined && v !== null) rows.push([r.ts, v]);
  }
  rows.sort((a, b) => a[0] - b[0]);
  return { ts: rows.map((r) => r[0]), v: rows.map((r) => r[1]) };
}

/**
 * Out of range: readings of the cycle outside the plausible range, plus the impossible values the cleaner
 * already dropped (`rejected`, outside physical limits or not a number). Catches a miscalibrated or failing
 * sensor, a wrong unit, a transmission fault.
 */
export function detectOutOfRange(
  values: readonly number[],
  rejected: number,
  metric: Metric,
  nowMs: number,
  cfg: RangeConfig,
): Condition | null {
  let below = 0;
  let above = 0;
  let worst = Number.NaN;
  for (const v of values) {
    if (!Number.isFinite(v)) continue; // impossible: counted upstream in `rejected`
    if (v < cfg.low) below++;
    else if (v > cfg.high) above++;
    else continue;
    const excess = v < cfg.low ? cfg.low - v : v - cfg.high;
    const worstExcess = worst < cfg.low ? cfg.low - worst : worst - cfg.high;
    if (!Number.isFinite(worst) || excess > worstExcess) worst = v;
  }
  const offending = below + above + rejected;
  if (offending < cfg.minCount || offending === 0) return null;
  const total = Math.max(values.length, offending);
  const share = offending / total;
  return {
    type: 'out_of_range',
    metric,
    severity: share >= cfg.majorShare ? 'major' : 'minor',
    observedAtMs: nowMs,
    evidence: {
      below,
      above,
      impossible: rejected,
      share: round(share, 3),
      worst: Number.isFinite(worst) ? worst : null,
      low: cfg.low,
      high: cfg.high,
    },
  };
}

export interface GapConfig {
  /** A hole at least this long is a gap; must exceed the node's normal reporting interval several times. */
  gapMinutes: number;
  /** A closed gap is reported while its end lies within this look-back (then it clears by itself). */
  lookbackMinutes: number;
  /** No reading for this long, up to now, makes the node silent. */
  silentMinutes: number;
  /** Silent for this long is critical (else major). */
  criticalSilentMinutes: number;
  /**
   * Thresholds in reporting intervals, for nodes that report less often than the minutes above assume: a
   * gap needs at least `gapIntervals` × the node's interval, silence `silentIntervals` × it (and the
   * look-back covers `gapIntervals` of them). An hourly meter is not silent between two readings.
   */
  gapIntervals: number;
  silentIntervals: number;
}

/**
 * The node's usual reporting interval in minutes: the median spacing between successive reporting times
 * (filled 5-minute buckets of any metric, and the raw reading times given), over the series before `nowMs`.
 * The median shrugs off an outage among regular readings. Resolution is the bucket: anything reporting
 * at least every 5 minutes is 5. Null with fewer than two reporting times.
 */
export function reportingIntervalMinutes(
  series: readonly BucketSeries[],
  rawTimesMs: readonly number[],
  nowMs: number,
): number | null {
  const times = new Set<number>();
  for (const s of series) {
    const end = Math.min(s.length, bucketIndex(s, nowMs - 1) + 1);
    for (let i = 0; i < end; i++) if (s.count[i]! > 0) times.add(s.startMs + i * s.stepMs);
  }
  for (const t of rawTimesMs) if (t < nowMs) times.add(Math.floor(t / FIVE_MINUTES_MS) * FIVE_MINUTES_MS);
  if (times.size < 2) return null;
  const sorted = [...times].sort((a, b) => a - b);
  const spacings: number[] = [];
  for (let i = 1; i < sorted.length; i++) spacings.push(sorted[i]! - sorted[i - 1]!);
  spacings.sort((a, b) => a - b);
  const mid = spacings.length >> 1;
  const median = spacings.length % 2 ? spacings[mid]! : (spacings[mid - 1]! + spacings[mid]!) / 2;
  return median / MINUTE_MS;
}

/**
 * `cfg` with its minutes raised to what a node reporting every `intervalMinutes` needs. With the interval
 * unknown (fewer than two reporting times in the `spanMinutes` of history looked at) the node is silent
 * only once that whole span is quiet: a 1-minute node is then long silent anyway, while an hourly one
 * with a single reading in view has merely missed one.
 */
export function gapsForInterval(
  cfg: GapConfig,
  intervalMinutes: number | null,
  spanMinutes: number,
): GapConfig {
  if (intervalMinutes === null) {
    const silentMinutes = Math.max(cfg.silentMinutes, spanMinutes);
    return {
      ...cfg,
      silentMinutes,
      criticalSilentMinutes: Math.max(cfg.criticalSilentMinutes, 2 * silentMinutes),
    };
  }
  const gapMinutes = Math.max(cfg.gapMinutes, cfg.gapIntervals * intervalMinutes);
  const silentMinutes = Math.max(cfg.silentMinutes, cfg.silentIntervals * intervalMinutes);
  return {
    ...cfg,
    gapMinutes,
    silentMinutes,
    lookbackMinutes: Math.max(cfg.lookbackMinutes, cfg.gapIntervals * intervalMinutes),
    criticalSilentMinutes: Math.max(cfg.criticalSilentMinutes, 2 * silentMinutes),
  };
}

/**
 * Gaps and silent nodes. Silent: nothing received for `silentMinutes` up to now (an outage going on).
 * Gap: a run of empty 5-minute buckets of at least `gapMinutes`, already closed by later data, ending in the
 * look-back (late data filling the hole makes it disappear, as it should). Both thresholds scale up to the
 * node's own reporting interval (`reportingIntervalMinutes`, from the series and `rawTimesMs`), so an
 * hourly or 15-minute meter is judged on its missed readings, not on the minutes of a 1-minute one.
 */
export function detectGaps(
  series: readonly BucketSeries[],
  lastReadingMs: number | null,
  nowMs: number,
  config: GapConfig,
  rawTimesMs: readonly number[] = [],
): Condition[] {
  const out: Condition[] = [];
  const interval = reportingIntervalMinutes(
    series,
    lastReadingMs === null ? rawTimesMs : [...rawTimesMs, lastReadingMs],
    nowMs,
  );
  const startMs = Math.min(...series.map((s) => s.startMs), nowMs);
  const cfg = gapsForInterval(config, interval, (nowMs - startMs) / MINUTE_MS);
  if (lastReadingMs !== null && nowMs - lastReadingMs >= cfg.silentMinutes * MINUTE_MS) {
    const minutes = Math.round((nowMs - lastReadingMs) / MINUTE_MS);
    out.push({
      type: 'silent',
      severity: minutes >= cfg.criticalSilentMinutes ? 'critical' : 'major',
      observedAtMs: nowMs,
      sinceMs: lastReadingMs,
      evidence: { silentMinutes: minutes, lastReadingMs, reportingIntervalMinutes: interval },
    });
  }
  // Gaps on the union of the node's metrics: a bucket is empty when no metric has data in it.
  const s0 = series[0];
  if (!s0) return out;
  const from = nowMs - (cfg.lookbackMinutes + cfg.gapMinutes + 24 * 60) * MINUTE_MS;
  const filled = (t: number) => series.some((s) => Number.isFinite(bucketMean(s, bucketIndex(s, t))));
  let longest: { startMs: number; endMs: number } | null = null;
  let runStart: number | null = null;
  let seenData = false;
  for (let t = Math.floor(from / FIVE_MINUTES_MS) * FIVE_MINUTES_MS; t < nowMs; t += FIVE_MINUTES_MS) {
    if (!filled(t)) {
      if (seenData && runStart === null) runStart = t;
      continue;
    }
    seenData = true;
    if (runStart !== null) {
      const closed = { startMs: runStart, endMs: t };
      const long = closed.endMs - closed.startMs >= cfg.gapMinutes * MINUTE_MS;
      const recent = nowMs - closed.endMs <= cfg.lookbackMinutes * MINUTE_MS;
      if (long && recent && (!longest || closed.endMs - closed.startMs > longest.endMs - longest.startMs)) {
        longest = closed;
      }
      runStart = null;
    }
  }
  if (longest) {
    const minutes = (longest.endMs - longest.startMs) / MINUTE_MS;
    const severity: Severity = minutes >= cfg.silentMinutes ? 'minor' : 'warning';
    out.push({
      type: 'gap',
      severity,
      observedAtMs: nowMs,
      sinceMs: longest.startMs,
      evidence: {
        gapMinutes: minutes,
        fromMs: longest.startMs,
        toMs: longest.endMs,
        reportingIntervalMinutes: interval,
      },
    });
  }
  return out;
}

export interface NegativeFlowConfig {
  /** Flow below −tolerance (L/s) is negative; a small tolerance absorbs zero drift of a meter at rest. */
  tolerance: number;
  /** Minutes of negative 5-minute means in the window that make the condition (a single bucket is noise). */
  minMinutes: number;
  /** Window looked at, ending now. */
  windowMinutes: number;
}

/**
 * Negative flow where the meter is one-way (inlet, customer, pump): a meter installed backwards, a failing
 * check valve, a sign error in telemetry. Not applied to bidirectional meters (tanks, interconnections).
 */
export function detectNegativeFlow(
  s: BucketSeries,
  nowMs: number,
  cfg: NegativeFlowConfig,
): Condition | null {
  let negative = 0;
  let lowest = Number.POSITIVE_INFINITY;
  let firstMs: number | null = null;
  for (let t = nowMs - cfg.windowMinutes * MINUTE_MS; t < nowMs; t += FIVE_MINUTES_MS) {
    const m = bucketMean(s, bucketIndex(s, t));
    if (!(m < -cfg.tolerance)) continue;
    negative++;
    firstMs ??= t;
    lowest = Math.min(lowest, s.min[bucketIndex(s, t)]!);
  }
  const minutes = (negative * FIVE_MINUTES_MS) / MINUTE_MS;
  if (minutes < cfg.minMinutes || firstMs === null) return null;
  return {
    type: 'negative_flow',
    metric: 'flow',
    severity: 'minor',
    observedAtMs: nowMs,
    sinceMs: firstMs,
    evidence: { minutesNegative: minutes, lowestLps: round(lowest), toleranceLps: cfg.tolerance },
  };
}
