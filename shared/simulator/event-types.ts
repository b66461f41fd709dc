/**
 * The simulator's event types: what each one does, how often it starts by default, which targets it applies
 * to and how long it lasts (the schedule that draws them: events.ts), and the Monday-based weeks it is drawn by.
 */
import type { Metric, NodeKind } from '../domain/readings.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS } from './calendar.ts';

/**
 * - leak: incipient leak downstream of the district inlets; extra inflow rises linearly from 0 to
 *   `magnitude` L/s at `rampEndMs`, then stays until `endMs` (repair). Visible in minimum night flow.
 * - burst: abrupt extra inflow of `magnitude` L/s for hours; pressure drops across the district.
 * - flatline: the sensor of `metric` reports the constant `magnitude` (not the pump-off zero).
 * - gap: no readings from the node for `magnitude` hours (minutes to 3 h).
 * - silent: the node stops reporting for `magnitude` hours (8 h to 3 days).
 * - spike: one wild but possible value of `metric`: `magnitude` (1-minute event).
 * - outOfRange: a physically impossible value of `metric` (outside PHYSICAL_LIMITS): `magnitude`.
 * - negativeFlow: the flow meter reports −`magnitude` × |true flow| (reversed or faulty meter).
 * - lowChlorine: free chlorine falls to `magnitude` mg/L (below the 0.2 mg/L guideline).
 * - highTurbidity: turbidity rises to a peak of `magnitude` NTU (above the 1 NTU limit).
 */
export const EVENT_TYPES = [
  'leak',
  'burst',
  'flatline',
  'gap',
  'silent',
  'spike',
  'outOfRange',
  'negativeFlow',
  'lowChlorine',
  'highTurbidity',
] as const;
export type SimEventType = (typeof EVENT_TYPES)[number];

export interface SimEvent {
  /** Stable id: type:target:week:ordinal. */
  id: string;
  type: SimEventType;
  /** Where the event shows: the first inlet meter for leaks and bursts, else the node itself. */
  nodeId: string;
  districtId: string;
  startMs: number;
  /** Exclusive end. */
  endMs: number;
  /** See EVENT_TYPES for the unit of each type. */
  magnitude: number;
  /** The metric a sensor fault or quality event concerns; null for leaks, bursts, gaps, silences. */
  metric: Metric | null;
  /** Leaks: when the leak reaches its full size. */
  rampEndMs?: number;
  /** Every node whose readings the event changes. */
  affectedNodeIds: readonly string[];
}

/** Expected number of events starting per target and week: per district for leaks and bursts, else per node it applies to. */
export type EventRates = Record<SimEventType, number>;

export const DEFAULT_EVENT_RATES: EventRates = {
  leak: 0.5,
  burst: 0.75,
  flatline: 0.08,
  gap: 0.12,
  silent: 0.05,
  spike: 0.15,
  outOfRange: 0.08,
  negativeFlow: 0.2,
  lowChlorine: 0.6,
  highTurbidity: 0.6,
};

export interface TypeSpec {
  district: boolean;
  kinds: readonly NodeKind[] | 'all';
  minMs: number;
  maxMs: number;
}

export const SPECS: Record<SimEventType, TypeSpec> = {
  leak: { district: true, kinds: 'all', minMs: 3 * DAY_MS, maxMs: 14 * DAY_MS },
  burst: { district: true, kinds: 'all', minMs: 2 * HOUR_MS, maxMs: 12 * HOUR_MS },
  flatline: { district: false, kinds: 'all', minMs: 2 * HOUR_MS, maxMs: 24 * HOUR_MS },
  gap: { district: false, kinds: 'all', minMs: 5 * MINUTE_MS, maxMs: 3 * HOUR_MS },
  silent: { district: false, kinds: 'all', minMs: 8 * HOUR_MS, maxMs: 3 * DAY_MS },
  spike: { district: false, kinds: 'all', minMs: MINUTE_MS, maxMs: MINUTE_MS },
  outOfRange: { district: false, kinds: 'all', minMs: MINUTE_MS, maxMs: 5 * MINUTE_MS },
  negativeFlow: {
    district: false,
    kinds: ['inlet', 'outlet', 'customer'],
    minMs: 15 * MINUTE_MS,
    maxMs: 8 * HOUR_MS,
  },
  lowChlorine: { district: false, kinds: ['quality'], minMs: 2 * HOUR_MS, maxMs: 12 * HOUR_MS },
  highTurbidity: { district: false, kinds: ['quality'], minMs: HOUR_MS, maxMs: 8 * HOUR_MS },
};

export const DISTRICT_EVENT_TYPES = EVENT_TYPES.filter((t) => SPECS[t].district);
export const NODE_EVENT_TYPES = EVENT_TYPES.filter((t) => !SPECS[t].district);
/** The longest event of any type: how far back a window must look for events still under way. */
export const MAX_EVENT_MS = Math.max(...EVENT_TYPES.map((t) => SPECS[t].maxMs));

/** Weeks start on Monday 00:00 UTC; week 0 starts 1969-12-29. */
export const weekOf = (t: number): number => Math.floor((t + 3 * DAY_MS) / WEEK_MS);
export const weekStartMs = (w: number): number => w * WEEK_MS - 3 * DAY_MS;
/** Weeks a district event can last beyond the week it starts in, plus one. */
export const DISTRICT_LOOKBACK_WEEKS = Math.ceil(SPECS.leak.maxMs / WEEK_MS) + 1;
