/**
 * Anomalies of one node, in its batch's transaction (under the node's lock): the detectors of
 * shared/anomaly run on the node's stored history with the batch's new partials laid over it and on the
 * batch's raw readings, the lifecycle advances the node's stored anomalies, and the changes are written
 * back — exactly once, since a batch that is applied already never gets here.
 *
 * When the detectors run: at every cycle boundary (multiples of the cycle length) the batch's data
 * passes, and at its end. A batch that spans several cycles (a backfill, a node catching up after an
 * outage) is judged cycle by cycle as if it had come in time, and the instants depend on the data's
 * clock only, so runs that split the same data differently evaluate at the same instants.
 *
 * What is read (every row counts, ten thousand nodes a cycle): 5-minute partials of the two and a half
 * hours before each instant (each instant sees exactly that window, whatever batch it falls in) —
 * everything a detector looks back at in detail (spikes two hours
 * before the cycle, the baseline two hours, negative flow and water quality half an hour; a node's own
 * burst detector six and a half, so seven for the rare meter outside a district) — and the hourly
 * partials of past weeks around each instant for the seasonal baseline. Two things look further back,
 * and take it from the node's open anomalies instead: a flatline that already runs past the detail
 * window continues the open flatline anomaly (its duration and severity counted from that anomaly's
 * start), and a hole older than that was a silence, reported as such while it lasted (a gap is only
 * reported in the hour after it closes).
 */
import {
  type Anomaly,
  type AnomalyStatus,
  advanceAnomalies,
  type Condition,
  DEFAULT_ANOMALY_CONFIG,
  type DetectorBucket,
  detectNodeConditions,
  type MetricHistory,
  type Transition,
  toBucketSeries,
} from '../../anomaly/index.ts';
import { BUCKET_MS, bucketStart, DAY_MS, HOUR_MS, type PartialRow } from '../../domain/aggregate.ts';
import { METRICS, type Metric, metricIndex, type NodeInfo, type Reading } from '../../domain/readings.ts';
import type { NodeBatchTx, NodeStateSpec } from './store.ts';

const WEEK_MS = 7 * DAY_MS;
const MINUTE_MS = 60_000;
/** At most this many instants per batch (a day of cycles): a weeks-long backfill is judged at its last day. */
export const MAX_INSTANTS_PER_BATCH = 48;
const DETAIL_MS = 2.5 * HOUR_MS;
const BURST_DETAIL_MS = 7 * HOUR_MS;

/** The cycle boundaries strictly inside (fromMs, toMs), and toMs: the last `max` of them. */
export function evaluationInstants(
  fromMs: number,
  toMs: number,
  cycleMs: number,
  max = MAX_INSTANTS_PER_BATCH,
) {
  const out: number[] = [];
  if (Number.isFinite(fromMs)) {
    for (let t = (Math.floor(fromMs / cycleMs) + 1) * cycleMs; t < toMs; t += cycleMs) out.push(t);
  }
  out.push(toMs);
  return out.slice(-max);
}

/** Hours around an instant whose past weeks a detector reads: [t − before, t + after). */
const BASELINE_WINDOWS = {
  // The seasonal baseline: its evaluation points over the last two hours, and two hours either side
  // of them for the scale.
  baseline: { before: 5, after: 3 },
  // The burst detector: the baseline level over its six and a half hours of look-back.
  burst: { before: 8, after: 1 },
  both: { before: 9, after: 4 },
} as const;

/**
 * The hours (bucket starts) of past weeks the seasonal baseline reads around each instant (DST shifts
 * of an hour included), for the baseline-deviation detector, the burst detector, or both.
 */
export function baselineHours(
  instants: readonly number[],
  weeks: number,
  window: keyof typeof BASELINE_WINDOWS = 'baseline',
): number[] {
  const { before, after } = BASELINE_WINDOWS[window];
  const hours = new Set<number>();
  for (const t of instants) {
    for (let h = bucketStart(t, HOUR_MS) - before * HOUR_MS; h < t + after * HOUR_MS; h += HOUR_MS) {
      for (let w = 1; w <= weeks; w++) hours.add(h - w * WEEK_MS);
    }
  }
  return [...hours].sort((a, b) => a - b);
}

