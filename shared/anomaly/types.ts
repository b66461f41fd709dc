/**
 * The vocabulary of anomaly detection: what the aggregator hands the detectors each cycle, and the
 * conditions they hand back. Everything in `shared/anomaly` is pure: no I/O, no clock, no randomness.
 *
 * Inputs are exactly what the per-node aggregator has at hand every 30 minutes:
 * - the node (`NodeInfo`) and the IANA time zone of its district;
 * - the raw readings of this cycle (`Reading[]`, before cleaning) and the counts of impossible values
 *   the cleaner rejected;
 * - the node's history as 5-minute partial aggregates per metric (the `PartialRow`s of
 *   `shared/domain/aggregate.ts` satisfy `AggregateBucket`), laid on a regular grid (`BucketSeries`,
 *   built with `toBucketSeries`), optionally with an hourly roll-up for the long baseline look-back.
 */
import type { Metric, NodeInfo, Reading } from '../domain/readings.ts';

export const SEVERITIES = ['warning', 'minor', 'major', 'critical'] as const;
/** Ascending: `severityRank('critical') > severityRank('warning')`. */
export type Severity = (typeof SEVERITIES)[number];
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);
export const maxSeverity = (a: Severity, b: Severity): Severity =>
  severityRank(a) >= severityRank(b) ? a : b;

export const ANOMALY_TYPES = [
  /** The node's value is far from its own time-of-week baseline for a sustained time. */
  'baseline_deviation',
  /** Abrupt flow step up with a simultaneous pressure drop. */
  'burst',
  /** District minimum night flow has risen above its recent leak-free level for several nights. */
  'night_flow_leak',
  /** A district pressure point reads lower than the district's other points predict, for long: a leak near it. */
  'pressure_residual',
  /** The district's water balance (supply − outlets − tank storage − customer meters) has stepped up: a leak. */
  'water_balance',
  /**
   * Several pressure points of a district dropped together (the same direction, the same five minutes): a
   * hydraulic event — supply lost, a tank run empty, a burst — not a fault of each sensor.
   */
  'low_pressure',
  /** Identical values for a long time (not a pump's true zero). */
  'flatline',
  /** Values outside the plausible range for the metric and kind, or impossible values rejected upstream. */
  'out_of_range',
  /** A hole in the data that has since been filled by later readings. */
  'gap',
  /** No readings at all for a long time, up to now. */
  'silent',
  /** Flow below zero where the meter is not bidirectional. */
  'negative_flow',
  /** Isolated values far from both their neighbours. */
  'spike',
  /** Free chlorine, turbidity or pH outside drinking-water limits. */
  'water_quality',
] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

export type Evidence = Record<string, number | string | boolean | null>;

/** What a detector reports for one cycle: "this is true now". The lifecycle turns conditions into anomalies. */
export interface Condition {
  type: AnomalyType;
  metric?: Metric;
  severity: Severity;
  /** The time the condition was evaluated at (the cycle's end). */
  observedAtMs: number;
  /** When the thing itself began, when the detector can tell (a burst's step, the first missing bucket). */
  sinceMs?: number;
  /** The numbers that triggered it. */
  evidence: Evidence;
  /** District-level detectors: the node the condition is seen at (the inlet with the step, say). */
  nodeId?: string;
}

/**
 * One partial aggregate of one metric in one bucket, as stored in PostgreSQL. `bucketMs` is the bucket
 * start. `PartialRow` from `shared/domain/aggregate.ts` is assignable to it.
 */
export interface AggregateBucket {
  bucketMs: number;
  count: number;
  sum: number;
  sumSq: number;
  min: number;
  max: number;
  first: number;
  last: number;
}

/**
 * A stored partial as the detectors read it (the aggregator's and the rollup's reads): count, sum, min,
 * max and last, the columns they use, without the sketch, the second moment or the first value (cheap
 * to read; `sumSq` and `first` are NaN).
 */
export interface DetectorBucket extends AggregateBucket {
  metric: number;
  lastTs: number;
}

/**
 * Partial aggregates of one metric laid on a regular grid, column by column: bucket `i` starts at
 * `startMs + i·stepMs`. An empty bucket has `count[i] = 0` (its other columns are then meaningless).
 * Columnar so that weeks of 5-minute history cost a few typed arrays, and detectors index by time
 * instead of searching.
 */
export interface BucketSeries {
  startMs: number;
  stepMs: number;
  length: number;
  count: Float64Array;
  sum: Float64Array;
  sumSq: Float64Array;
  min: Float64Array;
  max: Float64Array;
  first: Float64Array;
  last: Float64Array;
}

