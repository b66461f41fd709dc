/**
 * Replays a district's history through the detectors and the lifecycle the way the aggregator runs them:
 * every `cycleMs` (30 minutes), each node gets the raw readings of the cycle and its 5-minute history up to
 * the cycle's end; the district gets its inlets, outlets and pressure points, through the rollup's own
 * per-instant code (`advanceDistrictInstant`: second leaks superseding, past leaks' hours out of the
 * pressure model, resolved anomalies re-opened). Used by `eval:anomalies` and its floor test. Late data is
 * not modelled: every reading is there by the end of its cycle.
 */

import { type AnomalyConfig, DEFAULT_ANOMALY_CONFIG } from '../../shared/anomaly/config.ts';
import { detectNodeConditions } from '../../shared/anomaly/detect.ts';
import { advanceDistrictInstant, pressureExcludedSpans } from '../../shared/anomaly/district-instant.ts';
import {
  type Anomaly,
  type AnomalySubject,
  advanceAnomalies,
  DEFAULT_LIFECYCLE,
  type LifecycleConfig,
  reopenLookbackMs,
  type Transition,
} from '../../shared/anomaly/lifecycle.ts';
import { DEFAULT_NIGHT_FLOW, netInflow, nightlyMinimumFlows } from '../../shared/anomaly/night-flow.ts';
import {
  emptySeries,
  FIVE_MINUTES_MS,
  HOUR_MS,
  MINUTE_MS,
  rollUpSeries,
} from '../../shared/anomaly/series.ts';
import type { BucketSeries, DistrictNodeSeries, MetricHistory } from '../../shared/anomaly/types.ts';
import { type Metric, type NodeInfo, PHYSICAL_LIMITS, type Reading } from '../../shared/domain/readings.ts';

/** One node's raw rows, in time order (a repeated `ts` is a duplicate delivery). NaN is a missing value. */
export interface RawNode {
  info: NodeInfo;
  ts: Float64Array;
  values: Partial<Record<Metric, Float64Array>>;
}

export interface ReplayDistrict {
  id: string;
  timezone: string;
  nodes: readonly RawNode[];
}

/** An anomaly that opened during the replay (pending ones that never opened are not detections). */
export type Detection = Pick<
  Anomaly,
  | 'id'
  | 'type'
  | 'metric'
  | 'nodeId'
  | 'districtId'
  | 'firstSeenMs'
  | 'lastSeenMs'
  | 'peakSeverity'
  | 'evidence'
> & { openedAtMs: number; endMs: number | null };

export interface ReplayOptions {
  cycleMs?: number;
  /** History bucket size: 5 minutes, or the data's own resolution when it is coarser (hourly files). */
  bucketMs?: number;
  config?: AnomalyConfig;
  lifecycle?: LifecycleConfig;
}

const isImpossible = (v: number, metric: Metric): boolean => {
  const [lo, hi] = PHYSICAL_LIMITS[metric];
  return !Number.isFinite(v) || v < lo || v > hi;
};

/** A metric's buckets over [fromMs, toMs) from raw rows, after cleaning (missing, impossible, duplicates dropped). */
export function bucketsOf(
  node: RawNode,
  metric: Metric,
  fromMs: number,
  toMs: number,
  bucketMs: number = FIVE_MINUTES_MS,
): BucketSeries {
  const s = emptySeries(fromMs, bucketMs, Math.ceil((toMs - fromMs) / bucketMs));
  const col = node.values[metric];
  if (!col) return s;
  let prevTs = Number.NaN;
  for (let r = 0; r < node.ts.length; r++) {
    const t = node.ts[r]!;
    const v = col[r]!;
    if (t === prevTs || t < fromMs || t >= toMs) continue;
    prevTs = t;
    if (Number.isNaN(v) || isImpossible(v, metric)) continue;
    const i = Math.floor((t - fromMs) / bucketMs);
    if (s.count[i] === 0) {
      s.min[i] = v;
      s.max[i] = v;
      s.first[i] = v;
    } else {
      if (v < s.min[i]!) s.min[i] = v;
      if (v > s.max[i]!) s.max[i] = v;
    }
    s.count[i]! += 1;
    s.sum[i]! += v;
    s.sumSq[i]! += v * v;
    s.last[i] = v;
  }
  return s;
}

