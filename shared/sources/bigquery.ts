/**
 * The production ReadingSource: the raw readings table in BigQuery (partitioned by DAY on
 * reading_time, clustered by node_id; schema in terraform/schemas/readings.json).
 *
 * A cycle reads everything ingested since the watermark with ONE parameterized query for all nodes.
 * Its `reading_time >= @min_ts` predicate prunes partitions to the lateness horizon; the
 * ingestion-time window `(@from_ingest, @to_ingest]` catches late data, and consecutive windows
 * partition the table without loss or double counting. There is deliberately no upper bound on
 * reading_time: a reading stamped after its cycle's end (a sensor clock running fast) would
 * otherwise be in no window at all, and the ReadingSource contract asks for every reading ingested
 * in the window whose time is ≥ minTsMs.
 *
 * The node registry's system of record is PostgreSQL, not this table (nodes that report nothing
 * still exist, and districts carry data readings do not), so `network()` delegates to the
 * `registry` callback the caller passes.
 */
import {
  BigQuery,
  type BigQueryOptions,
  BigQueryTimestamp,
  type Query,
  type QueryResultsOptions,
  type QueryRowsResponse,
} from '@google-cloud/bigquery';
import { columnsFromReadings, type NodeColumns } from '../domain/columns.ts';
import { METRICS, type Network, type Reading } from '../domain/readings.ts';
import type { IngestWindow, ReadingBatch, ReadingSource } from './source.ts';

export interface BigQuerySourceOptions {
  projectId: string;
  dataset: string;
  table: string;
  /** Where the dataset lives (EU, US, europe-west1…): the job runs there. */
  location: string;
  /** Only for tests: a loopback server standing in for BigQuery (`http://127.0.0.1:PORT`). */
  apiEndpoint?: string;
  /** The network's system of record (PostgreSQL). */
  registry: () => Promise<Network>;
  /** Rows per result page (default 50,000): bounds each response, however large the cycle. */
  pageSize?: number;
  /** Credentials other than Application Default Credentials (tests pass a static token). */
  authClient?: BigQueryOptions['authClient'];
}

/** What getQueryResults resolves to with autoPaginate off (the client types the next options as Query). */
type ResultsPage = [
  Record<string, unknown>[],
  QueryResultsOptions | null | undefined,
  { jobComplete?: boolean | null; totalBytesProcessed?: string | number | null } | undefined,
];

const IDENTIFIER = /^[A-Za-z0-9_-]+$/;
// Project ids may be domain-scoped: example.com:my-project.
const PROJECT_ID = /^[a-z0-9.:-]+$/;

/** The cycle's query. Identifiers cannot be query parameters, so they are checked instead. */
export function readingsQuery(projectId: string, dataset: string, table: string): string {
  if (!PROJECT_ID.test(projectId)) throw new Error(`invalid BigQuery project id: ${projectId}`);
  if (!IDENTIFIER.test(dataset)) throw new Error(`invalid BigQuery dataset: ${dataset}`);
  if (!IDENTIFIER.test(table)) throw new Error(`invalid BigQuery table: ${table}`);
  return [
    `SELECT node_id, reading_time, ingestion_time, ${METRICS.join(', ')}`,
    `FROM \`${projectId}.${dataset}.${table}\``,
    'WHERE reading_time >= @min_ts',
    '  AND ingestion_time > @from_ingest',
    '  AND ingestion_time <= @to_ingest',
  ].join('\n');
}

/**
 * The bulk backfill's query for a chunk of nodes: the cycle's, for the named nodes only. The table is
 * clustered by node_id (terraform/bigquery.tf), so a chunk reads its nodes' blocks, not the whole range.
 */
export function nodesQuery(projectId: string, dataset: string, table: string): string {
  return `${readingsQuery(projectId, dataset, table)}\n  AND node_id IN UNNEST(@node_ids)`;
}

