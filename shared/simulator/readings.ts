/**
 * From true values to what lands in the cold store: partial readings, sensor faults, gaps, silences,
 * ingestion times, late batches and duplicates. The columnar path (`columns`) is the fast one; Reading
 * objects are built from it.
 */
import type { Metric, Reading } from '../domain/readings.ts';
import type { IngestWindow } from '../sources/source.ts';
import { HOUR_MS } from './calendar.ts';
import type { SimEventType } from './event-types.ts';
import { type EventSchedule, METRIC_DECIMALS } from './events.ts';
import { unit } from './hash.ts';
import {
  type IngestionOptions,
  LATE_BLOCK_MS,
  maxLatenessMs,
  maxNormalLatenessMs,
  NodeIngestion,
} from './ingestion.ts';
import type { NodeModel } from './network.ts';
import { allocateColumns, type MetricColumns, type Physics } from './physics.ts';

/** One node's readings as columns; row i is one delivered reading (duplicates are extra rows). */
export interface ReadingColumns {
  nodeId: string;
  length: number;
  /** Reading times, on the step grid, ascending (a duplicate follows its original). */
  ts: Float64Array;
  ingestedAt: Float64Array;
  /** One column per metric the node reports; NaN where the reading lacks that metric. */
  values: MetricColumns;
}

/** Sensor faults in the order they are applied: a later one overrides an earlier one on the same reading. */
const FAULT_ORDER: readonly SimEventType[] = [
  'negativeFlow',
  'flatline',
  'spike',
  'outOfRange',
  'gap',
  'silent',
];

/** Working arrays reused from one call to the next (grown, never shrunk): generation allocates only its output. */
class Scratch {
  capacity = 0;
  ts = new Float64Array(0);
  rowHash = new Float64Array(0);
  ingestedAt = new Float64Array(0);
  dupDelay = new Float64Array(0);
  keep = new Uint8Array(0);
  values: MetricColumns = {};

  reserve(n: number, metrics: readonly Metric[]): this {
    if (n > this.capacity) {
      this.capacity = Math.max(n, 2 * this.capacity);
      this.ts = new Float64Array(this.capacity);
      this.rowHash = new Float64Array(this.capacity);
      this.ingestedAt = new Float64Array(this.capacity);
      this.dupDelay = new Float64Array(this.capacity);
      this.keep = new Uint8Array(this.capacity);
      this.values = {};
    }
    for (const m of metrics) {
      if ((this.values[m]?.length ?? -1) < this.capacity) this.values[m] = new Float64Array(this.capacity);
    }
    return this;
  }
}

export class ReadingGenerator {
  private readonly physics: Physics;
  private readonly schedule: EventSchedule;
  private readonly ingestion: IngestionOptions;
  private readonly missingValueShare: number;
  private readonly scratch = new Scratch();

  constructor(
    physics: Physics,
    schedule: EventSchedule,
    ingestion: IngestionOptions,
    missingValueShare: number,
  ) {
    this.physics = physics;
    this.schedule = schedule;
    this.ingestion = ingestion;
    this.missingValueShare = missingValueShare;
  }

