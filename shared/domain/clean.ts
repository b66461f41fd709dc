/**
 * Cleaning a node's batch before aggregation. Bad input never crashes a node and is never
 * aggregated; it is counted, so data quality can report it:
 * - a value that is NaN or infinite → `nonFinite`; outside PHYSICAL_LIMITS → `impossible`
 *   (the rest of the reading is kept);
 * - a reading from the future (beyond the batch's ingestion time plus a tolerance) → `future`;
 * - the same (node, time) twice in a batch → `duplicates` (the first in (time, ingestion) order wins).
 */
import { METRICS, PHYSICAL_LIMITS, type Reading } from './readings.ts';

export interface RejectCounts {
  received: number;
  accepted: number;
  nonFinite: number;
  impossible: number;
  future: number;
  duplicates: number;
}

export const FUTURE_TOLERANCE_MS = 5 * 60_000;

export function emptyRejects(): RejectCounts {
  return { received: 0, accepted: 0, nonFinite: 0, impossible: 0, future: 0, duplicates: 0 };
}

export function cleanReadings(
  readings: Reading[],
  nowMs: number,
): { valid: Reading[]; counts: RejectCounts } {
  const counts = emptyRejects();
  counts.received = readings.length;
  const ordered = [...readings].sort((a, b) => a.ts - b.ts || a.ingestedAt - b.ingestedAt);
  const valid: Reading[] = [];
  let previousTs = Number.NaN;
  for (const r of ordered) {
    if (!Number.isFinite(r.ts) || r.ts > nowMs + FUTURE_TOLERANCE_MS) {
      counts.future += 1;
      continue;
    }
    if (r.ts === previousTs) {
      counts.duplicates += 1;
      continue;
    }
    previousTs = r.ts;
    const values: Reading['values'] = {};
    let kept = 0;
    for (const metric of METRICS) {
      const v = r.values[metric];
      if (v === undefined || v === null) continue;
      if (!Number.isFinite(v)) {
        counts.nonFinite += 1;
        continue;
      }
      // Indexed, not destructured: array destructuring goes through an iterator (an allocation per value).
      const limits = PHYSICAL_LIMITS[metric];
      if (v < limits[0] || v > limits[1]) {
        counts.impossible += 1;
        continue;
      }
      values[metric] = v;
      kept += 1;
    }
    if (kept > 0) {
      valid.push({ nodeId: r.nodeId, ts: r.ts, ingestedAt: r.ingestedAt, values });
      counts.accepted += 1;
    }
  }
  return { valid, counts };
}
