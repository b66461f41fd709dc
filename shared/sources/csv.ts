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
 *   a district column, inlet nodes are their own district and other nodes have none.
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
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvError, parse } from 'csv-parse';
import {
  type DistrictInfo,
  METRICS,
  type Metric,
  type Network,
  NODE_KINDS,
  type NodeInfo,
  type NodeKind,
  type Reading,
} from '../domain/readings.ts';
import type { Logger } from '../log.ts';
import type { IngestWindow, ReadingBatch, ReadingSource } from './source.ts';

export interface CsvSourceOptions {
  tenantId?: string;
  /** IANA zone of every district (default Europe/Rome, BWDF's). */
  timezone?: string;
  /** Throw at the first bad row instead of skipping and counting it. */
  strict?: boolean;
  logger?: Logger;
}

export interface CsvLoadReport {
  shape: 'wide' | 'long';
  /** Data records read, header excluded (bad ones included). */
  rows: number;
  readings: number;
  skippedRows: number;
  /** The first skipped rows (at most 20), with 1-based line numbers. */
  skipped: { line: number; reason: string }[];
  /** Columns of a LONG file that mean nothing here and were not read. */
  ignoredColumns: string[];
}

export interface CsvSource extends ReadingSource {
  readonly report: CsvLoadReport;
}

export class CsvFormatError extends Error {
  override name = 'CsvFormatError';
}

const TIME_COLUMNS = ['timestamp', 'reading_time', 'ts'];
const NODE_COLUMNS = ['node_id', 'node'];
const DISTRICT_COLUMNS = ['district_id', 'district'];
const MAX_EXAMPLES = 20;

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)$/i;
const EPOCH = /^\d+(\.\d+)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysIn = (y: number, mo: number) =>
  mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : DAYS_IN_MONTH[mo - 1]!;

/** Epoch ms of an ISO 8601 time with a zone, or of an epoch number; NaN when it is neither. */
export function parseTimestamp(text: string): number {
  const m = ISO_TIME.exec(text);
  if (m) {
    // Called once or twice per row of files with millions of rows: no intermediate arrays or Dates.
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    const h = Number(m[4]);
    const mi = Number(m[5]);
    const s = m[6] === undefined ? 0 : Number(m[6]);
    if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return Number.NaN;
    const frac = m[7];
    const ms = frac === undefined ? 0 : Number(frac.length >= 3 ? frac.slice(0, 3) : frac.padEnd(3, '0'));
    const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
    const zone = m[8]!;
    if (zone[0] !== '+' && zone[0] !== '-') return t; // Z or UTC
    const offsetMs =
      (Number(zone.slice(1, 3)) * 60 + (zone.length > 3 ? Number(zone.slice(-2)) : 0)) * 60_000;
    return zone[0] === '-' ? t + offsetMs : t - offsetMs;
  }
  if (EPOCH.test(text)) {
    const n = Number(text);
    return Math.round(n < 1e11 ? n * 1000 : n < 1e14 ? n : n / 1000);
  }
  return Number.NaN;
}

/** A Float64Array that grows by doubling while the file is parsed. */
class Column {
  data = new Float64Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  /** The values in `order` (a permutation of indices), or as they are. */
  done(order?: Uint32Array): Float64Array {
    if (!order) return this.data.slice(0, this.length);
    const out = new Float64Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = this.data[order[i]!]!;
    return out;
  }
}

interface NodeEntry {
  id: string;
  kind: NodeKind | undefined;
  district: string | null | undefined;
  /** Bit i set when METRICS[i] has a value for this node somewhere in the file. */
  metricMask: number;
}

interface Layout {
  shape: 'wide' | 'long';
  width: number;
  timeAt: number;
  nodeAt: number;
  ingestAt: number;
  kindAt: number;
  districtAt: number;
  /** Index into METRICS of each value column, and where that column is. */
  metricOf: number[];
  metricAt: number[];
  ignoredColumns: string[];
}

