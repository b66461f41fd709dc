/**
 * The bulk path's form of readings: one node's readings as typed-array columns, and their cleaning.
 * Cleaning columns follows `cleanReadings` rule for rule (same counts, same winners), without an
 * object per reading: a backfill of a week of a thousand nodes holds ten million readings.
 */
import { emptyRejects, FUTURE_TOLERANCE_MS, type RejectCounts } from './clean.ts';
import { METRICS, type Metric, PHYSICAL_LIMITS, type Reading } from './readings.ts';

/**
 * One node's readings as columns; row i is one delivered reading. In a value column NaN means the
 * reading lacks the metric; a value that is not a number travels as Infinity, so it is still
 * counted as non-finite.
 */
export interface NodeColumns {
  nodeId: string;
  length: number;
  ts: Float64Array;
  ingestedAt: Float64Array;
  values: Partial<Record<Metric, Float64Array>>;
}

/** Groups readings by node into columns (the bulk path's fallback for sources without columns). */
export function columnsFromReadings(readings: readonly Reading[]): NodeColumns[] {
  const byNode = new Map<string, Reading[]>();
  for (const r of readings) {
    const list = byNode.get(r.nodeId);
    if (list) list.push(r);
    else byNode.set(r.nodeId, [r]);
  }
  return [...byNode].map(([nodeId, list]) => {
    const values: NodeColumns['values'] = {};
    for (const metric of METRICS) {
      if (!list.some((r) => r.values[metric] !== undefined && r.values[metric] !== null)) continue;
      values[metric] = Float64Array.from(list, (r) => {
        const v = r.values[metric];
        if (v === undefined || v === null) return Number.NaN;
        return Number.isNaN(v) ? Number.POSITIVE_INFINITY : v;
      });
    }
    return {
      nodeId,
      length: list.length,
      ts: Float64Array.from(list, (r) => r.ts),
      ingestedAt: Float64Array.from(list, (r) => r.ingestedAt),
      values,
    };
  });
}

/** What a node's bulk batch covers: readings ingested in (fromIngestMs, toIngestMs] with ts ≥ minTsMs. */
export interface ColumnWindow {
  /** Exclusive: the node's watermark. */
  fromIngestMs: number;
  /** Inclusive: the end of the backfill, also "now" for readings from the future. */
  toIngestMs: number;
  /** The lateness horizon: older readings are not part of the read (and not counted). */
  minTsMs: number;
}

/** A node's accepted readings in time order (one per time), with only their valid values. */
export interface CleanColumns {
  nodeId: string;
  counts: RejectCounts;
  length: number;
  ts: Float64Array;
  /** NaN where the reading has no valid value for the metric. */
  values: Partial<Record<Metric, Float64Array>>;
}

/** Row indices in (ts, ingestedAt) order: the source's own order when it is already sorted. */
function timeOrder(cols: NodeColumns, keep: (i: number) => boolean): Int32Array {
  const { ts, ingestedAt } = cols;
  const out = new Int32Array(cols.length);
  let n = 0;
  let sorted = true;
  for (let i = 0; i < cols.length; i++) {
    if (!keep(i)) continue;
    if (n > 0) {
      const p = out[n - 1]!;
      if (ts[i]! < ts[p]! || (ts[i] === ts[p] && ingestedAt[i]! < ingestedAt[p]!)) sorted = false;
    }
    out[n++] = i;
  }
  const order = out.subarray(0, n);
  if (!sorted) order.sort((a, b) => ts[a]! - ts[b]! || ingestedAt[a]! - ingestedAt[b]!);
  return order;
}

/**
 * Cleans one node's columns as `cleanReadings` cleans a batch: readings from the future, second
 * copies of a time (the earliest ingested wins), non-finite and impossible values are counted and
 * dropped; a reading with no valid value left is not accepted.
 */
export function cleanColumns(cols: NodeColumns, window: ColumnWindow): CleanColumns {
  const { fromIngestMs, toIngestMs, minTsMs } = window;
  const order = timeOrder(cols, (i) => {
    const ing = cols.ingestedAt[i]!;
    return ing > fromIngestMs && ing <= toIngestMs && !(cols.ts[i]! < minTsMs);
  });
  const counts = emptyRejects();
  counts.received = order.length;
  const metrics = METRICS.filter((m) => cols.values[m]);
  const inputs = metrics.map((m) => cols.values[m]!);
  const limits = metrics.map((m) => PHYSICAL_LIMITS[m]);
  const ts = new Float64Array(order.length);
  const outputs = metrics.map(() => new Float64Array(order.length));
  let n = 0;
  let previousTs = Number.NaN;
  for (const i of order) {
    const t = cols.ts[i]!;
    if (!Number.isFinite(t) || t > toIngestMs + FUTURE_TOLERANCE_MS) {
      counts.future += 1;
      continue;
    }
    if (t === previousTs) {
      counts.duplicates += 1;
      continue;
    }
    previousTs = t;
    let kept = 0;
    for (let j = 0; j < inputs.length; j++) {
      let v = inputs[j]![i]!;
      if (Number.isNaN(v)) {
        // NaN: the reading lacks this metric.
      } else if (!Number.isFinite(v)) {
        counts.nonFinite += 1;
        v = Number.NaN;
      } else if (v < limits[j]![0] || v > limits[j]![1]) {
        counts.impossible += 1;
        v = Number.NaN;
      } else {
        kept += 1;
      }
      outputs[j]![n] = v;
    }
    if (kept > 0) {
      ts[n++] = t;
      counts.accepted += 1;
    }
  }
  const values: CleanColumns['values'] = {};
  metrics.forEach((m, j) => {
    values[m] = outputs[j]!.subarray(0, n);
  });
  return { nodeId: cols.nodeId, counts, length: n, ts: ts.subarray(0, n), values };
}
