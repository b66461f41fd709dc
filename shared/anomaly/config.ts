/**
 * Detector configuration per node kind, with the defaults and why. Override any part with `withOverrides`
 * (objects merge, everything else replaces; `null` switches a detector off).
 */
import type { Metric, NodeKind } from '../domain/readings.ts';
import { type BaselineConfig, DEFAULT_BASELINE } from './baseline.ts';
import { type BurstConfig, DEFAULT_BURST } from './burst.ts';
import { DEFAULT_DISTRICT_PRESSURE, type DistrictPressureConfig } from './district-pressure.ts';
import { DEFAULT_NIGHT_FLOW, type NightFlowConfig } from './night-flow.ts';
import { DEFAULT_PRESSURE_MODEL, type PressureModelConfig } from './pressure-model.ts';
import type { FlatlineConfig, GapConfig, NegativeFlowConfig, RangeConfig } from './sensor-faults.ts';
import { DEFAULT_SPIKES, type SpikeConfig } from './spikes.ts';
import { DEFAULT_WATER_BALANCE, type WaterBalanceConfig } from './water-balance.ts';
import { DEFAULT_WATER_QUALITY, type WaterQualityConfig } from './water-quality.ts';

export interface NodeDetectorConfig {
  /** Metrics checked against their seasonal baseline, each with its configuration (null or absent: off). */
  baseline: Partial<Record<Metric, BaselineConfig | null>>;
  /** Burst at the node itself (needs flow and pressure); null where the node cannot see one. */
  burst: BurstConfig | null;
  flatline: Partial<Record<Metric, FlatlineConfig | null>>;
  range: Partial<Record<Metric, RangeConfig | null>>;
  gaps: GapConfig;
  /** Null on meters that measure both directions. */
  negativeFlow: NegativeFlowConfig | null;
  spikes: Partial<Record<Metric, SpikeConfig | null>>;
  waterQuality: WaterQualityConfig | null;
}

export interface DistrictDetectorConfig {
  burst: BurstConfig | null;
  nightFlow: NightFlowConfig | null;
  /** Leaks by pressure residuals (each pressure point modelled from the district's others); needs 3+ points. */
  pressureModel: PressureModelConfig | null;
  /**
   * Leaks by the district's water balance (supply less outlets, tank storage and customer meters); needs
   * customer meters and a metered supply (inlets, or outlets of other districts declared as feeding it).
   */
  waterBalance: WaterBalanceConfig | null;
  /**
   * The plausible range and spikes of a district's pressure points (kind `pressure`), judged with the
   * district's other points: drops corroborated by them are one `low_pressure` event, the rest sensor faults
   * (`district-pressure.ts`, with the `pressure` kind's range and spike settings). Null: each pressure point
   * judges its own range and spikes, as any other node.
   */
  pressureEvent: DistrictPressureConfig | null;
  /** Baseline used to de-seasonalise the burst detector's series. */
  baseline: BaselineConfig;
  /**
   * Seasonal baseline of the district's net inflow (inlets less metered outlets), which replaces the inlets'
   * own flow baselines for inlets in a district; null: off (and then no inlet of a district has one).
   */
  netInflowBaseline: BaselineConfig | null;
}

export interface AnomalyConfig {
  kinds: Record<NodeKind, NodeDetectorConfig>;
  district: DistrictDetectorConfig;
}

// Flow in L/s: the floor keeps a quiet customer meter's baseline from being infinitely precise.
const flowBaseline: BaselineConfig = { ...DEFAULT_BASELINE, minScale: 0.05, minScaleRel: 0.05 };
// Pressure in bar: drops matter (a rise is usually a PRV or pump, handled by operations); 0.05 bar ≈ 0.5 m.
const pressureBaseline: BaselineConfig = {
  ...DEFAULT_BASELINE,
  minScale: 0.05,
  minScaleRel: 0.02,
  direction: 'down',
};

const flatline = (minMinutes: number, allowZero = false): FlatlineConfig => ({
  minMinutes,
  tolerance: 0,
  minReadings: 10,
  allowZero,
  zeroTolerance: 1e-6,
  majorAfterMinutes: 12 * 60,
  maxLookbackMinutes: 24 * 60,
});

// Flow and pressure change all the time in a live network: an hour of identical values (and at least ten
// readings: 15-minute telemetry then needs 2.5 hours) is a stuck sensor. Quality metrics are slower, and
// water temperature at 0.01 °C resolution can legitimately sit still for hours.
const FLATLINE = {
  flow: flatline(60),
  pressure: flatline(60),
  temperature: flatline(12 * 60),
  chlorine: flatline(120),
  turbidity: flatline(120),
  ph: flatline(120),
} satisfies Partial<Record<Metric, FlatlineConfig>>;

const range = (low: number, high: number): RangeConfig => ({ low, high, minCount: 1, majorShare: 0.5 });

/**
 * Plausible ranges (narrower than PHYSICAL_LIMITS, which the cleaner enforces). Networks differ: override
 * per tenant. Negative flow has its own detector, so flow's low end only catches absurd values.
 */
const RANGE = {
  flow: range(-1000, 5000),
  pressure: range(-0.2, 16),
  temperature: range(0, 40),
  chlorine: range(0, 10),
  turbidity: range(0, 1000),
  ph: range(4, 11),
} satisfies Partial<Record<Metric, RangeConfig>>;

