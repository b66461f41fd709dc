import type { NodeColumns } from '../domain/columns.ts';
import type { Network, Reading } from '../domain/readings.ts';

/** What a dispatcher asks of a source of readings (BigQuery, the simulator, a CSV file). */
export interface IngestWindow {
  /** Exclusive lower bound of ingestion time (the watermark), epoch ms. */
  fromIngestMs: number;
  /** Inclusive upper bound of ingestion time (this cycle's end), epoch ms. */
  toIngestMs: number;
  /** Readings older than this are not read (the lateness horizon: partition pruning in BigQuery). */
  minTsMs: number;
}

export interface ReadingBatch {
  readings: Reading[];
  /** Bytes the source processed to answer (BigQuery's totalBytesProcessed; bytes read for files; 0 for the simulator). */
  bytesProcessed: number;
}

export interface ReadingSource {
  readonly name: string;
  /** The network this source knows: districts and nodes, for the registry. */
  network(): Promise<Network>;
  /** Every reading ingested in (fromIngestMs, toIngestMs] whose reading time is ≥ minTsMs. */
  readIngested(window: IngestWindow): Promise<ReadingBatch>;
  /**
   * Optional fast path for bulk backfills: readIngested's readings of the named nodes only, as
   * time-ordered columns (one entry per node). Sources without it are read whole by readIngested.
   */
  readColumns?(window: IngestWindow, nodeIds: readonly string[]): Promise<NodeColumns[]>;
  /** The span of reading times the source can offer, when it is bounded (files); undefined for live sources. */
  span?(): Promise<{ fromMs: number; toMs: number } | undefined>;
}
