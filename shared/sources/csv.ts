/**
 * A ReadingSource over a CSV file, for the local stack: replays real data (BWDF) or an export of the
 * readings table. Two shapes, told apart by the header:
 *
 * - WIDE: `timestamp` then one column per node, each value a flow in L/s (like BWDF's
 *   dma-inflows.csv). Each column is an inlet node of its own district. An empty cell is a gap: the
 *   node has no reading at that time (never a zero).
 * - LONG: `node_id` (or `node`), `timestamp` (or `reading_time` / `ts`), optional `ingestion_time`,
 *   `kind` and `district_id` (or `district`), and metric columns named as in METRICS. An empty metric
 *   cell is an absent metric; an empty or missing ingestion time means "ingested when read". Without
 *   a district column, inlet nodes are their own district and other nodes have none. An optional
 *   `feeds_district_id` names the district an outlet's water supplies (a pump filling another district's
 *   tank): that district's water balance counts it as supply.
 *
 * Times are ISO 8601 with `Z`, `UTC` or an offset (also BigQuery's export style
 * `2021-01-01 00:00:00 UTC`), or epoch numbers: below 1e11 seconds, below 1e14 milliseconds, else
 * microseconds. A time without a zone is ambiguous and makes the row bad.
 *
 * Bad rows (bad time or number, wrong field count, unknown kind, broken quoting) are skipped and
 * counted by default: `report` holds the count and the first lines with their reasons, and the logger
 * gets one warning. With `strict: true` the first bad row throws a CsvFormatError naming file and line.
 * In a WIDE file a bad cell makes the whole row bad: a row is one line of the utility's export.
 *
 * The file is parsed once, streaming, into typed columns (one entry per reading, sorted by ingestion
 * time) rather than one object per reading; a window is two binary searches and a scan. bytesProcessed
 * is approximate: each reading carries an equal share of the bytes of the line it came from.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type DistrictInfo, METRICS, type Network, type NodeInfo, type Reading } from '../domain/readings.ts';
import type { Logger } from '../log.ts';
import { CsvFormatError } from './csv-layout.ts';
import { type CsvLoadReport, loadTable, type ReadingTable } from './csv-table.ts';
import type { IngestWindow, ReadingBatch, ReadingSource } from './source.ts';

export { CsvFormatError } from './csv-layout.ts';
export type { CsvLoadReport } from './csv-table.ts';

export interface CsvSourceOptions {
  tenantId?: string;
  /** IANA zone of every district (default Europe/Rome, BWDF's). */
  timezone?: string;
  /** Throw at the first bad row instead of skipping and counting it. */
  strict?: boolean;
  logger?: Logger;
}

export interface CsvSource extends ReadingSource {
  readonly report: CsvLoadReport;
}

/** First index whose value is > x in an ascending array. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function networkOf(table: ReadingTable, tenantId: string, timezone: string): Network {
  const nodes: NodeInfo[] = table.nodes.map((n) => {
    const kind = n.kind ?? 'inlet';
    const districtId = n.district !== undefined ? n.district : kind === 'inlet' ? n.id : null;
    const metrics = METRICS.filter((_, m) => n.metricMask & (1 << m));
    return {
      id: n.id,
      tenantId,
      districtId,
      kind,
      name: n.id,
      latitude: null,
      longitude: null,
      metrics,
      ...(n.feeds ? { feedsDistrictId: n.feeds } : {}),
    };
  });
  const districtIds = [
    ...new Set(nodes.flatMap((n) => [n.districtId, n.feedsDistrictId ?? null]).filter((d) => d !== null)),
  ];
  const districts: DistrictInfo[] = districtIds.map((id) => ({
    id,
    tenantId,
    name: id,
    timezone,
    mainsLengthKm: null,
    connections: null,
    privatePipeKm: null,
    avgPressureM: null,
  }));
  return { tenantId, districts, nodes };
}

function readWindow(table: ReadingTable, window: IngestWindow): ReadingBatch {
  const from = upperBound(table.ingest, window.fromIngestMs);
  const to = upperBound(table.ingest, window.toIngestMs);
  const readings: Reading[] = [];
  let bytes = 0;
  for (let i = from; i < to; i++) {
    const ts = table.ts[i]!;
    if (ts < window.minTsMs) continue;
    const values: Reading['values'] = {};
    table.values.forEach((column, m) => {
      const v = column?.[i];
      if (v !== undefined && !Number.isNaN(v)) values[METRICS[m]!] = v;
    });
    readings.push({ nodeId: table.nodes[table.node[i]!]!.id, ts, ingestedAt: table.ingest[i]!, values });
    bytes += table.bytes[i]!;
  }
  return { readings, bytesProcessed: Math.round(bytes) };
}

/** Loads a CSV file of readings (WIDE or LONG, see above) and serves it as a ReadingSource. */
export async function openCsvSource(path: string, options: CsvSourceOptions = {}): Promise<CsvSource> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new CsvFormatError(
      err.code === 'ENOENT' ? `CSV readings file not found: ${path}` : `${path}: ${err.message}`,
      { cause: err },
    );
  });
  if (!info.isFile()) throw new CsvFormatError(`CSV readings path is not a file: ${path}`);
  const { table, report } = await loadTable(createReadStream(path), path, options.strict ?? false);
  if (report.skippedRows > 0) {
    options.logger?.warn('csv.rows_skipped', {
      path,
      skippedRows: report.skippedRows,
      first: report.skipped,
    });
  }
  const network = networkOf(table, options.tenantId ?? 'default', options.timezone ?? 'Europe/Rome');
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const t of table.ts) {
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const span = table.ts.length > 0 ? { fromMs: min, toMs: max } : undefined;
  return {
    name: `csv:${path}`,
    report,
    network: async () => network,
    readIngested: async (window) => readWindow(table, window),
    span: async () => span,
  };
}
