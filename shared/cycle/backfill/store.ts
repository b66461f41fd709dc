/**
 * What the bulk backfill needs of storage (its port; PostgreSQL implements it in
 * `adapters/postgres/cycle-stores.ts`). A chunk of nodes is a unit of work: one transaction holding
 * every node's lock, its statements issued through the transaction-bound `BackfillTx`.
 */
import type { PartialAggregate, PartialRow } from '../../domain/aggregate.ts';
import type { RejectCounts } from '../../domain/clean.ts';
import type { LatestBody, StoredLatest } from '../../domain/payloads.ts';
import type { Metric } from '../../domain/readings.ts';
import type { PartialTable } from '../aggregate/store.ts';
import type { DispatchStore } from '../dispatch/store.ts';

export type CopyFormat = 'binary' | 'text';

/** A sketch that can write its canonical bytes in place, or the bytes themselves. */
export type CopySketch = Uint8Array | { byteLength(): number; writeTo(view: DataView, at: number): number };

/**
 * Bulk-load data for one table, in chunks: `add` rows, take the finished chunks with `drain` while
 * adding (to stream as you go), and `end` once for the rest.
 */
export interface PartialEncoder {
  readonly rows: number;
  add(
    nodeId: string,
    metric: number,
    bucketMs: number,
    p: Omit<PartialAggregate, 'sketch' | 'seen'>,
    sketch: CopySketch,
    seen: Uint8Array | null,
  ): void;
  drain(): Uint8Array[];
  end(): Uint8Array[];
}

/**
 * Where COPY writes a table's rows: the storage's own name for it (PostgreSQL: the native partition,
 * so no row is routed through the partitioned parent; with Timescale, the table) and the bucket
 * range [fromMs, toMs) it holds.
 */
export interface CopyTarget {
  name: string;
  fromMs: number;
  toMs: number;
}

export interface PartialKey {
  nodeId: string;
  metric: Metric;
  bucketMs: number;
}

/** One applied_batches row per node: what the backfill applied and what it rejected. */
export interface BatchRecord {
  nodeId: string;
  readings: number;
  rejected: RejectCounts;
  minTs: number | null;
  maxTs: number | null;
}

/** A chunk's statements, bound to its transaction. */
export interface BackfillTx {
  readWatermarks(nodeIds: readonly string[]): Promise<Map<string, number>>;
  /** The keys of the stored partials of the nodes with buckets in [fromMs, toMs]: no payload. */
  readStoredKeys(
    table: PartialTable,
    nodeIds: readonly string[],
    fromMs: number,
    toMs: number,
  ): Promise<PartialKey[]>;
  readPartials(table: PartialTable, keys: readonly PartialKey[]): Promise<PartialRow[]>;
  /** Bulk-loads new rows into a target (`copyTarget`) that holds all their buckets; their keys must not be stored yet. */
  copyPartials(target: CopyTarget, chunks: Iterable<Uint8Array>, format: CopyFormat): Promise<void>;
  upsertPartials(table: PartialTable, rows: PartialRow[]): Promise<void>;
  readLatestMany(nodeIds: readonly string[]): Promise<Map<string, LatestBody>>;
  writeLatestMany(rows: readonly (StoredLatest & { nodeId: string })[]): Promise<void>;
  writeWatermarks(nodeIds: readonly string[], toMs: number): Promise<void>;
  /** Forgets the nodes' settled view states (the chunk writes their partials outside a node batch). */
  deleteViewStates(nodeIds: readonly string[]): Promise<void>;
  recordBatches(runId: string, rows: readonly BatchRecord[]): Promise<void>;
}

export interface BackfillStore extends Pick<DispatchStore, 'upsertNetwork' | 'loadNetwork'> {
  readWatermarks(nodeIds: readonly string[]): Promise<Map<string, number>>;
  /** Creates the 5m/1h/1d partitions of these days (DDL: before the transactions that need them). */
  ensurePartitions(daysMs: number[]): Promise<void>;
  createEncoder(format: CopyFormat): PartialEncoder;
  /** Where COPY writes the table's rows of this bucket (its partitions exist: `ensurePartitions`). */
  copyTarget(table: PartialTable, bucketMs: number): CopyTarget;
  /** Runs `work` in one transaction holding every node's lock (taken first, inside). */
  inNodesTransaction<T>(nodeIds: readonly string[], work: (tx: BackfillTx) => Promise<T>): Promise<T>;
}