function historiesOf(
  node: RawNode,
  fromMs: number,
  toMs: number,
  bucketMs: number,
): Partial<Record<Metric, MetricHistory>> {
  const out: Partial<Record<Metric, MetricHistory>> = {};
  for (const metric of node.info.metrics) {
    if (!node.values[metric]) continue;
    const fiveMinute = bucketsOf(node, metric, fromMs, toMs, bucketMs);
    out[metric] = { fiveMinute, hourly: rollUpSeries(fiveMinute, HOUR_MS) };
  }
  return out;
}

/** Raw readings in rows [a, b) as Reading objects; NaN (a missing value) becomes null. */
function readingsOf(node: RawNode, a: number, b: number): Reading[] {
  const metrics = Object.keys(node.values) as Metric[];
  const out: Reading[] = [];
  for (let r = a; r < b; r++) {
    const values: Reading['values'] = {};
    for (const m of metrics) {
      const v = node.values[m]![r]!;
      values[m] = Number.isNaN(v) ? null : v;
    }
    out.push({ nodeId: node.info.id, ts: node.ts[r]!, ingestedAt: node.ts[r]!, values });
  }
  return out;
}

/**
 * Tracks one subject's anomalies through the lifecycle and keeps every one that opened. Resolved ones stay
 * as long as the lifecycle may re-open them, as the cycle reads them back; past pressure leaks' spans are
 * kept apart (the rollup reads them for the pressure model's reference).
 */
class Tracker {
  state: Anomaly[] = [];
  readonly opened = new Map<string, Anomaly>();
  readonly pastPressureLeaks: Anomaly[] = [];
  readonly subject: AnomalySubject;
  private readonly lifecycle: LifecycleConfig;

  constructor(subject: AnomalySubject, lifecycle: LifecycleConfig) {
    this.subject = subject;
    this.lifecycle = lifecycle;
  }

  advance(conditions: Parameters<typeof advanceAnomalies>[2], nowMs: number): void {
    const { anomalies, transitions } = advanceAnomalies(
      this.subject,
      this.state,
      conditions,
      nowMs,
      this.lifecycle,
    );
    this.apply(anomalies, transitions, nowMs);
  }

  apply(anomalies: Anomaly[], transitions: readonly Transition[], nowMs: number): void {
    for (const t of transitions) {
      if (t.anomaly.openedAtMs !== null) this.opened.set(t.anomaly.id, t.anomaly);
      if (t.kind === 'resolved' && t.anomaly.type === 'pressure_residual')
        this.pastPressureLeaks.push(t.anomaly);
    }
    const keepFrom = nowMs - reopenLookbackMs(this.lifecycle);
    this.state = anomalies.filter((a) => a.status !== 'resolved' || a.lastSeenMs >= keepFrom);
  }
}

const toDetection = (a: Anomaly): Detection => ({
  id: a.id,
  type: a.type,
  metric: a.metric,
  nodeId: a.nodeId,
  districtId: a.districtId,
  firstSeenMs: a.firstSeenMs,
  lastSeenMs: a.lastSeenMs,
  peakSeverity: a.peakSeverity,
  evidence: a.evidence,
  openedAtMs: a.openedAtMs!,
  endMs: a.endMs,
});

/**
 * Runs cycles ending at `evalFromMs + cycleMs`, … `evalToMs`, using the rows from `historyFromMs` on as
 * history (the baseline needs weeks of it). Returns every anomaly that opened.
 */
