/**
 * Readings pushed through the API in the local run: a sink that keeps them in process, stamped with
 * their ingestion time, and a source wrapper that adds them to what the wrapped source (simulator or
 * CSV) returns for a window. The dispatcher still makes one read per cycle, and a pushed reading is in
 * exactly one window, as a row of the BigQuery table is.
 */
import { columnsFromReadings, type NodeColumns } from '../domain/columns.ts';
import type { Network, Reading } from '../domain/readings.ts';
import { insertIdOf, type PushedReading, type ReadingSink, type SinkResult } from './sink.ts';
import type { IngestWindow, ReadingBatch, ReadingSource } from './source.ts';

export class LocalReadingSink implements ReadingSink {
  readonly name = 'local' as const;
  /** By ingestion time (appended in clock order). */
  private readonly readings: Reading[] = [];
  private readonly ids = new Set<string>();
  private readonly clock: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.clock = options.now ?? Date.now;
  }

  now(): number {
    return this.clock();
  }

  async write(rows: readonly PushedReading[]): Promise<SinkResult> {
    const ingestedAt = this.clock();
    for (const row of rows) {
      const id = insertIdOf(row);
      // A retried row is stored once (what insertId does in BigQuery, here for good).
      if (this.ids.has(id)) continue;
      this.ids.add(id);
      this.readings.push({ ...row, ingestedAt });
    }
    return { failed: [] };
  }

  /** Pushed readings ingested in (fromIngestMs, toIngestMs] with a time ≥ minTsMs. */
  read(window: IngestWindow): Reading[] {
    return this.readings.filter(
      (r) =>
        r.ingestedAt > window.fromIngestMs && r.ingestedAt <= window.toIngestMs && r.ts >= window.minTsMs,
    );
  }
}

/** `inner`'s readings of a window plus the readings pushed into `sink` in it. */
export function withPushedReadings(inner: ReadingSource, sink: LocalReadingSink): ReadingSource {
  return {
    name: inner.name,
    network: (): Promise<Network> => inner.network(),
    async readIngested(window: IngestWindow): Promise<ReadingBatch> {
      const batch = await inner.readIngested(window);
      const pushed = sink.read(window);
      return pushed.length === 0 ? batch : { ...batch, readings: [...batch.readings, ...pushed] };
    },
    // The bulk path keeps the inner source's columns; a window with pushed readings is read whole.
    ...(inner.readColumns
      ? {
          readColumns: async (window: IngestWindow, nodeIds: readonly string[]): Promise<NodeColumns[]> => {
            const wanted = new Set(nodeIds);
            const pushed = sink.read(window).filter((r) => wanted.has(r.nodeId));
            if (pushed.length === 0) return inner.readColumns!(window, nodeIds);
            const batch = await inner.readIngested(window);
            return columnsFromReadings([...batch.readings.filter((r) => wanted.has(r.nodeId)), ...pushed]);
          },
        }
      : {}),
    ...(inner.span ? { span: () => inner.span!() } : {}),
  };
}
