/**
 * What the aggregate step needs of storage (its port; PostgreSQL implements it in
 * `adapters/postgres/cycle-stores.ts`). The node batch is a unit of work: every statement of one batch
 * runs in one transaction under the node's lock, issued through the transaction-bound `NodeBatchTx`
 * (statements issued without awaiting pipeline on the transaction's connection).
 */

import type { QualityCounters } from '../../analytics/quality.ts';
import type { Anomaly, AnomalyStatus, DetectorBucket, Transition } from '../../anomaly/index.ts';
import type { PartialRow } from '../../domain/aggregate.ts';
import type { LatestBody, StoredLatest } from '../../domain/payloads.ts';
import type { SettledView } from '../../domain/view-state.ts';
import type { WindowFigureValues } from '../../domain/windows.ts';

export type QualityResolution = 'm5' | 'h1' | 'd1';
export type QualityBuckets = Record<QualityResolution, Map<number, QualityCounters>>;

/** What a batch's quality counting starts from. */
export interface QualityState {
  /** Stored counters of the buckets asked for and of the windows, per resolution (bucket start → counters). */
  buckets: QualityBuckets;
  /** The latest reading time counted for the node so far (null before its first reading). */
  maxTs: number | null;
}

/** What the node's analytics read, in the batch's first statement (see `NodeState`). */
export interface NodeStateSpec {
  nodeId: string;
  quality: {
    /** Buckets of each resolution the batch touches (stored counters to merge into). */
    buckets: Record<QualityResolution, readonly number[]>;
    /** Where each score window starts. */
    windowFrom: Record<QualityResolution, number>;
  };
  history: {
    metrics: readonly number[];
    /** 5-minute partials over [fromMs, toMs). */
    fromMs: number;
    toMs: number;
    /** Hourly partials of these metrics and hours (past weeks, for the seasonal baseline). */
    baselineMetrics: readonly number[];
    baselineHoursMs: readonly number[];
  };
  /** Unresolved anomalies, and resolved ones last seen from then on. */
  anomaliesSinceMs: number;
}

export interface NodeState {
  /** The node's ingestion watermark, and its latest reading time (null before the first). */
  watermarkMs: number | null;
  latestMs: number | null;
  /** The node's latest values (null before the first): what `readLatest` gives. */
  latest: StoredLatest | null;
  /** The day of the node's settled view state (null without one): what `readViewStateDay` gives. */
  viewDayMs: number | null;
  quality: QualityState;
  fiveMinute: DetectorBucket[];
  baseline: DetectorBucket[];
  anomalies: Anomaly[];
}

export type PartialTable = 'agg_5m' | 'agg_1h' | 'agg_1d';

/**
 * One batch of a node as applied_batches records it (its reading-time span lets the rollup recompute
 * only those days).
 */
export interface AppliedBatch {
  runId: string;
  part: number;
  readings: number;
  rejected: unknown;
  minTs: number | null;
  maxTs: number | null;
}

/** One batch's statements, bound to its transaction (the node is the one the unit of work locked). */
export interface NodeBatchTx {
  readWatermark(): Promise<number | null>;
  /**
   * Watermark, latest values, the settled view state's day, quality counters, detector history and
   * anomalies: one statement.
   */
  readNodeState(spec: NodeStateSpec): Promise<NodeState>;
  readTimezone(districtId: string): Promise<string | null>;
  /** The node's stored partials of a table in the given buckets (none read when there are none). */
  /** The node's stored partials of each table in the given buckets, in one statement (none for a table given none). */
  readBatchBuckets(
    bucketsMs: Record<PartialTable, Iterable<number>>,
  ): Promise<Record<PartialTable, PartialRow[]>>;
  mergePartials(table: PartialTable, delta: PartialRow[], stored?: PartialRow[]): Promise<unknown>;
  readLatest(): Promise<StoredLatest | null>;
  /** The day of the node's settled view state (null without one). */
  readViewStateDay(): Promise<number | null>;
  /** Rebuilds the node's settled view state for the day of `latestMs` from the stored partials. */
  rebuildViewState(latestMs: number): Promise<void>;
  writeLatest(tsMs: number, body: LatestBody): Promise<void>;
  writeWatermark(toMs: number): Promise<void>;
  /** The batch in applied_batches; a second record of the same (run, node, part) does nothing. */
  recordBatch(batch: AppliedBatch): Promise<void>;
  /** Quality counters and scores, and the node's new watermark: one statement. */
  writeQualityState(
    changed: QualityBuckets,
    scores: { asOfMs: number; body: unknown },
    watermarkMs: number,
  ): Promise<void>;
  /** Anomaly transitions; resolves with the ids actually written. */
  writeTransitions(
    transitions: readonly Transition[],
    previous: ReadonlyMap<string, AnomalyStatus>,
  ): Promise<Set<string>>;
}

export interface AggregateStore {
  /** Creates the 5m/1h/1d partitions the buckets need (DDL: before the transaction that needs them). */
  ensurePartitions(bucketsMs: number[]): Promise<void>;
  /** Runs `work` in one transaction holding the node's advisory lock (taken first, inside). */
  inNodeTransaction<T>(nodeId: string, work: (tx: NodeBatchTx) => Promise<T>): Promise<T>;
  /**
   * Runs `work` in one transaction holding every node's advisory lock (taken first, inside, in one
   * stable order); `txOf(nodeId)` gives the statements of one of those nodes, all on that transaction.
   * The nodes' statements of one kind issued in the same turn may run as ONE statement (PostgreSQL:
   * `adapters/postgres/coalesce.ts`), each node getting what its own would give; a failure of it
   * fails each of those nodes (the transaction is then aborted anyway).
   */
  inNodesTransaction<T>(
    nodeIds: readonly string[],
    work: (txOf: (nodeId: string) => NodeBatchTx) => Promise<T>,
  ): Promise<T>;
  /** Ingestion watermarks of some nodes (absent: nothing applied yet). */
  readWatermarks(nodeIds: readonly string[]): Promise<Map<string, number>>;
  // The node's served views, after the batch.
  readLatest(nodeId: string): Promise<StoredLatest | null>;
  /**
   * The node's partials its views are computed from, each table's rows ordered by metric and bucket;
   * hourly rows before `h1FullFromMs` carry count, sum, min and max only (the rest NaN, sketch empty).
   * With the node's settled state of `dayMs` (`settled`), the rows it holds are not read: hourly rows
   * start at `h1FullFromMs` and daily rows at `dayMs`.
   */
  readNodeViewInputs(
    nodeId: string,
    bounds: { m5FromMs: number; h1FromMs: number; h1FullFromMs: number; d1FromMs: number; dayMs: number },
  ): Promise<{ rows: Record<'5m' | '1h' | '1d', PartialRow[]>; settled: SettledView | null }>;
  readNodeQuality(nodeId: string): Promise<unknown | null>;
  /** Each window's body as its JSON text, with the figures the rollup reads of it. */
  writeWindows(
    nodeId: string,
    asOfMs: number,
    windows: { range: string; json: string; figures: WindowFigureValues }[],
  ): Promise<void>;
}