  /** Readings of a node with ts on the stepMs grid in [fromMs, toMs). */
  columns(node: NodeModel, fromMs: number, toMs: number, stepMs: number): ReadingColumns {
    if (!(stepMs >= 1) || !Number.isFinite(stepMs)) throw new RangeError(`stepMs must be ≥ 1, got ${stepMs}`);
    const first = Math.ceil(fromMs / stepMs) * stepMs;
    const n = Math.max(0, Math.ceil((toMs - first) / stepMs));
    const metrics = node.metrics;
    const s = this.scratch.reserve(n, metrics);
    const { ts, rowHash, ingestedAt, dupDelay, keep } = s;
    for (let i = 0; i < n; i++) ts[i] = first + i * stepMs;
    const values = s.values;
    this.physics.fill(node, ts, n, values);

    // One hash per reading decides a missing metric, its ingestion delay and whether it is duplicated.
    const ing = new NodeIngestion(node, this.ingestion);
    const cols = metrics.map((m) => values[m]!);
    const missingShare = this.missingValueShare;
    const duplicates = this.ingestion.duplicateShare > 0;
    let hour = Number.NaN;
    let lateDelay = 0;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      const h = ing.rowHash(Math.floor(t / 1000));
      rowHash[i] = h;
      if (unit(h) < missingShare) cols[h % cols.length]![i] = Number.NaN;
      const block = Math.floor(t / LATE_BLOCK_MS);
      if (block !== hour) {
        hour = block;
        lateDelay = ing.lateDelay(block);
      }
      ingestedAt[i] = ing.ingestedAt(t, h, lateDelay);
      dupDelay[i] = duplicates ? ing.duplicateDelay(h) : 0;
    }

    keep.fill(1, 0, n);
    const faults = this.schedule
      .forNode(node, first, first + n * stepMs, FAULT_ORDER)
      .sort((a, b) => FAULT_ORDER.indexOf(a.type) - FAULT_ORDER.indexOf(b.type));
    for (const e of faults) {
      const i0 = Math.max(0, Math.ceil((e.startMs - first) / stepMs));
      const i1 = Math.min(n, Math.ceil((e.endMs - first) / stepMs));
      if (e.type === 'gap' || e.type === 'silent') {
        keep.fill(0, i0, i1);
        continue;
      }
      const col = values[e.metric!];
      if (!col) continue;
      if (e.type === 'negativeFlow') {
        for (let i = i0; i < i1; i++) col[i] = -e.magnitude * Math.abs(col[i]!);
      } else {
        col.fill(e.magnitude, i0, i1);
      }
    }

