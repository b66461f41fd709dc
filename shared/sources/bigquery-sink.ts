/**
 * The production ReadingSink: streaming inserts (tabledata.insertAll) into the raw readings table,
 * each row with an insertId (a hash of node, time and metrics: sink.ts) so that a retried batch is
 * stored once, and ingestion_time = now, so that the dispatcher's next window reads the rows through
 * its one query. The client library is loaded on the first write: the API bundle loads no BigQuery
 * client at start (cold start).
 *
 * Rows BigQuery refuses come back in insertErrors (the client throws a PartialFailureError listing
 * them by index): they are reported to the caller with BigQuery's reason, never dropped silently;
 * the other rows of the batch are stored.
 */
import type { BigQueryOptions } from '@google-cloud/bigquery';
import { METRICS } from '../domain/readings.ts';
import { insertIdOf, type PushedReading, type ReadingSink, type SinkResult } from './sink.ts';

export interface BigQuerySinkOptions {
  projectId: string;
  dataset: string;
  table: string;
  location: string;
  /** Only for tests: a loopback server standing in for BigQuery (`http://127.0.0.1:PORT`). */
  apiEndpoint?: string | undefined;
  authClient?: BigQueryOptions['authClient'];
  now?: () => number;
}

interface PartialFailure {
  name: string;
  errors?: { row?: unknown; errors?: { reason?: string; message?: string }[] }[];
}

export function createBigQuerySink(options: BigQuerySinkOptions): ReadingSink {
  const clock = options.now ?? Date.now;
  let table: Promise<import('@google-cloud/bigquery').Table> | undefined;
  const open = () => {
    table ??= import('@google-cloud/bigquery').then(({ BigQuery }) =>
      new BigQuery({
        projectId: options.projectId,
        location: options.location,
        ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
        ...(options.authClient ? { authClient: options.authClient } : {}),
      })
        .dataset(options.dataset)
        .table(options.table),
    );
    return table;
  };

  return {
    name: 'bigquery',
    now: clock,
    async write(rows: readonly PushedReading[]): Promise<SinkResult> {
      if (rows.length === 0) return { failed: [] };
      const ingestion = new Date(clock()).toISOString();
      const raw = rows.map((row) => {
        const json: Record<string, unknown> = {
          node_id: row.nodeId,
          reading_time: new Date(row.ts).toISOString(),
          ingestion_time: ingestion,
        };
        for (const m of METRICS) if (row.values[m] !== undefined) json[m] = row.values[m];
        return { insertId: insertIdOf(row), json };
      });
      try {
        // skipInvalidRows: the valid rows are stored even when others are refused (else BigQuery stores none).
        await (await open()).insert(raw, { raw: true, skipInvalidRows: true, partialRetries: 0 });
        return { failed: [] };
      } catch (err) {
        const partial = err as PartialFailure;
        if (partial.name !== 'PartialFailureError' || !partial.errors) throw err;
        const failed = partial.errors.map((e) => {
          const index = raw.indexOf(e.row as (typeof raw)[number]);
          const reason = (e.errors ?? [])
            .map((x) => x.message || x.reason)
            .filter(Boolean)
            .join('; ');
          return { index, reason: `BigQuery refused the row: ${reason || 'no reason given'}` };
        });
        // A refusal we cannot place on a row: we cannot tell what was stored.
        if (failed.some((f) => f.index < 0)) throw err;
        return { failed };
      }
    },
  };
}