/** A metric's history: 5-minute buckets for the recent past and, optionally, hourly ones for the baseline. */
export interface MetricHistory {
  /**
   * 5-minute buckets, at least the last 24 hours up to the cycle's end (more is fine: detectors only look at
   * what they need). Without `hourly`, it must also cover the baseline look-back (N weeks).
   */
  fiveMinute: BucketSeries;
  /** Hourly roll-ups for the seasonal baseline's look-back (N weeks). Used where they cover the hour asked for. */
  hourly?: BucketSeries;
}

/** Everything the node detectors need for one node and one cycle. */
export interface NodeCycleInput {
  node: NodeInfo;
  /** IANA time zone of the node's district (local time-of-week slots). */
  timezone: string;
  /** This cycle's window of reading time, [fromMs, nowMs). Buckets starting at or after `nowMs` are ignored. */
  fromMs: number;
  nowMs: number;
  /** Raw readings of this cycle, before cleaning (may hold NaN, null or impossible values). */
  readings: readonly Reading[];
  /** Impossible values (outside PHYSICAL_LIMITS, NaN) the cleaner dropped this cycle, per metric. */
  rejected?: Partial<Record<Metric, number>>;
  history: Partial<Record<Metric, MetricHistory>>;
  /** Time of the latest reading ever received from the node (any metric); derived from history when absent. */
  lastReadingMs?: number | null;
  /** A meter that measures both directions (negative flow is then normal). Default per kind in the config. */
  bidirectional?: boolean;
}

/** One node's series for district-level detectors. */
export interface DistrictNodeSeries {
  nodeId: string;
  flow?: MetricHistory;
  pressure?: MetricHistory;
}

/** Everything the district detectors need for one district and one cycle. */
export interface DistrictCycleInput {
  districtId: string;
  timezone: string;
  nowMs: number;
  /** Inlet meters (flow, and pressure where they have it). */
  inlets: readonly DistrictNodeSeries[];
  /** Outlet meters (flow leaving the district), subtracted for the net inflow. */
  outlets?: readonly DistrictNodeSeries[];
  /** Pressure points inside the district. */
  pressurePoints: readonly DistrictNodeSeries[];
  /** The district's tanks (their level as pressure, in bar of head): evidence of a low-pressure event. */
  tanks?: readonly DistrictNodeSeries[];
  /**
   * Nights ending after this time are left out of the night-flow reference (pass the start of the
   * district's open leak, so the reference stays leak-free while the leak lasts).
   */
  leakFreeBeforeMs?: number;
  /**
   * Hourly means of the district's pressure points over the pressure model's reference window and lag
   * (`PressureModelConfig`), for the pressure-residual detector; absent: that detector does not run.
   */
  pressureHourly?: readonly { nodeId: string; hourly: BucketSeries }[];
  /** Start of the district's open pressure-residual anomaly: the model's reference window ends before it. */
  pressureLeakFreeBeforeMs?: number;
  /** The same points over that frozen reference window, when `pressureHourly` does not reach back to it. */
  pressureReference?: readonly { nodeId: string; hourly: BucketSeries }[];
  /** The district's past leaks (resolved pressure-residual anomalies): left out of the model's reference. */
  pressureExcluded?: readonly { fromMs: number; toMs: number }[];
  /**
   * Hourly series of the district's water balance over its reference window and lag (`WaterBalanceConfig`):
   * supply, own outlets, tank volumes, customer meters; absent: that detector does not run.
   */
  waterBalance?: WaterBalanceInput;
  /** Start of the district's open water-balance anomaly: the balance's reference window ends before it. */
  balanceLeakFreeBeforeMs?: number;
  /** The same series over that frozen reference window, when `waterBalance` does not reach back to it. */
  waterBalanceReference?: WaterBalanceInput;
}

/** A district's hourly series for its balance (flows in L/s, volumes in m³; hourly partials with first and last). */
export interface WaterBalanceInput {
  /** The district's inlets and the outlets of other districts declared as feeding it. */
  supply: readonly BucketSeries[];
  /** The district's own metered outlets. */
  outflow: readonly BucketSeries[];
  /** Volume of each tank in the district. */
  tanks: readonly BucketSeries[];
  /** Flow of each customer meter in the district. */
  customers: readonly BucketSeries[];
  /** The node the condition names (the first supply meter). */
  nodeId?: string;
}