/**
 * The node's metrics any detector reads history of (a volume register has none: it is judged on its
 * raw readings only, and the other metrics tell the gaps).
 */
function historyMetrics(node: NodeInfo): Metric[] {
  const cfg = DEFAULT_ANOMALY_CONFIG.kinds[node.kind];
  const used = (m: Metric) =>
    m in cfg.baseline ||
    m in cfg.flatline ||
    m in cfg.spikes ||
    (m === 'flow' && cfg.negativeFlow !== null) ||
    (cfg.waterQuality !== null && (m === 'chlorine' || m === 'turbidity' || m === 'ph')) ||
    (cfg.burst !== null && node.districtId === null && (m === 'flow' || m === 'pressure'));
  const metrics = node.metrics.filter((m) => (METRICS as readonly string[]).includes(m));
  const picked = metrics.filter(used);
  return picked.length > 0 ? picked : metrics.slice(0, 1);
}

export interface NodeAnomalyInput {
  node: NodeInfo;
  /** The batch's raw readings ingested after the watermark. */
  readings: readonly Reading[];
  /** The watermark before the batch and after it (the batch's end). */
  fromMs: number;
  toMs: number;
  /** The node's latest reading time before this batch (null if none). */
  lastReadingMs: number | null;
  cycleMs: number;
}

export interface AnomalyPlan {
  instants: number[];
  /** Start of the 5-minute history read. */
  historyFromMs: number;
  spec: Pick<NodeStateSpec, 'history' | 'anomaliesSinceMs'>;
}

/** Where an instant's 5-minute history starts. */
function historyStart(node: NodeInfo, t: number): number {
  const burst = DEFAULT_ANOMALY_CONFIG.kinds[node.kind].burst !== null && node.districtId === null;
  return bucketStart(t - (burst ? BURST_DETAIL_MS : DETAIL_MS));
}

/** What the node's detectors and lifecycle read for the batch. */
export function anomalyPlan(input: NodeAnomalyInput): AnomalyPlan {
  const { node, cycleMs } = input;
  const cfg = DEFAULT_ANOMALY_CONFIG.kinds[node.kind];
  const instants = evaluationInstants(input.fromMs, input.toMs, cycleMs);
  const first = instants[0]!;
  const last = instants.at(-1)!;
  const burst = cfg.burst !== null && node.districtId === null;
  const historyFromMs = historyStart(node, first);
  const metrics = historyMetrics(node);
  const baselineMetrics = new Set(Object.keys(cfg.baseline) as Metric[]);
  if (burst) for (const m of ['flow', 'pressure'] as const) baselineMetrics.add(m);
  const wanted = [...baselineMetrics].filter((m) => metrics.includes(m));
  const weeks = Math.max(0, ...Object.values(cfg.baseline).map((b) => b?.weeks ?? 0), burst ? 4 : 0);
  return {
    instants,
    historyFromMs,
    spec: {
      history: {
        metrics: metrics.map(metricIndex),
        fromMs: historyFromMs,
        toMs: last,
        baselineMetrics: wanted.map(metricIndex),
        baselineHoursMs: wanted.length > 0 ? baselineHours(instants, weeks, burst ? 'both' : 'baseline') : [],
      },
      anomaliesSinceMs: first - cycleMs,
    },
  };
}

/** Stored rows laid out per metric as the detectors want them. */
export function historiesOf(
  metrics: readonly Metric[],
  fiveMinute: readonly DetectorBucket[],
  baseline: readonly DetectorBucket[],
  fromMs: number,
  toMs: number,
): Partial<Record<Metric, MetricHistory>> {
  const out: Partial<Record<Metric, MetricHistory>> = {};
  let hourStart = Number.POSITIVE_INFINITY;
  let hourEnd = Number.NEGATIVE_INFINITY;
  for (const r of baseline) {
    hourStart = Math.min(hourStart, r.bucketMs);
    hourEnd = Math.max(hourEnd, r.bucketMs + HOUR_MS);
  }
  for (const metric of metrics) {
    const i = metricIndex(metric);
    const hours = baseline.filter((r) => r.metric === i);
    out[metric] = {
      fiveMinute: toBucketSeries(
        fiveMinute.filter((r) => r.metric === i),
        { fromMs, toMs, stepMs: BUCKET_MS },
      ),
      ...(hours.length > 0
        ? { hourly: toBucketSeries(hours, { fromMs: hourStart, toMs: hourEnd, stepMs: HOUR_MS }) }
        : {}),
    };
  }
  return out;
}

