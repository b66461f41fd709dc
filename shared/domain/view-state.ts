/**
 * A node's settled view state: the part of its served views' inputs that only a new day (or a late
 * reading for an earlier day) changes, kept so a refresh reads the day's rows only instead of the 168
 * hours and 30 days of partials behind its windows and 7-day series (about 1,000 rows per node per cycle).
 *
 * For the node's latest reading's UTC day D it holds the hourly rows of [D − 167 h, D) as the 7-day series
 * and forecasts use them (count, sum, min, max), and per daily range (3d, 7d, 30d) each metric's fold of
 * its days before D. A window is that fold merged with today's row: the same merges in the same order as
 * computeWindow over every day, so the served figures are identical (the tests check it).
 */
import {
  DAY_MS,
  emptyPartial,
  HOUR_MS,
  mergeInto,
  type PartialAggregate,
  type PartialRow,
} from './aggregate.ts';
import { METRICS, type Metric } from './readings.ts';
import { encodeSketch, isEncoded, newSketch } from './sketch.ts';
import { lookbackStart, RANGES, SERIES_HOURS, seriesStart } from './windows.ts';

export type DailyRange = '3d' | '7d' | '30d';
export const DAILY_RANGES: readonly DailyRange[] = ['3d', '7d', '30d'];
/** Each metric's fold of a daily range's days before the state's day (metrics in METRICS order). */
export type DayPrefix = Map<Metric, PartialAggregate>;

export interface SettledView {
  /** The UTC day (start, epoch ms) the state is for: valid only while the node's latest reading is in it. */
  dayMs: number;
  /** Hourly rows of [dayMs − 167 h, dayMs), ordered by metric then hour: count, sum, min and max only. */
  hourly: PartialRow[];
  prefixes: Record<DailyRange, DayPrefix>;
}

export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;
/** Where a state's hourly rows start. */
export const settledHoursFrom = (dayMs: number): number => dayMs - (SERIES_HOURS - 1) * HOUR_MS;
/** Where a state's daily rows start (the 30-day window's first day). */
export const settledDaysFrom = (dayMs: number): number => lookbackStart(dayMs, '1d');

const EMPTY_SKETCH = encodeSketch(newSketch());

/** An hourly row as the view read brings hours before the full ones: count, sum, min and max. */
export const lightRow = (
  nodeId: string,
  metric: Metric,
  bucketMs: number,
  count: number,
  sum: number,
  min: number,
  max: number,
): PartialRow => ({
  nodeId,
  metric,
  bucketMs,
  count,
  sum,
  m2: Number.NaN,
  min,
  max,
  firstTs: Number.NaN,
  first: Number.NaN,
  lastTs: Number.NaN,
  last: Number.NaN,
  sketch: EMPTY_SKETCH,
});

/**
 * The settled state of day `dayMs` from the node's stored rows before it: `hourly` its hourly rows of
 * [dayMs − 167 h, dayMs), `daily` its daily rows of [dayMs − 29 d, dayMs), each ordered by metric then
 * bucket (as the view read orders them).
 */
export function settleView(dayMs: number, hourly: PartialRow[], daily: PartialRow[]): SettledView {
  const prefixes = {} as Record<DailyRange, DayPrefix>;
  for (const range of DAILY_RANGES) {
    const fromMs = dayMs - (RANGES[range].buckets - 1) * DAY_MS;
    const folds: DayPrefix = new Map();
    for (const row of daily) {
      if (row.bucketMs < fromMs || row.bucketMs >= dayMs) continue;
      let p = folds.get(row.metric);
      if (!p) {
        p = emptyPartial();
        folds.set(row.metric, p);
      }
      mergeInto(p, row);
    }
    // Stored as bytes: a refresh merges into a copy (mergeInto replaces encoded sketches, never mutates them).
    for (const p of folds.values()) if (!isEncoded(p.sketch)) p.sketch = encodeSketch(p.sketch);
    prefixes[range] = folds;
  }
  const from = settledHoursFrom(dayMs);
  return {
    dayMs,
    hourly: hourly
      .filter((r) => r.bucketMs >= from && r.bucketMs < dayMs)
      .map((r) => lightRow(r.nodeId, r.metric, r.bucketMs, r.count, r.sum, r.min, r.max)),
    prefixes,
  };
}

const metricOrder = (m: Metric) => METRICS.indexOf(m);

/**
 * The hourly rows a full view read gives at `asOfMs` (in the state's day): the state's hours before
 * `fullFromMs` (from the series' start) and `full`, the stored hourly rows from `fullFromMs` on, in the
 * read's order (metric, then hour).
 */
export function hourlyRows(
  state: SettledView,
  asOfMs: number,
  fullFromMs: number,
  full: PartialRow[],
): PartialRow[] {
  const from = seriesStart(asOfMs);
  const light = state.hourly.filter((r) => r.bucketMs >= from && r.bucketMs < fullFromMs);
  const out: PartialRow[] = [];
  let i = 0;
  let j = 0;
  // Both lists are ordered by metric then hour, and every light hour precedes every full one.
  while (i < light.length || j < full.length) {
    const a = light[i];
    const b = full[j];
    if (b === undefined || (a !== undefined && metricOrder(a.metric) <= metricOrder(b.metric))) {
      out.push(a!);
      i++;
    } else {
      out.push(b);
      j++;
    }
  }
  return out;
}
