/**
 * Injected events and their ground truth. Events are scheduled per target (a district or a node), per
 * event type and per week: the number of events starting in week w is a Poisson draw of hash(seed,
 * target, type, w), and each event's start, length and size are further hashes. Any window can thus
 * list its events without generating history: it looks back by the type's longest duration. The types
 * themselves, their default rates and durations: event-types.ts.
 */
import { type Metric, type NodeKind, PHYSICAL_LIMITS } from '../domain/readings.ts';
import { HOUR_MS, MINUTE_MS, WEEK_MS } from './calendar.ts';
import {
  DISTRICT_EVENT_TYPES,
  EVENT_TYPES,
  type EventRates,
  NODE_EVENT_TYPES,
  type SimEvent,
  type SimEventType,
  SPECS,
  type TypeSpec,
  weekOf,
  weekStartMs,
} from './event-types.ts';
import { at, keyOf, unit } from './hash.ts';
import type { DistrictModel, NetworkModel, NodeModel } from './network.ts';

/** Metrics a flatline may freeze (a pump's flow is not one: its zero when off must stay unambiguous). */
const FLATLINE_METRICS: Record<NodeKind, readonly Metric[]> = {
  inlet: ['flow', 'pressure'],
  outlet: ['flow', 'pressure'],
  pressure: ['pressure'],
  tank: ['pressure', 'flow'],
  quality: ['chlorine', 'turbidity', 'ph'],
  customer: ['flow'],
  pump: ['pressure'],
};

/** Smallest k with u < P(X ≤ k) for X ~ Poisson(λ), capped. */
function poisson(u: number, lambda: number): number {
  if (lambda <= 0) return 0;
  let p = Math.exp(-lambda);
  let c = p;
  let k = 0;
  while (u >= c && k < 12) {
    k++;
    p *= lambda / k;
    c += p;
  }
  return k;
}

const typeCode = (t: SimEventType) => EVENT_TYPES.indexOf(t);
const roundTo = (x: number, decimals: number) => Math.round(x * 10 ** decimals) / 10 ** decimals;

/** Decimal places readings carry per metric (volume registers read to the litre). */
export const METRIC_DECIMALS: Record<Metric, number> = {
  flow: 3,
  pressure: 3,
  temperature: 2,
  volume: 3,
  chlorine: 3,
  turbidity: 3,
  ph: 2,
};

/** A value as the node reports it: rounded to the metric's resolution. */
export const roundMetric = (metric: Metric, v: number): number => roundTo(v, METRIC_DECIMALS[metric]);

/** The value a node's sensor would report at t without sensor faults (for flatline and spike levels). */
export type NaturalValue = (node: NodeModel, metric: Metric, t: number) => number;

export class EventSchedule {
  private readonly weekTotals = new Map<number, Float64Array>();
  private readonly volumeCache = new Map<string, number>();
  private readonly scheduledCache = new Map<string, readonly SimEvent[]>();

  private readonly model: NetworkModel;
  readonly rates: EventRates;
  private readonly natural: NaturalValue;

  constructor(model: NetworkModel, rates: EventRates, natural: NaturalValue) {
    this.model = model;
    this.rates = rates;
    this.natural = natural;
  }

