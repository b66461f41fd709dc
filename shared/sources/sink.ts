/**
 * Where readings pushed through the API go (POST /api/v1/readings): the port, and the id that makes a
 * row's insert idempotent. BigQuery in production (bigquery-sink.ts: streaming inserts with that id
 * as insertId), the local source in the local run (pushed.ts), so that the next cycle reads them
 * through the same single query as every other reading.
 */
import { createHash } from 'node:crypto';
import type { Reading } from '../domain/readings.ts';

/** A validated reading to store; `ingestedAt` is set by the sink. */
export type PushedReading = Omit<Reading, 'ingestedAt'>;

export interface SinkResult {
  /** Rows the store refused, by index in the batch written, with its reason; every other row was stored. */
  failed: { index: number; reason: string }[];
}

export interface ReadingSink {
  readonly name: 'bigquery' | 'local';
  /** The ingestion clock (what `ingestion_time` will be): bounds how old a pushed reading may be. */
  now(): number;
  /** Stores the rows; throws when it cannot tell what was stored (the caller answers 503). */
  write(rows: readonly PushedReading[]): Promise<SinkResult>;
}

/**
 * A row's insert id: a hash of its node, reading time and metric names. A retried batch sends the
 * same ids, so BigQuery drops the copies (best effort, about a minute) and the local sink drops them
 * for good; two rows of one node and time with different metrics are different rows.
 */
export function insertIdOf(row: PushedReading): string {
  const metrics = Object.keys(row.values).sort().join(',');
  return createHash('sha256').update(`${row.nodeId}\n${row.ts}\n${metrics}`).digest('base64url').slice(0, 32);
}
