/**
 * A batch of pushed readings, parsed and validated row by row: JSON (an array of rows, or
 * `{"readings": [...]}`) or CSV with a header. A row is `nodeId` (or `node_id`), `ts` (or
 * `reading_time` / `timestamp`: ISO 8601 with a zone, or epoch s/ms/µs) and at least one metric of
 * METRICS (a number; null or empty = absent). Every bad row is reported (row index from 0, field,
 * reason) and the good ones go on: a bad row never blocks a good one and is never dropped silently.
 *
 * Values outside PHYSICAL_LIMITS are accepted on purpose: they are a sensor's fault that data quality
 * counts (as for readings that reach BigQuery any other way), not a malformed request.
 */
import { type CsvError, parse } from 'csv-parse/sync';
import { METRICS, type Metric } from '../../domain/readings.ts';
import { parseTimestamp } from '../../sources/csv-time.ts';
import type { PushedReading } from '../../sources/sink.ts';
import { ID_PATTERN } from '../schemas.ts';

export interface RowError {
  /** Index of the row in the batch (0 = the first data row; for CSV the header is not a row). */
  row: number;
  field: string;
  reason: string;
}

export interface ValidRow {
  row: number;
  reading: PushedReading;
}

export interface ParsedBatch {
  total: number;
  valid: ValidRow[];
  errors: RowError[];
}

export interface BatchRules {
  nowMs: number;
  /** Older readings are refused: the cycle reads back only this far (its lateness horizon). */
  maxAgeMs: number;
  /** Readings further ahead than this are refused (a clock running fast). */
  maxAheadMs: number;
  maxRows: number;
}

/** Thrown when the body as a whole cannot be read (the caller answers 400). */
export class BatchFormatError extends Error {
  override name = 'BatchFormatError';
}

const NODE_FIELDS = ['nodeId', 'node_id'];
const TIME_FIELDS = ['ts', 'reading_time', 'timestamp'];
const KNOWN = new Set<string>([...NODE_FIELDS, ...TIME_FIELDS, ...METRICS]);

