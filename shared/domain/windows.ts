/**
 * The windows the API serves (1h … 30d), rolled up from stored partials. A window is the last N
 * buckets of one resolution (1h: twelve 5-minute buckets; 6h, 24h: hours; 3d, 7d, 30d: UTC days),
 * ending with the bucket that holds the node's latest reading:
 * bucket-aligned, so every figure can be recomputed exactly from stored rows, and anchored on the
 * data rather than the wall clock, so replays and late deliveries give identical results.
 */
import {
  emptyPartial,
  mergeInto,
  type PartialAggregate,
  type PartialRow,
  RESOLUTIONS,
  type Resolution,
  type Stats,
  summarize,
} from './aggregate.ts';
import { METRICS, type Metric } from './readings.ts';

export const RANGES = {
  '1h': { resolution: '5m', buckets: 12 },
  '6h': { resolution: '1h', buckets: 6 },
  '24h': { resolution: '1h', buckets: 24 },
  '3d': { resolution: '1d', buckets: 3 },
  '7d': { resolution: '1d', buckets: 7 },
  '30d': { resolution: '1d', buckets: 30 },
} as const satisfies Record<string, { resolution: Resolution; buckets: number }>;
export type Range = keyof typeof RANGES;
export const RANGE_NAMES = Object.keys(RANGES) as Range[];

/** How far back each resolution must be read to cover every range. */
export function lookbackStart(asOfMs: number, resolution: Resolution): number {
  const size = RESOLUTIONS[resolution];
  const buckets = Math.max(
    0,
    ...Object.values(RANGES)
      .filter((r) => r.resolution === resolution)
      .map((r) => r.buckets),
  );
  return Math.floor(asOfMs / size) * size - (buckets - 1) * size;
}

export interface WindowMetrics {
  range: Range;
  from: string;
  to: string;
  resolution: Resolution;
  metrics: Partial<Record<Metric, Stats>>;
}

export function windowBounds(range: Range, asOfMs: number): { fromMs: number; toMs: number } {
  const { resolution, buckets } = RANGES[range];
  const size = RESOLUTIONS[resolution];
  const toMs = Math.floor(asOfMs / size) * size + size;
  return { fromMs: toMs - buckets * size, toMs };
}

/**
 * Rolls the stored partials of one node up into one window. `prefix`: each metric's partials of the
 * window's buckets before those in `rowsByResolution` already merged, in bucket order (a node's settled
 * view state): the rows' merges continue from them. Metrics come in METRICS order.
 */
export function computeWindow(
  range: Range,
  asOfMs: number,
  rowsByResolution: Record<Resolution, PartialRow[]>,
  prefix?: ReadonlyMap<Metric, PartialAggregate>,
): WindowMetrics {
  const { resolution } = RANGES[range];
  const { fromMs, toMs } = windowBounds(range, asOfMs);
  // Copies: the merges below change their partials in place (an encoded sketch is replaced, not changed).
  const perMetric = new Map<Metric, PartialAggregate>();
  if (prefix) for (const [metric, p] of prefix) perMetric.set(metric, { ...p });
  for (const row of rowsByResolution[resolution]) {
    if (row.bucketMs < fromMs || row.bucketMs >= toMs) continue;
    let p = perMetric.get(row.metric);
    if (!p) {
      p = emptyPartial();
      perMetric.set(row.metric, p);
    }
    mergeInto(p, row);
  }
  const metrics: Partial<Record<Metric, Stats>> = {};
  for (const metric of METRICS) {
    const p = perMetric.get(metric);
    if (p) metrics[metric] = summarize(p);
  }
  return {
    range,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    resolution,
    metrics,
  };
}

/**
 * What the network figures (the rollup) need of one node's window, as its stored JSON gives them: a
 * number JSON would write as null (NaN, ±Infinity) is null. Kept beside the window's row when it is
 * written, so the rollup reads these numbers, not every window's JSON.
 */
export interface WindowFigureValues {
  reporting: boolean;
  flow_mean: number | null;
  pressure_mean: number | null;
  pressure_min: number | null;
  chlorine_min: number | null;
  turbidity_max: number | null;
}

const finite = (x: number | null | undefined): number | null =>
  typeof x === 'number' && Number.isFinite(x) ? x : null;

export function windowFigures(w: Pick<WindowMetrics, 'metrics'>): WindowFigureValues {
  const m = w.metrics;
  return {
    reporting: Object.values(m).some((s) => (finite(s?.count) ?? 0) > 0),
    flow_mean: finite(m.flow?.mean),
    pressure_mean: finite(m.pressure?.mean),
    pressure_min: finite(m.pressure?.min),
    chlorine_min: finite(m.chlorine?.min),
    turbidity_max: finite(m.turbidity?.max),
  };
}

export interface TimeseriesPoint {
  t: string;
  count: number;
  mean: number | null;
  min: number | null;
  max: number | null;
}

const HOUR = RESOLUTIONS['1h'];
/** The hourly points of the `timeseries:7d` hot key: the last 168 hours. */
export const SERIES_HOURS = 168;
export const seriesStart = (asOfMs: number): number =>
  Math.floor(asOfMs / HOUR) * HOUR - (SERIES_HOURS - 1) * HOUR;

/**
 * Hour starts as ISO text, remembered: every node's series names the same 168 hours (hourlySeries'
 * own time, mostly this formatting, was 2.6 % of the aggregator's busy time in bench:cycle's profile
 * with 22 days of history). Bounded: cleared past 4,096 hours.
 */
const hourText = new Map<number, string>();
function isoHour(ms: number): string {
  let t = hourText.get(ms);
  if (t === undefined) {
    if (hourText.size >= 4096) hourText.clear();
    t = new Date(ms).toISOString();
    hourText.set(ms, t);
  }
  return t;
}

/** Hourly points of the last 7 days per metric (the `timeseries:7d` hot key). */
export function hourlySeries(
  asOfMs: number,
  hourly: PartialRow[],
): Partial<Record<Metric, TimeseriesPoint[]>> {
  const fromMs = seriesStart(asOfMs);
  const toMs = fromMs + SERIES_HOURS * HOUR;
  const out: Partial<Record<Metric, TimeseriesPoint[]>> = {};
  for (const row of hourly) {
    if (row.bucketMs < fromMs || row.bucketMs >= toMs) continue;
    // No quantiles here: skip summarize() and its sketch decoding.
    const points = out[row.metric] ?? [];
    const empty = row.count === 0;
    points.push({
      t: isoHour(row.bucketMs),
      count: row.count,
      mean: empty ? null : row.sum / row.count,
      min: empty ? null : row.min,
      max: empty ? null : row.max,
    });
    out[row.metric] = points;
  }
  for (const points of Object.values(out) as TimeseriesPoint[][])
    points.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  return out;
}