export function replayDistrict(
  district: ReplayDistrict,
  historyFromMs: number,
  evalFromMs: number,
  evalToMs: number,
  options: ReplayOptions = {},
): Detection[] {
  const cycleMs = options.cycleMs ?? 30 * MINUTE_MS;
  const config = options.config ?? DEFAULT_ANOMALY_CONFIG;
  const lifecycle = options.lifecycle ?? DEFAULT_LIFECYCLE;
  const tz = district.timezone;
  const nodes = district.nodes.map((n) => ({
    raw: n,
    history: historiesOf(n, historyFromMs, evalToMs, options.bucketMs ?? FIVE_MINUTES_MS),
    tracker: new Tracker(
      { tenantId: n.info.tenantId, nodeId: n.info.id, districtId: district.id },
      lifecycle,
    ),
    row: 0,
  }));
  const series = (kind: NodeInfo['kind']): DistrictNodeSeries[] =>
    nodes
      .filter((n) => n.raw.info.kind === kind)
      .map((n) => ({
        nodeId: n.raw.info.id,
        ...(n.history.flow ? { flow: n.history.flow } : {}),
        ...(n.history.pressure ? { pressure: n.history.pressure } : {}),
      }));
  const inlets = series('inlet');
  const outlets = series('outlet');
  const pressurePoints = series('pressure');
  const tanks = series('tank');
  // The pressure-residual detector's hourly means, as the rollup reads them from agg_1h (hours before `now` only).
  const pressureHourly = pressurePoints.flatMap((n) =>
    n.pressure ? [{ nodeId: n.nodeId, hourly: rollUpSeries(n.pressure.fiveMinute, HOUR_MS) }] : [],
  );
  const tenantId = district.nodes[0]?.info.tenantId ?? 'default';
  // The rollup reads resolved pressure anomalies last seen within the model's reference and lag.
  const model = config.district.pressureModel;
  const pressureLookbackMs = model ? (model.referenceHours + model.lagHours + 1) * HOUR_MS : 0;
  const districtTracker = new Tracker({ tenantId, nodeId: null, districtId: district.id }, lifecycle);
  // Nights depend only on data before their end: computed once, each cycle uses those already over.
  const net = netInflow(
    inlets.flatMap((n) => (n.flow ? [n.flow.fiveMinute] : [])),
    outlets.flatMap((n) => (n.flow ? [n.flow.fiveMinute] : [])),
  );
  const nights = net
    ? nightlyMinimumFlows(net, tz, historyFromMs, evalToMs, config.district.nightFlow ?? DEFAULT_NIGHT_FLOW)
    : [];

  for (let now = evalFromMs + cycleMs; now <= evalToMs; now += cycleMs) {
    const from = now - cycleMs;
    for (const n of nodes) {
      const ts = n.raw.ts;
      while (n.row < ts.length && ts[n.row]! < from) n.row++;
      let end = n.row;
      while (end < ts.length && ts[end]! < now) end++;
      const lastReadingMs = end > 0 && ts[end - 1]! >= historyFromMs ? ts[end - 1]! : null;
      const conditions = detectNodeConditions(
        {
          node: n.raw.info,
          timezone: tz,
          fromMs: from,
          nowMs: now,
          readings: readingsOf(n.raw, n.row, end),
          history: n.history,
          lastReadingMs,
        },
        config,
      );
      n.tracker.advance(conditions, now);
    }
    const { anomalies, transitions } = advanceDistrictInstant(
      districtTracker.subject,
      districtTracker.state,
      now,
      {
        input: {
          districtId: district.id,
          timezone: tz,
          inlets,
          outlets,
          pressurePoints,
          tanks,
          pressureHourly,
        },
        nights,
        cycleMs,
        // As the rollup reads them: the past leaks resolved before this run (here, this cycle).
        excluded: pressureExcludedSpans(
          districtTracker.pastPressureLeaks.filter((a) => a.lastSeenMs >= now - pressureLookbackMs),
        ),
      },
      config,
      lifecycle,
    );
    districtTracker.apply(anomalies, transitions, now);
  }
  return [...nodes.map((n) => n.tracker), districtTracker].flatMap((t) =>
    [...t.opened.values()].map(toDetection),
  );
}
