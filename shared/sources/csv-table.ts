/**
 * A readings CSV parsed once, streaming, into typed columns (one entry per reading, sorted by ingestion time)
 * rather than one object per reading; bad rows skipped and counted, or thrown with `strict`.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvError, parse } from 'csv-parse';
import { METRICS, NODE_KINDS, type NodeKind } from '../domain/readings.ts';
import { CsvFormatError, type Layout, readHeader } from './csv-layout.ts';
import { parseTimestamp } from './csv-time.ts';

const MAX_EXAMPLES = 20;

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

export interface NodeEntry {
  id: string;
  kind: NodeKind | undefined;
  district: string | null | undefined;
  /** `feeds_district_id`: the district this node supplies when it is not its own. */
  feeds?: string;
  /** Bit i set when METRICS[i] has a value for this node somewhere in the file. */
  metricMask: number;
}

export /** The whole file as columns, one entry per reading, sorted by ingestion time. */
interface ReadingTable {
  nodes: NodeEntry[];
  ts: Float64Array;
  ingest: Float64Array;
  node: Float64Array;
  bytes: Float64Array;
  /** Per METRICS index: the column (NaN = absent), or undefined when the file has no such metric. */
  values: (Float64Array | undefined)[];
}

export async function loadTable(input: Readable, path: string, strict: boolean) {
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
    if (entry.feeds === undefined && l.feedsAt >= 0 && record[l.feedsAt]) entry.feeds = record[l.feedsAt];
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
