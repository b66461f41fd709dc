/**
 * A window's quality read from its merged counters (see quality.ts): completeness, validity, timeliness,
 * flatline, duplicate and out-of-order shares, each 0–1, and their weighted 0–100 score.
 */
import { HOUR_MS } from '../domain/aggregate.ts';
import type { Metric } from '../domain/readings.ts';
import { type FlatRuns, flatCount, type QualityCounters } from './quality.ts';
export interface QualityWindow {
  start: number;
  /** The reference for timeliness: now for a current window, the window's end for a past one. */
  end: number;
  /** The node's reporting interval; null when unknown (completeness is then not computed). */
  expectedIntervalMs: number | null;
}

export type QualityMeasure =
  | 'completeness'
  | 'validity'
  | 'timeliness'
  | 'flatline'
  | 'duplicates'
  | 'outOfOrder';

/**
 * Weights of the overall score, summing to 100. Completeness and validity decide whether aggregates,
 * balances and detectors can be trusted at all; timeliness decides how fresh alarms are; a flatline hides
 * the very events we look for. Duplicates and out-of-order rows are absorbed by the pipeline (dedup by
 * node and time, the lateness horizon), so they weigh little.
 */
export const QUALITY_WEIGHTS: Record<QualityMeasure, number> = {
  completeness: 35,
  validity: 25,
  timeliness: 15,
  flatline: 15,
  duplicates: 5,
  outOfOrder: 5,
};

export interface QualityScoreOptions {
  /** A lag up to this scores 1 (never less than two reporting intervals). Default 1 h: two 30-minute cycles. */
  timelinessGoodMs: number;
  /** A lag from this on scores 0. Default 24 h: a node silent for a day is dead for operations. */
  timelinessBadMs: number;
}

export const DEFAULT_QUALITY_SCORE_OPTIONS: QualityScoreOptions = {
  timelinessGoodMs: HOUR_MS,
  timelinessBadMs: 24 * HOUR_MS,
};

export interface QualityReport {
  window: { start: number; end: number };
  expected: number | null;
  received: number;
  present: number;
  /** Each measure as a share 0–1; null when there is nothing to measure it on. */
  completeness: number | null;
  validity: number | null;
  invalid: { future: number; nan: number; outOfRange: number };
  latestTs: number | null;
  lagMs: number | null;
  timeliness: number;
  meanIngestDelayMs: number | null;
  /** The worst metric's share of values in flat runs. */
  flatlineShare: number | null;
  flatlineByMetric: Partial<Record<Metric, number>>;
  duplicateShare: number | null;
  outOfOrderShare: number | null;
  /** 0–100, QUALITY_WEIGHTS over the measures that could be computed. */
  score: number;
}

/**
 * Timeliness from the lag of the latest reading: 1 up to `good`, 0 from `bad`, falling with the logarithm
 * of the lag in between, since going from 1 h to 2 h late matters as much as going from 12 h to 24 h.
 */
export function timelinessScore(lagMs: number | null, goodMs: number, badMs: number): number {
  if (lagMs === null) return 0;
  if (lagMs <= goodMs) return 1;
  if (lagMs >= badMs) return 0;
  return 1 - Math.log(lagMs / goodMs) / Math.log(badMs / goodMs);
}

const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

/** The quality report of a node over a window, from the merged counters of the window's buckets. */
export function scoreQuality(
  c: QualityCounters,
  window: QualityWindow,
  overrides: Partial<QualityScoreOptions> = {},
): QualityReport {
  const o = { ...DEFAULT_QUALITY_SCORE_OPTIONS, ...overrides };
  const interval = window.expectedIntervalMs;
  const expected = interval && interval > 0 ? Math.floor((window.end - window.start) / interval) : null;
  const completeness = expected ? Math.min(1, c.present / expected) : null;
  const lagMs = c.maxTs === null ? null : Math.max(0, window.end - c.maxTs);
  const goodMs = Math.max(o.timelinessGoodMs, 2 * (interval ?? 0));
  const timeliness = timelinessScore(lagMs, goodMs, Math.max(o.timelinessBadMs, 2 * goodMs));
  const flatlineByMetric: Partial<Record<Metric, number>> = {};
  for (const [m, runs] of Object.entries(c.flat) as Array<[Metric, FlatRuns]>) {
    if (runs.n > 0) flatlineByMetric[m] = flatCount(runs, c.flatlineMaxRun) / runs.n;
  }
  const flatShares = Object.values(flatlineByMetric);
  const flatlineShare = flatShares.length > 0 ? Math.max(...flatShares) : null;
  const validity = share(c.valid, c.received);
  const duplicateShare = share(c.duplicates, c.received);
  const outOfOrderShare = share(c.outOfOrder, c.received);
  const nonFuture = c.received - c.future;

  const measures: Record<QualityMeasure, number | null> = {
    completeness,
    validity,
    timeliness,
    flatline: flatlineShare === null ? null : 1 - flatlineShare,
    duplicates: duplicateShare === null ? null : 1 - duplicateShare,
    outOfOrder: outOfOrderShare === null ? null : 1 - outOfOrderShare,
  };
  let weighted = 0;
  let weights = 0;
  for (const [k, v] of Object.entries(measures) as Array<[QualityMeasure, number | null]>) {
    if (v === null) continue;
    weighted += QUALITY_WEIGHTS[k] * v;
    weights += QUALITY_WEIGHTS[k];
  }
  return {
    window: { start: window.start, end: window.end },
    expected,
    received: c.received,
    present: c.present,
    completeness,
    validity,
    invalid: { future: c.future, nan: c.nan, outOfRange: c.outOfRange },
    latestTs: c.maxTs,
    lagMs,
    timeliness,
    meanIngestDelayMs: nonFuture > 0 ? c.ingestDelaySumMs / nonFuture : null,
    flatlineShare,
    flatlineByMetric,
    duplicateShare,
    outOfOrderShare,
    score: weights > 0 ? Math.round((1000 * weighted) / weights) / 10 : 0,
  };
}

/** A reporting interval from the buckets' own spacing (median), robust to gaps between buckets. */
export function intervalFromCounters(buckets: readonly QualityCounters[]): number | null {
  const estimates = buckets
    .filter((b) => b.present >= 2 && b.minTs !== null && b.maxTs !== null && b.maxTs > b.minTs)
    .map((b) => (b.maxTs! - b.minTs!) / (b.present - 1))
    .sort((a, b) => a - b);
  return estimates.length === 0 ? null : estimates[estimates.length >> 1]!;
}

/** A node's reporting interval as the median gap between its distinct reading times; null below 2 readings. */
export function inferIntervalMs(timestamps: readonly number[]): number | null {
  const ts = [...new Set(timestamps)].sort((a, b) => a - b);
  const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
  if (gaps.length === 0) return null;
  gaps.sort((a, b) => a - b);
  const mid = gaps.length >> 1;
  return gaps.length % 2 ? gaps[mid]! : (gaps[mid - 1]! + gaps[mid]!) / 2;
}