function readHeader(header: string[], path: string): Layout {
  const lower = header.map((h) => h.toLowerCase());
  const find = (names: string[]) => lower.findIndex((h) => names.includes(h));
  const timeAt = find(TIME_COLUMNS);
  const nodeAt = find(NODE_COLUMNS);
  if (timeAt < 0)
    throw new CsvFormatError(`${path}: no time column (${TIME_COLUMNS.join(', ')}) in the header`);
  const layout = { width: header.length, timeAt, nodeAt, ingestAt: -1, kindAt: -1, districtAt: -1 };
  if (nodeAt < 0) {
    const nodes = header.slice(1);
    if (timeAt !== 0 || nodes.length === 0) {
      throw new CsvFormatError(`${path}: a wide file has the time column first, then one column per node`);
    }
    const bad = nodes.find((n, i) => n === '' || nodes.indexOf(n) !== i);
    if (bad !== undefined) throw new CsvFormatError(`${path}: node column "${bad}" is empty or repeated`);
    const flow = METRICS.indexOf('flow');
    return {
      ...layout,
      shape: 'wide',
      metricOf: nodes.map(() => flow),
      metricAt: nodes.map((_, i) => i + 1),
      ignoredColumns: [],
    };
  }
  const long = {
    ...layout,
    shape: 'long' as const,
    ingestAt: lower.indexOf('ingestion_time'),
    kindAt: lower.indexOf('kind'),
    districtAt: find(DISTRICT_COLUMNS),
    metricOf: [] as number[],
    metricAt: [] as number[],
  };
  lower.forEach((h, i) => {
    const m = METRICS.indexOf(h as Metric);
    if (m >= 0 && !long.metricOf.includes(m)) {
      long.metricOf.push(m);
      long.metricAt.push(i);
    }
  });
  if (long.metricOf.length === 0) {
    throw new CsvFormatError(`${path}: a long file needs a metric column (${METRICS.join(', ')})`);
  }
  const used = new Set([timeAt, nodeAt, long.ingestAt, long.kindAt, long.districtAt, ...long.metricAt]);
  return { ...long, ignoredColumns: header.filter((_, i) => !used.has(i)) };
}

/** The whole file as columns, one entry per reading, sorted by ingestion time. */
interface ReadingTable {
  nodes: NodeEntry[];
  ts: Float64Array;
  ingest: Float64Array;
  node: Float64Array;
  bytes: Float64Array;
  /** Per METRICS index: the column (NaN = absent), or undefined when the file has no such metric. */
  values: (Float64Array | undefined)[];
}

