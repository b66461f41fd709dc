/**
 * Data quality per node inside the cycle. While the batch is applied (under the node's lock and its
 * watermark, like the aggregates) its raw readings — before cleaning — are counted per 5-minute, hourly
 * and daily bucket and merged into the stored counters, and the scores of three windows ending at the
 * batch's end (the new watermark) are recomputed: the cycle (its 5-minute buckets), 24 hours (hourly)
 * and 7 days (the last seven UTC days, today so far included). The refresh serves them.
 *
 * Order independence: the readings counted are exactly those ingested after the watermark, and the
 * two things `countQuality` cannot see inside one batch are handed to it from storage — the latest
 * reading time counted so far (for out-of-order) and the seconds already holding a value (a
 * duplicate of a reading applied in an earlier batch) — so any split of the same readings into
 * batches counts the same. The exception is quality.ts's own: flat runs of a bucket whose readings
 * arrive interleaved across two batches are merged as if the second batch followed the first.
 */

import {
  countQuality,
  countQualityByBucket,
  DEFAULT_FUTURE_TOLERANCE_MS,
  emptyQuality,
  mergeQuality,
  type QualityContext,
  type QualityCounters,
} from '../../analytics/quality.ts';
import { intervalFromCounters, type QualityReport, scoreQuality } from '../../analytics/quality-score.ts';
import { BUCKET_MS, bucketStart, DAY_MS, HOUR_MS, hasSeen, type PartialRow } from '../../domain/aggregate.ts';
import type { Metric, NodeInfo, Reading } from '../../domain/readings.ts';
import type { NodeBatchTx, QualityBuckets, QualityResolution, QualityState } from './store.ts';

const addInto = (target: Map<number, QualityCounters>, bucket: number, c: QualityCounters) => {
  const have = target.get(bucket);
  target.set(bucket, have ? mergeQuality(have, c) : c);
};

/**
 * Counters of readings already applied in an earlier batch (their seconds are marked in the stored
 * 5-minute partials): counted as received and as duplicates, as one batch holding both copies would.
 */
function duplicateCounters(readings: readonly Reading[], ctx: QualityContext, sizeMs: number) {
  const out = new Map<number, QualityCounters>();
  for (const r of readings) {
    const c = countQuality([r], ctx);
    c.duplicates += 1;
    c.present -= 1;
    c.outOfOrder = 0;
    c.flat = {};
    addInto(out, bucketStart(r.ts, sizeMs), c);
  }
  return out;
}

/**
 * Splits raw readings into new ones and copies of readings applied by earlier batches. Call it before
 * the batch is merged: the merge marks the batch's own seconds in the same partials.
 */
export function splitSeen(readings: readonly Reading[], stored5m: readonly PartialRow[]) {
  if (stored5m.length === 0) return { fresh: readings, seen: [] as Reading[] };
  const bitmaps = new Map(stored5m.map((r) => [`${r.metric}|${r.bucketMs}`, r.seen]));
  const fresh: Reading[] = [];
  const seen: Reading[] = [];
  for (const r of readings) {
    const bucket = bucketStart(r.ts);
    const known = (Object.keys(r.values) as Metric[]).some((m) =>
      hasSeen(bitmaps.get(`${m}|${bucket}`), r.ts),
    );
    (known ? seen : fresh).push(r);
  }
  return { fresh, seen };
}

export interface BatchQualityInput {
  node: NodeInfo;
  /** The batch's raw readings ingested after the watermark. */
  readings: readonly Reading[];
  /** The batch's end (the new watermark): the scores are as of it. */
  nowMs: number;
  cycleMs: number;
}

/** The bucket countQualityByBucket puts a reading in: its time, or its arrival when it is from the future. */
function bucketTime(r: Reading, nowMs: number): number {
  const arrived = Number.isFinite(r.ingestedAt) ? Math.min(nowMs, r.ingestedAt) : nowMs;
  return r.ts > arrived + DEFAULT_FUTURE_TOLERANCE_MS ? arrived : r.ts;
}

/** What a batch's quality reads: the stored counters of the buckets it touches and of the score windows. */
export function qualitySpec(input: BatchQualityInput) {
  const touched5m = [...new Set(input.readings.map((r) => bucketStart(bucketTime(r, input.nowMs))))];
  return {
    buckets: {
      m5: touched5m,
      h1: [...new Set(touched5m.map((b) => bucketStart(b, HOUR_MS)))],
      d1: [...new Set(touched5m.map((b) => bucketStart(b, DAY_MS)))],
    },
    windowFrom: windowStarts(input.nowMs, input.cycleMs),
  };
}

/**
 * Counts a batch's raw readings and merges them into the stored counters; recomputes the window scores
 * as of the batch's end (pure). `split` tells new readings from copies of earlier ones (`splitSeen`).
 */
