/** The pure part of a node batch: what it adds, given what is stored (no I/O). */
import { bucketStart, hasSeen, type PartialRow } from '../../domain/aggregate.ts';
import type { RejectCounts } from '../../domain/clean.ts';
import type { LatestBody } from '../../domain/payloads.ts';
import type { Metric, Reading } from '../../domain/readings.ts';

export function mergeLatest(current: LatestBody, readings: Reading[]): LatestBody {
  const next: LatestBody = { ...current };
  for (const r of readings) {
    for (const [metric, value] of Object.entries(r.values) as [Metric, number][]) {
      const have = next[metric];
      if (!have || r.ts > have.ts || (r.ts === have.ts && value > have.value))
        next[metric] = { value, ts: r.ts };
    }
  }
  return next;
}

/** Drops values an earlier batch already counted (the same node, metric and second): duplicates. */
export function dropSeen(readings: Reading[], stored: PartialRow[], counts: RejectCounts): Reading[] {
  if (stored.length === 0) return readings;
  const seen = new Map(stored.map((r) => [`${r.metric}|${r.bucketMs}`, r.seen]));
  const out: Reading[] = [];
  for (const r of readings) {
    const bucket = bucketStart(r.ts);
    const values: Reading['values'] = {};
    let kept = 0;
    let dropped = 0;
    for (const [metric, v] of Object.entries(r.values) as [Metric, number][]) {
      if (hasSeen(seen.get(`${metric}|${bucket}`), r.ts)) dropped += 1;
      else {
        values[metric] = v;
        kept += 1;
      }
    }
    if (dropped > 0) counts.duplicates += 1;
    if (kept > 0) out.push(kept === Object.keys(r.values).length ? r : { ...r, values });
  }
  return out;
}

export const readingSpan = (readings: Reading[]): { min: number | null; max: number | null } => {
  if (readings.length === 0) return { min: null, max: null };
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const r of readings) {
    if (r.ts < min) min = r.ts;
    if (r.ts > max) max = r.ts;
  }
  return { min, max };
};

/**
 * The stored rows a delta merges into: those in the delta's buckets (every metric of them, as a read of
 * those buckets returns), from rows read for a superset of buckets.
 */
export function storedIn(stored: readonly PartialRow[], delta: readonly PartialRow[]): PartialRow[] {
  const buckets = new Set(delta.map((r) => r.bucketMs));
  return stored.filter((r) => buckets.has(r.bucketMs));
}
