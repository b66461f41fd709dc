/**
 * What the water balance takes and gives: meter volumes, consumption and night flows in; IWA figures, with
 * what is missing, estimated or not computed, out. Units as in water-balance.ts.
 */
import type { DistrictInfo } from '../domain/readings.ts';
import type { Period } from './local-period.ts';

// ---------------------------------------------------------------- inputs

/** Volume through one meter over the period. */
export interface MeterVolume {
  meterId?: string;
  /**
   * Volume measured during the covered part of the period, m³; null when the meter sent nothing usable.
   * If the volume is already for the whole period (e.g. register readings at both ends), pass coverage 1.
   */
  m3: number | null;
  /** Share of the period with data, 0–1. The volume is extrapolated to the whole period by dividing by it. */
  coverage: number;
}

/** A billed volume entered for a billing period that need not align with days or months. */
export interface BilledVolume {
  from: number;
  to: number;
  m3: number;
}

/** Where billed authorised consumption comes from. Customer meters are treated as billed metered consumption. */
export type ConsumptionInput =
  | { source: 'metered'; m3: number; coverage: number }
  | { source: 'billed'; entries: readonly BilledVolume[] }
  | { source: 'unknown' };

/** Average net district inflow during one hour starting at `start` (inlets minus outlets), m³/h. */
export interface HourlyFlow {
  start: number;
  flowM3h: number | null;
}

export interface DistrictBalanceInput {
  district: DistrictInfo;
  period: Period;
  inlets: readonly MeterVolume[];
  outlets?: readonly MeterVolume[];
  consumption: ConsumptionInput;
  /** Unbilled authorised consumption (flushing, fire fighting), m³. Default 0: none known. */
  unbilledAuthorisedM3?: number;
  /** Apparent losses (meter under-registration, theft), m³; enables a top-down real-loss figure. */
  apparentLossesM3?: number;
  /** Hourly net inflow; only hours starting inside the night window of each local day are used. */
  nightFlow?: readonly HourlyFlow[];
  /** Night-day factor (hours/day) measured for this district; overrides the pressure profile and the default. */
  ndfHours?: number;
  /** Average pressure by local hour 0–23 at the average zone point, m: the night-day factor is computed from it. */
  pressureProfileM?: readonly number[];
}

export interface BalanceOptions {
  /**
   * Legitimate night use per connection, L/conn/h. Default 1.7, the UK water industry's typical
   * household night use (toilet flushing and appliances between 02:00 and 04:00).
   */
  nightUseLPerConnH: number;
  /** Night window in local hours [start, end). Default 02:00–04:00, when demand is lowest in most networks. */
  nightStartHour: number;
  nightEndHour: number;
  /**
   * Night-day factor used when neither a measured NDF nor a pressure profile is given. Default 22 h/day,
   * the middle of the usual 20 (gravity-fed, pressure drops by day) to 24 (pressure-managed, flat) range.
   */
  defaultNdfHours: number;
  /** FAVAD N1 exponent of leak flow on pressure. Default 1: a linear law suits large mixed-material networks. */
  leakagePressureExponent: number;
  /** Below this coverage a figure is marked estimated. Default 0.9: a gap of more than 10 % can hide a day's peak. */
  estimatedBelowCoverage: number;
  /** Below this coverage a volume is not extrapolated at all (null). Default 0.5: more guess than measurement. */
  minCoverage: number;
  /**
   * Average service pipe length, m, to derive Lp = Nc × length when the district has no private pipe length.
   * Default: none, so ILI needs a real Lp.
   */
  avgServiceLengthM: number | null;
}

export const DEFAULT_BALANCE_OPTIONS: BalanceOptions = {
  nightUseLPerConnH: 1.7,
  nightStartHour: 2,
  nightEndHour: 4,
  defaultNdfHours: 22,
  leakagePressureExponent: 1,
  estimatedBelowCoverage: 0.9,
  minCoverage: 0.5,
  avgServiceLengthM: null,
};

// ---------------------------------------------------------------- outputs

export type MissingInput =
  | 'inletMeters'
  | 'inletVolume'
  | 'outletVolume'
  | 'authorisedConsumption'
  | 'nightFlow'
  | 'mainsLengthKm'
  | 'connections'
  | 'privatePipeKm'
  | 'avgPressureM';

export interface DistrictBalance {
  districtId: string;
  period: Period;
  /** Period length in days of 24 hours. */
  days: number;
  /** Nc, carried for network-wide per-connection figures. */
  connections: number | null;
  inflowM3: number | null;
  outflowM3: number | null;
  /** System input volume: inlets minus outlets. */
  systemInputM3: number | null;
  consumptionSource: ConsumptionInput['source'];
  billedAuthorisedM3: number | null;
  unbilledAuthorisedM3: number;
  authorisedConsumptionM3: number | null;
  /** SIV − authorised consumption. Negative values are kept (they point at meter errors) with a note. */
  waterLossesM3: number | null;
  /** SIV − billed authorised consumption. */
  nonRevenueWaterM3: number | null;
  nrwPercent: number | null;
  nrwLPerConnDay: number | null;
  /** Mean over the period's nights of each night's lowest hourly net inflow. */
  minNightFlowM3h: number | null;
  legitimateNightUseM3h: number | null;
  /** MNF minus legitimate night use, floored at 0. */
  nightLeakageM3h: number | null;
  ndfHours: number;
  ndfSource: 'given' | 'pressure' | 'default';
  /** Night leakage × NDF × days: the bottom-up real-loss estimate for the period. */
  mnfLeakageM3: number | null;
  apparentLossesM3: number | null;
  /** Real losses for the period: from MNF when available, else water losses − apparent losses. */
  realLossesM3: number | null;
  realLossesSource: 'mnf' | 'top-down' | null;
  /** Current annual real losses expressed per day (L/day), the unit ILI is computed in. */
  carlLPerDay: number | null;
  carlM3PerYear: number | null;
  /** Unavoidable annual real losses per day, L/day = (18·Lm + 0.8·Nc + 25·Lp)·P. */
  uarlLPerDay: number | null;
  uarlM3PerYear: number | null;
  /** CARL / UARL, both in L/day (the same ratio as both per year). */
  ili: number | null;
  missing: MissingInput[];
  notComputed: BalanceFigure[];
  estimated: BalanceFigure[];
  notes: string[];
}

export type BalanceFigure =
  | 'systemInputM3'
  | 'authorisedConsumptionM3'
  | 'waterLossesM3'
  | 'nonRevenueWaterM3'
  | 'nrwPercent'
  | 'nrwLPerConnDay'
  | 'minNightFlowM3h'
  | 'mnfLeakageM3'
  | 'realLossesM3'
  | 'carlLPerDay'
  | 'uarlLPerDay'
  | 'ili';