/** The records of a JSON body: an array of objects, or `{ readings: [...] }`. */
export function jsonRecords(text: string): unknown[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new BatchFormatError(`The body is not valid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object' && Array.isArray((body as { readings?: unknown }).readings)) {
    return (body as { readings: unknown[] }).readings;
  }
  throw new BatchFormatError('The body must be a JSON array of readings (or {"readings": [...]}).');
}

/**
 * The records of a CSV body with a header; a malformed line is a row error, not a failed batch. Rows
 * are numbered as the data lines (0 = the first line after the header), malformed ones included.
 */
export function csvRecords(text: string): { records: unknown[]; errors: RowError[] } {
  // Each data line in file order: its record, or why it could not be read.
  const entries: { line: number; record?: Record<string, string>; reason?: string }[] = [];
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    parsed = parse(text, {
      info: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      skip_records_with_error: true,
      on_skip: (err: CsvError | undefined) => {
        entries.push({
          line: Number(err?.lines ?? 0),
          reason: `malformed CSV: ${err?.message ?? 'unreadable line'}`,
        });
        return undefined;
      },
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    throw new BatchFormatError(`The body is not valid CSV: ${(err as Error).message}`);
  }
  const [head, ...rest] = parsed;
  if (!head) throw new BatchFormatError('The CSV has no header line (node_id,ts,<metrics>…).');
  const header = head.record;
  for (const { record: line, info } of rest) {
    if (line.length !== header.length) {
      entries.push({
        line: info.lines,
        reason: `${line.length} fields where the header has ${header.length}`,
      });
      continue;
    }
    const record: Record<string, string> = {};
    header.forEach((name, i) => {
      if (line[i] !== '') record[name] = line[i]!;
    });
    entries.push({ line: info.lines, record });
  }
  entries.sort((a, b) => a.line - b.line);
  const errors: RowError[] = [];
  entries.forEach((e, row) => {
    if (e.reason) errors.push({ row, field: '', reason: e.reason });
  });
  return { records: entries.map((e) => e.record), errors };
}

const pick = (r: Record<string, unknown>, names: string[]) => {
  for (const n of names) if (r[n] !== undefined) return { name: n, value: r[n] };
  return undefined;
};

/** Validates records into readings and row errors; duplicates (node, metric, time) after the first are errors. */
export function validateRecords(
  records: readonly unknown[],
  rules: BatchRules,
  prior: RowError[] = [],
): ParsedBatch {
  const errors = [...prior];
  const valid: ValidRow[] = [];
  const seen = new Map<string, number>();
  if (records.length > rules.maxRows) {
    throw new BatchFormatError(
      `A batch may hold at most ${rules.maxRows} rows; this one has ${records.length}.`,
    );
  }
  records.forEach((record, row) => {
    if (record === undefined && prior.some((e) => e.row === row)) return; // reported while parsing
    if (!record || typeof record !== 'object' || Array.isArray(record)) {
      errors.push({ row, field: '', reason: 'a reading must be an object' });
      return;
    }
    const r = record as Record<string, unknown>;
    const rowErrors: RowError[] = [];
    const fail = (field: string, reason: string) => rowErrors.push({ row, field, reason });
    for (const k of Object.keys(r))
      if (!KNOWN.has(k)) fail(k, `unknown field (expected nodeId, ts and metrics: ${METRICS.join(', ')})`);

    const node = pick(r, NODE_FIELDS);
    let nodeId = '';
    if (!node) fail('nodeId', 'required');
    else if (typeof node.value !== 'string' || node.value.length > 200 || !ID_PATTERN.test(node.value)) {
      fail(node.name, 'a node id: letters, digits, dot, dash, underscore or colon (at most 200)');
    } else nodeId = node.value;

    const time = pick(r, TIME_FIELDS);
    let ts = Number.NaN;
    if (!time) fail('ts', 'required');
    else {
      ts =
        typeof time.value === 'number' || typeof time.value === 'string'
          ? parseTimestamp(String(time.value))
          : Number.NaN;
      if (Number.isNaN(ts))
        fail(time.name, 'an ISO 8601 time with a zone (e.g. 2026-03-02T10:05:00Z) or epoch seconds/ms');
      else if (ts < rules.nowMs - rules.maxAgeMs) {
        fail(
          time.name,
          `older than ${Math.round(rules.maxAgeMs / 3_600_000)} h: the cycle would never read it`,
        );
      } else if (ts > rules.nowMs + rules.maxAheadMs) fail(time.name, 'in the future');
    }

    const values: Partial<Record<Metric, number>> = {};
    for (const m of METRICS) {
      const v = r[m];
      if (v === undefined || v === null || v === '') continue;
      const n =
        typeof v === 'number'
          ? v
          : typeof v === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v)
            ? Number(v)
            : Number.NaN;
      if (!Number.isFinite(n)) fail(m, 'a finite number');
      else values[m] = n;
    }
    if (
      Object.keys(values).length === 0 &&
      !rowErrors.some((e) => (METRICS as readonly string[]).includes(e.field))
    ) {
      fail('', `no metric: at least one of ${METRICS.join(', ')}`);
    }
    if (rowErrors.length === 0) {
      for (const m of Object.keys(values)) {
        const first = seen.get(`${nodeId}\n${m}\n${ts}`);
        if (first !== undefined) fail(m, `duplicate of row ${first} (same node, metric and time)`);
      }
    }
    if (rowErrors.length > 0) {
      errors.push(...rowErrors);
      return;
    }
    for (const m of Object.keys(values)) seen.set(`${nodeId}\n${m}\n${ts}`, row);
    valid.push({ row, reading: { nodeId, ts, values } });
  });
  errors.sort((a, b) => a.row - b.row);
  return { total: records.length, valid, errors };
}