const leanOf = (r: PartialRow): DetectorBucket => ({
  metric: metricIndex(r.metric),
  bucketMs: r.bucketMs,
  count: r.count,
  sum: r.sum,
  sumSq: Number.NaN,
  min: r.min,
  max: r.max,
  first: Number.NaN,
  last: r.last,
  lastTs: r.lastTs,
});

function mergeLean(a: DetectorBucket | undefined, b: DetectorBucket): DetectorBucket {
  if (!a || a.count === 0) return b;
  const later = b.lastTs > a.lastTs || (b.lastTs === a.lastTs && b.last > a.last);
  return {
    ...a,
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    last: later ? b.last : a.last,
    lastTs: later ? b.lastTs : a.lastTs,
  };
}

/** The stored 5-minute history with the batch's new partials laid over it (what a read after the merge gives). */
export function withBatch(stored: readonly DetectorBucket[], delta5m: readonly PartialRow[], fromMs: number) {
  // Bucket starts are whole seconds below 2^43: metric × 2^44 + bucket is an exact numeric key.
  const key = (metric: number, bucketMs: number) => metric * 2 ** 44 + bucketMs;
  const rows = new Map(stored.map((r) => [key(r.metric, r.bucketMs), r]));
  for (const row of delta5m) {
    if (row.bucketMs < fromMs) continue;
    const d = leanOf(row);
    const k = key(d.metric, d.bucketMs);
    rows.set(k, mergeLean(rows.get(k), d));
  }
  return [...rows.values()];
}

/**
 * A node's history as seen from one instant: its 5-minute series from `fromMs` on (a view, no copy), so
 * every instant looks back the same length whatever batch it falls in.
 */
function from(history: Partial<Record<Metric, MetricHistory>>, fromMs: number) {
  const out: Partial<Record<Metric, MetricHistory>> = {};
  for (const [metric, h] of Object.entries(history) as [Metric, MetricHistory][]) {
    const s = h.fiveMinute;
    const i = Math.min(s.length, Math.max(0, Math.floor((fromMs - s.startMs) / s.stepMs)));
    const cut = (a: Float64Array) => a.subarray(i);
    out[metric] = {
      ...h,
      fiveMinute: {
        startMs: s.startMs + i * s.stepMs,
        stepMs: s.stepMs,
        length: s.length - i,
        count: cut(s.count),
        sum: cut(s.sum),
        sumSq: cut(s.sumSq),
        min: cut(s.min),
        max: cut(s.max),
        first: cut(s.first),
        last: cut(s.last),
      },
    };
  }
  return out;
}

/** The raw readings each instant judges: those after the previous instant (the first takes late ones too). */
function readingsPerInstant(instants: readonly number[], readings: readonly Reading[]): Reading[][] {
  const out = instants.map(() => [] as Reading[]);
  for (const r of readings) {
    let k = instants.findIndex((t) => r.ts < t);
    if (k < 0) k = instants.length - 1;
    out[k]!.push(r);
  }
  return out;
}