async function loadTable(input: Readable, path: string, strict: boolean) {
  let layout: Layout | undefined;
  const nodes: NodeEntry[] = [];
  const nodeIndex = new Map<string, number>();
  const ts = new Column();
  const ingest = new Column();
  const node = new Column();
  const bytes = new Column();
  let values: (Column | undefined)[] = [];
  const report: CsvLoadReport = {
    shape: 'wide',
    rows: 0,
    readings: 0,
    skippedRows: 0,
    skipped: [],
    ignoredColumns: [],
  };
  let sorted = true;
  let bytesSeen = 0;
  let lastSkipped = -1;
  const rowValues = new Float64Array(METRICS.length);

  const skip = (line: number, reason: string) => {
    if (strict) throw new CsvFormatError(`${path}:${line}: ${reason}`);
    report.skippedRows += 1;
    if (report.skipped.length < MAX_EXAMPLES) report.skipped.push({ line, reason });
    lastSkipped = line;
  };
  const nodeOf = (id: string): number => {
    let index = nodeIndex.get(id);
    if (index === undefined) {
      index = nodes.push({ id, kind: undefined, district: undefined, metricMask: 0 }) - 1;
      nodeIndex.set(id, index);
    }
    return index;
  };
  const push = (nodeAt: number, t: number, ingestedAt: number, share: number) => {
    if (ingest.length > 0 && ingestedAt < ingest.data[ingest.length - 1]!) sorted = false;
    ts.push(t);
    ingest.push(ingestedAt);
    node.push(nodeAt);
    bytes.push(share);
    const entry = nodes[nodeAt]!;
    for (let m = 0; m < METRICS.length; m++) {
      const v = rowValues[m]!;
      values[m]?.push(v);
      if (!Number.isNaN(v)) entry.metricMask |= 1 << m;
    }
    report.readings += 1;
  };

  // Stores the row's readings, or returns why the row is bad (then nothing of it is stored).
  const addRow = (record: string[], lineBytes: number, l: Layout): string | undefined => {
    if (record.length !== l.width) return `expected ${l.width} fields, found ${record.length}`;
    const t = parseTimestamp(record[l.timeAt]!);
    if (Number.isNaN(t)) return `bad time "${record[l.timeAt]}"`;
    rowValues.fill(Number.NaN);
    if (l.shape === 'wide') {
      const present: number[] = [];
      for (let k = 0; k < l.metricAt.length; k++) {
        const cell = record[l.metricAt[k]!]!;
        if (cell === '') continue;
        if (!Number.isFinite(Number(cell))) return `bad value "${cell}" for node ${nodes[k]!.id}`;
        present.push(k);
      }
      for (const k of present) {
        rowValues[l.metricOf[k]!] = Number(record[l.metricAt[k]!]);
        push(k, t, t, lineBytes / present.length);
      }
      return undefined;
    }
    const id = record[l.nodeAt]!;
    if (id === '') return 'empty node id';
    const ingestText = l.ingestAt >= 0 ? record[l.ingestAt]! : '';
    const ingestedAt = ingestText === '' ? t : parseTimestamp(ingestText);
    if (Number.isNaN(ingestedAt)) return `bad ingestion time "${ingestText}"`;
    const kind = l.kindAt >= 0 ? record[l.kindAt]! : '';
    if (kind !== '' && !NODE_KINDS.includes(kind as NodeKind)) return `unknown kind "${kind}"`;
    for (let k = 0; k < l.metricAt.length; k++) {
      const cell = record[l.metricAt[k]!]!;
      if (cell === '') continue;
      const v = Number(cell);
      if (!Number.isFinite(v)) return `bad ${METRICS[l.metricOf[k]!]} "${cell}"`;
      rowValues[l.metricOf[k]!] = v;
    }
    const at = nodeOf(id);
    const entry = nodes[at]!;
    if (entry.kind === undefined && kind !== '') entry.kind = kind as NodeKind;
    if (entry.district === undefined && l.districtAt >= 0) entry.district = record[l.districtAt] || undefined;
    push(at, t, ingestedAt, lineBytes);
    return undefined;
  };

  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    skip_records_with_error: !strict,
    on_skip: (err: CsvError | undefined) => {
      // Broken quoting can raise two errors for one line (bad closing quote, then unclosed quote).
      const line = (err as { lines?: number } | undefined)?.lines ?? 0;
      if (line === lastSkipped) return undefined;
      report.rows += 1;
      skip(line, err?.message ?? 'unreadable row');
      return undefined;
    },
    on_record: (record: string[], info) => {
      const lineBytes = info.bytes - bytesSeen;
      bytesSeen = info.bytes;
      if (!layout) {
        layout = readHeader(record, path);
        report.shape = layout.shape;
        report.ignoredColumns = layout.ignoredColumns;
        values = METRICS.map((_, m) => (layout!.metricOf.includes(m) ? new Column() : undefined));
        // A wide column is a flow meter even if the file never has a value for it.
        const flowBit = 1 << METRICS.indexOf('flow');
        if (layout.shape === 'wide')
          for (const id of record.slice(1)) nodes[nodeOf(id)]!.metricMask = flowBit;
        return null;
      }
      report.rows += 1;
      const problem = addRow(record, lineBytes, layout);
      if (problem) skip(info.lines, problem);
      return null;
    },
  });
  try {
    await pipeline(input, parser, async (records: AsyncIterable<unknown>) => {
      // Every record is consumed by on_record; draining keeps the parser flowing to the end.
      for await (const _ of records);
    });
  } catch (err) {
    if (err instanceof CsvFormatError) throw err;
    throw new CsvFormatError(`${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!layout) throw new CsvFormatError(`${path}: the file is empty (no header)`);

  let order: Uint32Array | undefined;
  if (!sorted) {
    const ingestedAt = ingest.data;
    order = new Uint32Array(ingest.length).map((_, i) => i);
    order.sort((a, b) => ingestedAt[a]! - ingestedAt[b]! || a - b);
  }
  const table: ReadingTable = {
    nodes,
    ts: ts.done(order),
    ingest: ingest.done(order),
    node: node.done(order),
    bytes: bytes.done(order),
    values: values.map((column) => column?.done(order)),
  };
  return { table, report };
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
    return { id: n.id, tenantId, districtId, kind, name: n.id, latitude: null, longitude: null, metrics };
  });
  const districtIds = [...new Set(nodes.map((n) => n.districtId).filter((d) => d !== null))];
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
