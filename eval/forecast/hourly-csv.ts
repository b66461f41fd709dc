/**
 * A minimal reader for wide hourly CSV files such as the BWDF ones: a `timestamp` column (ISO 8601, on the hour)
 * then one numeric column per series. Empty cells and missing hours become NaN (gaps stay gaps, never zeros).
 * No quoting support: these files have none. The platform's real CSV source lives in shared/sources.
 */
import { HOUR_MS, type HourlySeries } from '../../shared/forecast/types.ts';

export interface HourlyTable {
  startMs: number;
  length: number;
  columns: Map<string, Float64Array>;
}

export function parseHourlyCsv(text: string): HourlyTable {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  if (header[0] !== 'timestamp') throw new Error('hourly CSV: the first column must be "timestamp"');
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    const ms = Date.parse(cells[0]!.trim());
    if (Number.isNaN(ms) || ms % HOUR_MS !== 0) {
      throw new Error(`hourly CSV line ${i + 2}: "${cells[0]}" is not a timestamp on the hour`);
    }
    return { ms, cells };
  });
  if (rows.length === 0) {
    return { startMs: 0, length: 0, columns: new Map(header.slice(1).map((h) => [h, new Float64Array(0)])) };
  }
  let startMs = rows[0]!.ms;
  let endMs = startMs;
  for (const r of rows) {
    if (r.ms < startMs) startMs = r.ms;
    if (r.ms > endMs) endMs = r.ms;
  }
  const length = (endMs - startMs) / HOUR_MS + 1;
  const columns = new Map<string, Float64Array>();
  for (let c = 1; c < header.length; c++) {
    const values = new Float64Array(length).fill(Number.NaN);
    for (const r of rows) {
      const cell = r.cells[c]?.trim() ?? '';
      values[(r.ms - startMs) / HOUR_MS] = cell === '' ? Number.NaN : Number(cell);
    }
    columns.set(header[c]!, values);
  }
  return { startMs, length, columns };
}

export function tableSeries(table: HourlyTable, column: string): HourlySeries {
  const values = table.columns.get(column);
  if (!values)
    throw new Error(`hourly CSV has no column "${column}"; it has ${[...table.columns.keys()].join(', ')}`);
  return { startMs: table.startMs, values };
}