/** A flatline reaching back to the start of the history read continues the open flatline anomaly. */
function continueFlatlines(
  node: NodeInfo,
  conditions: Condition[],
  open: readonly Anomaly[],
  historyFromMs: number,
) {
  return conditions.map((c) => {
    if (c.type !== 'flatline' || c.sinceMs === undefined || c.sinceMs > historyFromMs) return c;
    const before = open.find(
      (a) => a.type === 'flatline' && a.metric === (c.metric ?? null) && a.status !== 'resolved',
    );
    if (!before || before.startMs >= c.sinceMs) return c;
    const cfg = c.metric ? DEFAULT_ANOMALY_CONFIG.kinds[node.kind].flatline[c.metric] : undefined;
    const untilMs = typeof c.evidence.untilMs === 'number' ? c.evidence.untilMs : c.observedAtMs;
    const minutes = Math.round((untilMs - before.startMs) / MINUTE_MS);
    return {
      ...c,
      sinceMs: before.startMs,
      severity: cfg && minutes >= cfg.majorAfterMinutes ? ('major' as const) : c.severity,
      evidence: { ...c.evidence, minutes },
    };
  });
}

export interface JudgedAnomalies {
  transitions: Transition[];
  previous: Map<string, AnomalyStatus>;
  opened: Anomaly[];
}

/** Runs the detectors and the lifecycle at each instant of the batch (pure). */
export function judgeNodeAnomalies(
  input: NodeAnomalyInput,
  plan: AnomalyPlan,
  state: {
    timezone: string;
    fiveMinute: readonly DetectorBucket[];
    baseline: readonly DetectorBucket[];
    anomalies: Anomaly[];
  },
  delta5m: readonly PartialRow[],
): JudgedAnomalies {
  const { node, cycleMs } = input;
  const { instants } = plan;
  const stored = state.anomalies;
  const histories = historiesOf(
    historyMetrics(node),
    withBatch(state.fiveMinute, delta5m, plan.historyFromMs),
    state.baseline,
    plan.historyFromMs,
    instants.at(-1)!,
  );
  const previous = new Map<string, AnomalyStatus>(stored.map((a) => [a.id, a.status]));
  const subject = { tenantId: node.tenantId, nodeId: node.id, districtId: node.districtId };
  const perInstant = readingsPerInstant(instants, input.readings);
  let current: Anomaly[] = stored;
  let latest = input.lastReadingMs ?? Number.NEGATIVE_INFINITY;
  const changed = new Map<string, Anomaly>();
  const opened = new Set<string>();
  const discarded = new Set<string>();
  instants.forEach((t, k) => {
    const readings = perInstant[k]!;
    for (const r of readings) if (r.ts < t && r.ts > latest) latest = r.ts;
    const detected = detectNodeConditions({
      node,
      timezone: state.timezone,
      fromMs: t - cycleMs,
      nowMs: t,
      readings,
      history: from(histories, historyStart(node, t)),
      lastReadingMs: Number.isFinite(latest) ? latest : null,
    });
    const conditions = continueFlatlines(node, detected, current, historyStart(node, t));
    const result = advanceAnomalies(subject, current, conditions, t);
    for (const tr of result.transitions) {
      if (tr.kind === 'discarded') {
        discarded.add(tr.anomaly.id);
        changed.delete(tr.anomaly.id);
        continue;
      }
      changed.set(tr.anomaly.id, tr.anomaly);
      if (tr.kind === 'opened') opened.add(tr.anomaly.id);
    }
    current = result.anomalies;
  });
  const transitions: Transition[] = [
    ...[...discarded]
      .filter((id) => previous.has(id))
      .map((id) => ({ kind: 'discarded' as const, anomaly: stored.find((a) => a.id === id)! })),
    ...[...changed.values()].map((a) => ({
      kind: opened.has(a.id) ? ('opened' as const) : ('updated' as const),
      anomaly: a,
    })),
  ];
  const openedAnomalies = [...opened].flatMap((id) => {
    const a = changed.get(id);
    return a ? [a] : [];
  });
  return { transitions, previous, opened: openedAnomalies };
}

/** Writes the judged changes; returns the anomalies that opened and were written (to log once). */
export async function writeNodeAnomalies(
  tx: Pick<NodeBatchTx, 'writeTransitions'>,
  judged: JudgedAnomalies,
): Promise<Anomaly[]> {
  if (judged.transitions.length === 0) return [];
  const written = await tx.writeTransitions(judged.transitions, judged.previous);
  return judged.opened.filter((a) => written.has(a.id));
}