    let rows = 0;
    for (let i = 0; i < n; i++) if (keep[i] !== 0) rows += dupDelay[i] === 0 ? 1 : 2;
    const out: ReadingColumns = {
      nodeId: node.id,
      length: rows,
      ts: new Float64Array(rows),
      ingestedAt: new Float64Array(rows),
      values: allocateColumns(metrics, rows),
    };
    let r = 0;
    for (let i = 0; i < n; i++) {
      if (keep[i] === 0) continue;
      out.ts[r] = ts[i]!;
      out.ingestedAt[r] = ingestedAt[i]!;
      r++;
      if (dupDelay[i] !== 0) {
        out.ts[r] = ts[i]!;
        out.ingestedAt[r] = ingestedAt[i]! + dupDelay[i]!;
        r++;
      }
    }
    for (const m of metrics) {
      const src = values[m]!;
      const dst = out.values[m]!;
      const f = 10 ** METRIC_DECIMALS[m];
      r = 0;
      for (let i = 0; i < n; i++) {
        if (keep[i] === 0) continue;
        const v = Math.round(src[i]! * f) / f;
        dst[r++] = v;
        if (dupDelay[i] !== 0) dst[r++] = v;
      }
    }
    return out;
  }

  /**
   * Every reading ingested in (fromIngestMs, toIngestMs] with ts ≥ minTsMs. Reading times up to the
   * normal lateness behind the window are generated in full; further back only the late hours whose
   * batch lands in the window are.
   */
  readIngested(nodes: readonly NodeModel[], window: IngestWindow, stepMs: number): Reading[] {
    const out: Reading[] = [];
    if (!(window.toIngestMs > window.fromIngestMs)) return out;
    const inWindow = (x: number) => x > window.fromIngestMs && x <= window.toIngestMs;
    for (const node of nodes) {
      for (const piece of this.ingestedPieces(node, window, stepMs)) pushRows(out, piece, inWindow);
    }
    return out;
  }

  /** One node's readings ingested in the window (as `readIngested`), as columns in time order. */
  ingestedColumns(node: NodeModel, window: IngestWindow, stepMs: number): ReadingColumns {
    const pieces =
      window.toIngestMs > window.fromIngestMs ? [...this.ingestedPieces(node, window, stepMs)] : [];
    // The late hours lie before the normal span: in time order they come first.
    pieces.sort((a, b) => (a.ts[0] ?? 0) - (b.ts[0] ?? 0));
    const kept = pieces.map((p) => {
      const rows = new Int32Array(p.length);
      let n = 0;
      for (let i = 0; i < p.length; i++) {
        const x = p.ingestedAt[i]!;
        if (x > window.fromIngestMs && x <= window.toIngestMs) rows[n++] = i;
      }
      return rows.subarray(0, n);
    });
    const length = kept.reduce((n, rows) => n + rows.length, 0);
    const out: ReadingColumns = {
      nodeId: node.id,
      length,
      ts: new Float64Array(length),
      ingestedAt: new Float64Array(length),
      values: allocateColumns(node.metrics, length),
    };
    const gather = (dst: Float64Array, src: Float64Array, rows: Int32Array, at: number) => {
      for (let j = 0; j < rows.length; j++) dst[at + j] = src[rows[j]!]!;
    };
    let at = 0;
    pieces.forEach((p, k) => {
      const rows = kept[k]!;
      gather(out.ts, p.ts, rows, at);
      gather(out.ingestedAt, p.ingestedAt, rows, at);
      for (const m of node.metrics) gather(out.values[m]!, p.values[m]!, rows, at);
      at += rows.length;
    });
    return out;
  }

  /**
   * The spans of a node's readings that may hold readings ingested in the window, unfiltered: reading
   * times up to the normal lateness behind the window in full, and further back only the late hours
   * whose batch lands in the window.
   */
  private *ingestedPieces(node: NodeModel, window: IngestWindow, stepMs: number): Generator<ReadingColumns> {
    const { fromIngestMs, toIngestMs, minTsMs } = window;
    const normalFrom = Math.max(minTsMs, fromIngestMs - maxNormalLatenessMs(this.ingestion));
    const lateFrom = Math.max(minTsMs, fromIngestMs - maxLatenessMs(this.ingestion));
    const o = this.ingestion;
    yield this.columns(node, normalFrom, toIngestMs, stepMs);
    if (o.lateShare <= 0 || lateFrom >= normalFrom) return;
    const ing = new NodeIngestion(node, o);
    for (let h = Math.floor(lateFrom / HOUR_MS); h * HOUR_MS < normalFrom; h++) {
      const delay = ing.lateDelay(h);
      if (delay === 0) continue;
      const arrives = (h + 1) * HOUR_MS + delay;
      if (
        arrives + o.minDelayMs > toIngestMs ||
        arrives + o.maxDelayMs + o.duplicateMaxDelayMs <= fromIngestMs
      )
        continue;
      const from = Math.max(lateFrom, h * HOUR_MS);
      const to = Math.min(normalFrom, (h + 1) * HOUR_MS);
      yield this.columns(node, from, to, stepMs);
    }
  }
}

/** Appends the rows of `cols` whose ingestion time passes `accept` as Reading objects. */
export function pushRows(
  out: Reading[],
  cols: ReadingColumns,
  accept?: (ingestedAt: number) => boolean,
): void {
  const metrics = Object.keys(cols.values) as Metric[];
  const columns = metrics.map((m) => cols.values[m]!);
  for (let i = 0; i < cols.length; i++) {
    const ingestedAt = cols.ingestedAt[i]!;
    if (accept && !accept(ingestedAt)) continue;
    const values: Reading['values'] = {};
    for (let j = 0; j < metrics.length; j++) {
      const v = columns[j]![i]!;
      values[metrics[j]!] = Number.isNaN(v) ? null : v;
    }
    out.push({ nodeId: cols.nodeId, ts: cols.ts[i]!, ingestedAt, values });
  }
}