  /** Every event overlapping [fromMs, toMs), sorted by start then id. */
  all(fromMs: number, toMs: number): SimEvent[] {
    const out: SimEvent[] = [];
    for (const d of this.model.districts) out.push(...this.forDistrict(d, fromMs, toMs));
    for (const n of this.model.nodes) out.push(...this.forNode(n, fromMs, toMs));
    return out.sort((a, b) => a.startMs - b.startMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Leaks and bursts of a district overlapping [fromMs, toMs). */
  forDistrict(d: DistrictModel, fromMs: number, toMs: number): SimEvent[] {
    const out: SimEvent[] = [];
    for (let w = weekOf(fromMs - SPECS.leak.maxMs); w <= weekOf(toMs - 1); w++) {
      for (const e of this.scheduledIn(d, w)) if (e.startMs < toMs && e.endMs > fromMs) out.push(e);
    }
    return out;
  }

  /** Node-level events (sensor faults, quality events) of a node overlapping [fromMs, toMs). */
  forNode(
    node: NodeModel,
    fromMs: number,
    toMs: number,
    types: readonly SimEventType[] = NODE_EVENT_TYPES,
  ): SimEvent[] {
    const out: SimEvent[] = [];
    for (const type of types) {
      const spec = SPECS[type];
      const rate = this.rates[type];
      if (rate <= 0 || (spec.kinds !== 'all' && !spec.kinds.includes(node.kind))) continue;
      const key = keyOf(node.key, 300 + typeCode(type));
      for (let w = weekOf(fromMs - spec.maxMs); w <= weekOf(toMs - 1); w++) {
        const count = poisson(unit(at(key, w)), rate);
        for (let j = 0; j < count; j++) {
          const ek = keyOf(key, w, j);
          const [startMs, endMs] = this.span(spec, ek, w);
          if (startMs >= toMs || endMs <= fromMs) continue;
          out.push(this.nodeEvent(type, node, ek, `${type}:${node.id}:${w}:${j}`, startMs, endMs));
        }
      }
    }
    return out;
  }

  /** Leaks and bursts starting in week w, in a fixed order (it fixes the order of floating-point sums). */
  scheduledIn(d: DistrictModel, w: number): readonly SimEvent[] {
    const cacheKey = `${d.index}:${w}`;
    const cached = this.scheduledCache.get(cacheKey);
    if (cached) return cached;
    const affected = d.nodes
      .filter((n) => ['inlet', 'outlet', 'pressure', 'pump'].includes(n.kind))
      .map((n) => n.id);
    const out: SimEvent[] = [];
    this.drawDistrictEvents(d, w, (type, j, startMs, endMs, rampEndMs, magnitude) => {
      const e: SimEvent = {
        id: `${type}:${d.id}:${w}:${j}`,
        type,
        nodeId: d.inlets[0]!.id,
        districtId: d.id,
        startMs,
        endMs,
        magnitude,
        metric: null,
        affectedNodeIds: Object.freeze(affected),
      };
      if (type === 'leak') e.rampEndMs = rampEndMs;
      out.push(Object.freeze(e));
    });
    if (this.scheduledCache.size > 50_000) this.scheduledCache.clear();
    this.scheduledCache.set(cacheKey, out);
    return out;
  }

  /** Draws the leaks and bursts starting in week w and hands each to `take` (no objects: used for history sums too). */
  private drawDistrictEvents(
    d: DistrictModel,
    w: number,
    take: (
      type: SimEventType,
      j: number,
      startMs: number,
      endMs: number,
      rampEndMs: number,
      magnitude: number,
    ) => void,
  ): void {
    for (const type of DISTRICT_EVENT_TYPES) {
      const key = keyOf(d.key, 200 + typeCode(type));
      const count = poisson(unit(at(key, w)), this.rates[type]);
      for (let j = 0; j < count; j++) {
        const ek = keyOf(key, w, j);
        const [startMs, endMs] = this.span(SPECS[type], ek, w);
        const size = unit(at(ek, 2));
        const magnitude = roundTo(
          d.meanConsumption * (type === 'leak' ? 0.08 + 0.22 * size : 0.3 + 0.6 * size),
          3,
        );
        // Leaks grow to full size over 40–100 % of their life; bursts are full size at once.
        const ramp = type === 'leak' ? (endMs - startMs) * (0.4 + 0.6 * unit(at(ek, 3))) : 0;
        take(type, j, startMs, endMs, startMs + Math.round(ramp / MINUTE_MS) * MINUTE_MS, magnitude);
      }
    }
  }

  /**
   * Litres that leaks and bursts starting before week w lose over their whole lives: the part of a
   * district inlet's volume register that old events account for. Summed in 64-week chunks, cached.
   */
  volumeBefore(d: DistrictModel, w: number): number {
    const cacheKey = `${d.index}:${w}`;
    const cached = this.volumeCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const total = this.sumWeeksBefore(d, w);
    if (this.volumeCache.size > 50_000) this.volumeCache.clear();
    this.volumeCache.set(cacheKey, total);
    return total;
  }

  private sumWeeksBefore(d: DistrictModel, w: number): number {
    const CHUNK = 64;
    let chunks = this.weekTotals.get(d.index);
    const needed = Math.floor(w / CHUNK);
    if (!chunks || chunks.length < needed) {
      const grown = new Float64Array(Math.max(needed, 1) + 16).fill(Number.NaN);
      if (chunks) grown.set(chunks);
      chunks = grown;
      this.weekTotals.set(d.index, chunks);
    }
    let total = 0;
    for (let c = 0; c < needed; c++) {
      if (Number.isNaN(chunks[c]!)) {
        let sum = 0;
        for (let x = c * CHUNK; x < (c + 1) * CHUNK; x++) sum += this.weekVolume(d, x);
        chunks[c] = sum;
      }
      total += chunks[c]!;
    }
    for (let x = needed * CHUNK; x < w; x++) total += this.weekVolume(d, x);
    return total;
  }

  /** Litres lost by the district events starting in week w (without caching their objects). */
  private weekVolume(d: DistrictModel, w: number): number {
    let sum = 0;
    this.drawDistrictEvents(d, w, (type, _j, startMs, endMs, rampEndMs, magnitude) => {
      sum += eventLitres(type, startMs, endMs, rampEndMs, magnitude, endMs);
    });
    return sum;
  }

  private span(spec: TypeSpec, ek: number, w: number): [number, number] {
    const start = weekStartMs(w) + Math.floor((unit(at(ek, 0)) * WEEK_MS) / MINUTE_MS) * MINUTE_MS;
    const length =
      Math.round((spec.minMs + unit(at(ek, 1)) * (spec.maxMs - spec.minMs)) / MINUTE_MS) * MINUTE_MS;
    return [start, start + length];
  }

  private nodeEvent(
    type: SimEventType,
    node: NodeModel,
    ek: number,
    id: string,
    startMs: number,
    endMs: number,
  ): SimEvent {
    const u = (k: number) => unit(at(ek, k));
    const faultMetrics = node.metrics.filter((m) => m !== 'volume');
    let metric: Metric | null = null;
    let magnitude = 0;
    switch (type) {
      case 'gap':
      case 'silent':
        magnitude = roundTo((endMs - startMs) / HOUR_MS, 3);
        break;
      case 'flatline': {
        const choices = FLATLINE_METRICS[node.kind];
        metric = choices[Math.floor(u(2) * choices.length)]!;
        magnitude = roundMetric(metric, this.natural(node, metric, startMs));
        break;
      }
      case 'spike': {
        metric = faultMetrics[Math.floor(u(2) * faultMetrics.length)]!;
        const [lo, hi] = PHYSICAL_LIMITS[metric];
        const v = this.natural(node, metric, startMs) + spikeDelta(node, metric, u(3), u(4));
        magnitude = roundMetric(metric, Math.min(hi * 0.95, Math.max(lo * 0.95, v)));
        break;
      }
      case 'outOfRange':
        metric = faultMetrics[Math.floor(u(2) * faultMetrics.length)]!;
        magnitude = roundMetric(metric, impossibleValue(metric, u(3) < 0.7, u(4)));
        break;
      case 'negativeFlow':
        metric = 'flow';
        magnitude = roundTo(0.2 + 0.8 * u(3), 3);
        break;
      case 'lowChlorine':
        metric = 'chlorine';
        magnitude = roundTo(0.01 + 0.07 * u(3), 3);
        break;
      case 'highTurbidity':
        metric = 'turbidity';
        magnitude = roundTo(1.5 + 6.5 * u(3), 3);
        break;
      default:
        throw new Error(`not a node event: ${type}`);
    }
    return {
      id,
      type,
      nodeId: node.id,
      districtId: node.district.id,
      startMs,
      endMs,
      magnitude,
      metric,
      affectedNodeIds: [node.id],
    };
  }
}

/** Extra inflow (L/s) of a leak or burst at t. */
export function eventRate(e: SimEvent, t: number): number {
  if (t < e.startMs || t >= e.endMs) return 0;
  if (e.type === 'leak') return e.magnitude * Math.min(1, (t - e.startMs) / (e.rampEndMs! - e.startMs));
  return e.magnitude;
}

/** Litres a leak or burst has lost from its start up to t. */
export function eventLitres(
  type: SimEventType,
  startMs: number,
  endMs: number,
  rampEndMs: number,
  magnitude: number,
  t: number,
): number {
  if (t <= startMs) return 0;
  const tau = (Math.min(t, endMs) - startMs) / 1000;
  if (type !== 'leak') return magnitude * tau;
  const ramp = (rampEndMs - startMs) / 1000;
  return tau <= ramp ? (magnitude * tau * tau) / (2 * ramp) : magnitude * (ramp / 2 + tau - ramp);
}

function spikeDelta(node: NodeModel, metric: Metric, u: number, sign: number): number {
  switch (metric) {
    case 'flow':
      return Math.max(node.nominalFlow, 0.5) * (3 + 7 * u);
    case 'pressure':
      return 2 + 4 * u;
    case 'temperature':
      return 8 + 12 * u;
    case 'chlorine':
      return 1 + 3 * u;
    case 'turbidity':
      return 5 + 35 * u;
    case 'ph':
      return (sign < 0.5 ? -1 : 1) * (2 + 2 * u);
    case 'volume':
      return 0;
  }
}

/** A value outside PHYSICAL_LIMITS: far above the upper bound, or below the lower one. */
function impossibleValue(metric: Metric, high: boolean, u: number): number {
  const [lo, hi] = PHYSICAL_LIMITS[metric];
  const span = hi - lo;
  return high ? hi + span * (0.1 + u) : lo - Math.max(1, span * 0.1) * (0.5 + u);
}