export function countBatchQuality(
  input: BatchQualityInput,
  stored: QualityState,
  split: { fresh: readonly Reading[]; seen: readonly Reading[] },
): { changed: QualityBuckets; scores: NodeQualityScores } {
  const { node, nowMs } = input;
  const windows = windowStarts(nowMs, input.cycleMs);
  const ctx: QualityContext = {
    now: nowMs,
    kind: node.kind,
    metrics: node.metrics,
    previousMaxTs: stored.maxTs,
  };
  const { fresh, seen } = split;
  // Counted once per 5-minute bucket; the hours and days are those buckets merged in time order, which
  // is exactly what counting them per hour or day would give (the batch is judged as a whole either way).
  const m5 = new Map<number, QualityCounters>();
  const add = (added: Map<number, QualityCounters>) => {
    for (const [bucket, c] of added) {
      const have = m5.get(bucket);
      m5.set(bucket, have ? mergeQuality(have, c) : c);
    }
  };
  if (fresh.length > 0) add(countQualityByBucket(fresh, ctx, BUCKET_MS));
  if (seen.length > 0) add(duplicateCounters(seen, ctx, BUCKET_MS));
  const changed: QualityBuckets = { m5: new Map(), h1: new Map(), d1: new Map() };
  for (const [res, size] of [
    ['m5', BUCKET_MS],
    ['h1', HOUR_MS],
    ['d1', DAY_MS],
  ] as const) {
    const added = new Map<number, QualityCounters>();
    for (const bucket of [...m5.keys()].sort((a, b) => a - b)) {
      const at = bucketStart(bucket, size);
      const have = added.get(at);
      added.set(at, have ? mergeQuality(have, m5.get(bucket)!) : m5.get(bucket)!);
    }
    for (const [bucket, c] of added) {
      const base = stored.buckets[res].get(bucket);
      changed[res].set(bucket, base ? mergeQuality(base, c) : c);
    }
  }
  const view = (res: QualityResolution) => {
    const all = new Map(stored.buckets[res]);
    for (const [b, c] of changed[res]) all.set(b, c);
    return [...all]
      .filter(([b]) => b >= windows[res])
      .sort((x, y) => x[0] - y[0])
      .map(([bucketMs, counters]) => ({ bucketMs, counters }));
  };
  let latestTs = stored.maxTs;
  for (const c of changed.m5.values())
    if (c.maxTs !== null) latestTs = Math.max(latestTs ?? c.maxTs, c.maxTs);
  const scores = scoreWindows(node.id, nowMs, windows, view('m5'), view('h1'), view('d1'));
  return { changed, scores: { ...scores, latestTs } };
}

/** Writes the merged counters and the scores with the node's new watermark (one statement). */
export function writeBatchQuality(
  tx: Pick<NodeBatchTx, 'writeQualityState'>,
  input: BatchQualityInput,
  counted: { changed: QualityBuckets; scores: NodeQualityScores },
  watermarkMs: number,
): Promise<void> {
  return tx.writeQualityState(counted.changed, { asOfMs: input.nowMs, body: counted.scores }, watermarkMs);
}

/** Where each window starts: the cycle (5-minute buckets), 24 hours (hourly), 7 days (daily, today included). */
export function windowStarts(asOfMs: number, cycleMs: number): Record<QualityResolution, number> {
  return {
    m5: bucketStart(asOfMs - cycleMs),
    h1: bucketStart(asOfMs, HOUR_MS) + HOUR_MS - 24 * HOUR_MS,
    d1: bucketStart(asOfMs, DAY_MS) - 6 * DAY_MS,
  };
}

export const QUALITY_WINDOWS = ['cycle', '24h', '7d'] as const;
export type QualityWindowName = (typeof QUALITY_WINDOWS)[number];

export interface NodeQualityScores {
  nodeId: string;
  asOf: string;
  windows: Record<QualityWindowName, QualityReport>;
  /** The latest reading time counted for the node (the next batch's out-of-order reference). */
  latestTs: number | null;
}

function mergeAll(rows: readonly { counters: QualityCounters }[]): QualityCounters {
  let merged = emptyQuality(rows[0]?.counters.flatlineMaxRun);
  for (const r of rows) merged = mergeQuality(merged, r.counters);
  return merged;
}

type Buckets = readonly { bucketMs: number; counters: QualityCounters }[];

/** Scores of the three windows ending at `asOfMs`, from each window's counters in time order (pure). */
export function scoreWindows(
  nodeId: string,
  asOfMs: number,
  starts: Record<QualityResolution, number>,
  fiveMinute: Buckets,
  hourly: Buckets,
  daily: Buckets,
): Omit<NodeQualityScores, 'latestTs'> {
  const interval = intervalFromCounters(hourly.map((r) => r.counters));
  const window = (rows: Buckets, start: number) =>
    scoreQuality(mergeAll(rows.filter((r) => r.bucketMs >= start && r.bucketMs < asOfMs)), {
      start,
      end: asOfMs,
      expectedIntervalMs: interval,
    });
  return {
    nodeId,
    asOf: new Date(asOfMs).toISOString(),
    windows: {
      cycle: window(fiveMinute, starts.m5),
      '24h': window(hourly, starts.h1),
      '7d': window(daily, starts.d1),
    },
  };
}