/** The query's named parameters, typed explicitly (a Date would be guessed as TIMESTAMP, but say so). */
export function readingsQueryParams(window: IngestWindow): Pick<Query, 'params' | 'types'> {
  return {
    params: {
      min_ts: new Date(window.minTsMs),
      from_ingest: new Date(window.fromIngestMs),
      to_ingest: new Date(window.toIngestMs),
    },
    types: { min_ts: 'TIMESTAMP', from_ingest: 'TIMESTAMP', to_ingest: 'TIMESTAMP' },
  };
}

/**
 * Epoch ms of a TIMESTAMP cell. The client turns them into BigQueryTimestamp objects whose `value`
 * is an ISO string with up to microseconds; Date.parse keeps the milliseconds.
 */
export function timestampMs(value: unknown): number {
  const text =
    value instanceof BigQueryTimestamp ? value.value : value instanceof Date ? value.toISOString() : value;
  const ms = typeof text === 'string' ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new Error(`unexpected TIMESTAMP value from BigQuery: ${String(value)}`);
  return ms;
}

/** One result row as a Reading; NULL metrics are left out, like an empty cell of a CSV. */
export function rowToReading(row: Record<string, unknown>): Reading {
  const values: Reading['values'] = {};
  for (const metric of METRICS) {
    const v = row[metric];
    if (v !== null && v !== undefined) values[metric] = Number(v);
  }
  return {
    nodeId: String(row.node_id),
    ts: timestampMs(row.reading_time),
    ingestedAt: timestampMs(row.ingestion_time),
    values,
  };
}

export function createBigQuerySource(options: BigQuerySourceOptions): ReadingSource {
  const { projectId, dataset, table, location, registry } = options;
  const query = readingsQuery(projectId, dataset, table);
  const pageSize = options.pageSize ?? 50_000;
  const client = new BigQuery({
    projectId,
    location,
    ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
    ...(options.authClient ? { authClient: options.authClient } : {}),
  });

  const byNodes = nodesQuery(projectId, dataset, table);

  async function readIngested(window: IngestWindow): Promise<ReadingBatch> {
    return run(query, readingsQueryParams(window));
  }

  /** A chunk's readings (the bulk backfill's fast path): one query for the named nodes, as columns. */
  async function readColumns(window: IngestWindow, nodeIds: readonly string[]): Promise<NodeColumns[]> {
    if (nodeIds.length === 0) return [];
    const { params, types } = readingsQueryParams(window);
    const { readings } = await run(byNodes, {
      params: { ...params, node_ids: [...nodeIds] },
      types: { ...types, node_ids: ['STRING'] },
    });
    const wanted = new Set(nodeIds);
    return columnsFromReadings(readings.filter((r) => wanted.has(r.nodeId)));
  }

  async function run(sql: string, parameters: Pick<Query, 'params' | 'types'>): Promise<ReadingBatch> {
    const [job] = await client.createQueryJob({
      query: sql,
      ...parameters,
      location,
      jobPrefix: 'wnm-readings-',
    });
    const readings: Reading[] = [];
    let bytes: string | undefined;
    // While the job runs the client hands back the same options to poll again; once it is done,
    // options carrying the next pageToken until the last page.
    let next: QueryResultsOptions | null = { autoPaginate: false, maxResults: pageSize };
    while (next) {
      const page: QueryRowsResponse = await job.getQueryResults(next);
      const [rows, nextQuery, response] = page as ResultsPage;
      for (const row of rows) readings.push(rowToReading(row));
      if (response?.jobComplete && response.totalBytesProcessed != null) {
        bytes = String(response.totalBytesProcessed);
      }
      next = nextQuery ?? null;
    }
    if (bytes === undefined) {
      const [metadata] = await job.getMetadata();
      bytes = metadata.statistics?.totalBytesProcessed ?? metadata.statistics?.query?.totalBytesProcessed;
    }
    return { readings, bytesProcessed: Number(bytes ?? 0) };
  }

  return {
    name: `bigquery:${projectId}.${dataset}.${table}`,
    network: registry,
    readIngested,
    readColumns,
  };
}
