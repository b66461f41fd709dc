/**
 * What a readings CSV's header says: WIDE (time, then one flow column per node) or LONG (node, time,
 * optional ingestion time, kind and district, and metric columns), and where each column is.
 */
import { METRICS, type Metric } from '../domain/readings.ts';

export class CsvFormatError extends Error {
  override name = 'CsvFormatError';
}

const TIME_COLUMNS = ['timestamp', 'reading_time', 'ts'];
const NODE_COLUMNS = ['node_id', 'node'];
const DISTRICT_COLUMNS = ['district_id', 'district'];
const FEEDS_COLUMNS = ['feeds_district_id', 'feeds_district'];

export interface Layout {
  shape: 'wide' | 'long';
  width: number;
  timeAt: number;
  nodeAt: number;
  ingestAt: number;
  kindAt: number;
  districtAt: number;
  /** The district a node's water goes to when not its own (an outlet feeding another district); -1: none. */
  feedsAt: number;
  /** Index into METRICS of each value column, and where that column is. */
  metricOf: number[];
  metricAt: number[];
  ignoredColumns: string[];
}

export function readHeader(header: string[], path: string): Layout {
  const lower = header.map((h) => h.toLowerCase());
  const find = (names: string[]) => lower.findIndex((h) => names.includes(h));
  const timeAt = find(TIME_COLUMNS);
  const nodeAt = find(NODE_COLUMNS);
  if (timeAt < 0)
    throw new CsvFormatError(`${path}: no time column (${TIME_COLUMNS.join(', ')}) in the header`);
  const layout = {
    width: header.length,
    timeAt,
    nodeAt,
    ingestAt: -1,
    kindAt: -1,
    districtAt: -1,
    feedsAt: -1,
  };
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
    feedsAt: find(FEEDS_COLUMNS),
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
  const used = new Set([
    timeAt,
    nodeAt,
    long.ingestAt,
    long.kindAt,
    long.districtAt,
    long.feedsAt,
    ...long.metricAt,
  ]);
  return { ...long, ignoredColumns: header.filter((_, i) => !used.has(i)) };
}