// Telemetry every minute (SCADA): 15 minutes of nothing is a gap — shorter holes are not worth an operator's
// time, and three empty 5-minute buckets are unambiguous. Silent after an hour (two cycles), critical after
// six. Nodes reporting less often are judged in their own intervals: a gap is two missed readings in a row
// (2.5 intervals of nothing), silence the same up to now — an hourly meter is silent after 150 minutes,
// a 15-minute one after the hour like everyone else.
const GAPS: GapConfig = {
  gapMinutes: 15,
  lookbackMinutes: 60,
  silentMinutes: 60,
  criticalSilentMinutes: 360,
  gapIntervals: 2.5,
  silentIntervals: 2.5,
};

const NEGATIVE_FLOW: NegativeFlowConfig = { tolerance: 0.1, minMinutes: 10, windowMinutes: 30 };

const spikes = (minScale: number): SpikeConfig => ({ ...DEFAULT_SPIKES, minScale });
// Noise floors per metric, in its unit.
const SPIKES = {
  flow: spikes(0.05),
  pressure: spikes(0.02),
  temperature: spikes(0.1),
  chlorine: spikes(0.01),
  turbidity: spikes(0.02),
  ph: spikes(0.02),
} satisfies Partial<Record<Metric, SpikeConfig>>;

// Where a zero flow is real (the flatline's `allowZero` kinds), a reading of zero is no spike either: a customer
// meter reads 0 when its district loses supply (L-Town, eval:leaks random-12: AMR-n4 at each pressure collapse).
const ZERO_FLOW_SPIKES = { ...SPIKES, flow: { ...SPIKES.flow, zeroIsReal: true } };

const base = (overrides: Partial<NodeDetectorConfig>): NodeDetectorConfig => ({
  baseline: {},
  burst: null,
  flatline: {},
  range: RANGE,
  gaps: GAPS,
  negativeFlow: null,
  spikes: SPIKES,
  waterQuality: null,
  ...overrides,
});

export const DEFAULT_ANOMALY_CONFIG: AnomalyConfig = {
  kinds: {
    // District inlets see everything downstream: baseline on flow and pressure. Bursts at the meter itself
    // only for inlets outside any district (`detectNodeConditions`); in a district the district detector,
    // with every inlet and pressure point, sees them better.
    inlet: base({
      baseline: { flow: flowBaseline, pressure: pressureBaseline },
      burst: DEFAULT_BURST,
      flatline: { flow: FLATLINE.flow, pressure: FLATLINE.pressure, temperature: FLATLINE.temperature },
      negativeFlow: NEGATIVE_FLOW,
    }),
    // An outlet may close (true zero flow); one switched on and off (a pump filling a tank) has no habits.
    outlet: base({
      spikes: ZERO_FLOW_SPIKES,
      baseline: { flow: { ...flowBaseline, maxZeroShare: 0.2 } },
      flatline: { flow: flatline(60, true), pressure: FLATLINE.pressure },
      negativeFlow: NEGATIVE_FLOW,
    }),
    pressure: base({
      baseline: { pressure: pressureBaseline },
      flatline: { pressure: FLATLINE.pressure, temperature: FLATLINE.temperature },
    }),
    // Tank flows follow level control (fill/draw cycles), not habits: no baseline; flow in and out is normal,
    // and an inlet valve may stay shut (true zero).
    tank: base({
      flatline: { flow: flatline(60, true), pressure: FLATLINE.pressure },
      spikes: ZERO_FLOW_SPIKES,
    }),
    quality: base({
      baseline: { chlorine: { ...DEFAULT_BASELINE, minScale: 0.02, minScaleRel: 0.05 } },
      flatline: {
        chlorine: FLATLINE.chlorine,
        turbidity: FLATLINE.turbidity,
        ph: FLATLINE.ph,
        temperature: FLATLINE.temperature,
      },
      waterQuality: DEFAULT_WATER_QUALITY,
    }),
    // A customer meter reads a true zero whenever nobody draws water.
    customer: base({
      spikes: ZERO_FLOW_SPIKES,
      baseline: { flow: flowBaseline },
      flatline: { flow: flatline(60, true) },
      negativeFlow: NEGATIVE_FLOW,
    }),
    // A pump that is off reads a true zero; its flow switches on and off, so no seasonal baseline.
    pump: base({
      spikes: ZERO_FLOW_SPIKES,
      flatline: { flow: flatline(60, true), pressure: FLATLINE.pressure },
      negativeFlow: NEGATIVE_FLOW,
    }),
  },
  district: {
    burst: DEFAULT_BURST,
    nightFlow: DEFAULT_NIGHT_FLOW,
    pressureModel: DEFAULT_PRESSURE_MODEL,
    waterBalance: DEFAULT_WATER_BALANCE,
    pressureEvent: DEFAULT_DISTRICT_PRESSURE,
    baseline: flowBaseline,
    netInflowBaseline: flowBaseline,
  },
};

export type Overrides<T> = {
  [K in keyof T]?: NonNullable<T[K]> extends object
    ? Overrides<NonNullable<T[K]>> | Extract<T[K], null>
    : T[K];
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `base` with `overrides` merged in: nested objects merge, arrays and values replace, `null` replaces. */
export function withOverrides<T>(baseValue: T, overrides: Overrides<T> | undefined): T {
  if (overrides === undefined) return baseValue;
  if (!isPlainObject(baseValue) || !isPlainObject(overrides)) return overrides as T;
  const out: Record<string, unknown> = { ...baseValue };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? withOverrides(out[k], v as Overrides<unknown>) : v;
  }
  return out as T;
}
