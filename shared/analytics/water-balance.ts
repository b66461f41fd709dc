/**
 * IWA water balance and leakage KPIs per district and per local day or month, and network-wide totals.
 * Pure functions over plain data: the caller brings meter volumes, consumption and night flows.
 *
 * Units: volumes in m³, flows in m³/h (1 L/s = 3.6 m³/h), pressures in metres of head.
 * "Per day" means per 24 hours: a period's length in days is its length in hours / 24, so a 23-hour
 * DST day counts as 23/24 of a day and a month as its real number of hours / 24.
 *
 * Nothing is invented: a figure whose inputs are unknown is `null` (never NaN), listed in `notComputed`,
 * and the inputs that blocked it are listed in `missing`. Figures built from partial data (coverage below
 * `estimatedBelowCoverage`, or an assumed night-day factor) are listed in `estimated`.
 */
import { HOUR_MS } from '../domain/aggregate.ts';
import { localParts, localToUtc } from '../domain/local-time.ts';
import type { DistrictInfo } from '../domain/readings.ts';

// ---------------------------------------------------------------- local periods

export type PeriodKind = 'day' | 'month';

/** A local calendar day or month of a time zone, as a half-open UTC interval [start, end). */
export interface Period {
  kind: PeriodKind;
  /** `YYYY-MM-DD` for a day, `YYYY-MM` for a month, in local time. */
  label: string;
  timezone: string;
  start: number;
  end: number;
  /** Real length in hours: 23 or 25 on DST change days. */
  hours: number;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** The local day (`YYYY-MM-DD`) or month (`YYYY-MM`) of a time zone as UTC boundaries. */
export function localPeriod(kind: PeriodKind, label: string, timezone: string): Period {
  const m = kind === 'day' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(label) : /^(\d{4})-(\d{2})$/.exec(label);
  const year = Number(m?.[1]);
  const month = Number(m?.[2]);
  const day = kind === 'day' ? Number(m?.[3]) : 1;
  const check = new Date(Date.UTC(year, month - 1, day));
  if (!m || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    throw new RangeError(`not a local ${kind} label: ${label}`);
  }
  const next =
    kind === 'day' ? new Date(Date.UTC(year, month - 1, day + 1)) : new Date(Date.UTC(year, month, 1));
  const start = localToUtc(year, month, day, 0, 0, timezone);
  const end = localToUtc(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, timezone);
  return { kind, label, timezone, start, end, hours: (end - start) / HOUR_MS };
}

/** The local day or month of a time zone that contains an instant. */
export function periodContaining(kind: PeriodKind, ts: number, timezone: string): Period {
  const p = localParts(ts, timezone);
  const label =
    kind === 'day' ? `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}` : `${pad(p.year, 4)}-${pad(p.month)}`;
  return localPeriod(kind, label, timezone);
}

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

// ---------------------------------------------------------------- computation

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Billed volumes prorated by their overlap with the period, and the share of the period they cover. */
export function prorateBilled(
  entries: readonly BilledVolume[],
  period: Period,
): { m3: number; coverage: number } {
  let m3 = 0;
  const overlaps: Array<[number, number]> = [];
  for (const e of entries) {
    if (!(e.to > e.from) || !Number.isFinite(e.m3))
      throw new RangeError('billed volume needs from < to and a volume');
    const from = Math.max(e.from, period.start);
    const to = Math.min(e.to, period.end);
    if (to <= from) continue;
    m3 += (e.m3 * (to - from)) / (e.to - e.from);
    overlaps.push([from, to]);
  }
  overlaps.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let reach = Number.NEGATIVE_INFINITY;
  for (const [from, to] of overlaps) {
    if (to > reach) covered += to - Math.max(from, reach);
    reach = Math.max(reach, to);
  }
  return { m3, coverage: covered / (period.end - period.start) };
}

/** The night-day factor from an hourly pressure profile: Σ_h (P_h / P_night)^N1, hours/day. */
export function ndfFromPressure(profileM: readonly number[], options: BalanceOptions): number {
  if (profileM.length !== 24 || profileM.some((p) => !(p > 0))) {
    throw new RangeError('a pressure profile has 24 positive hourly values');
  }
  const night = profileM.slice(options.nightStartHour, options.nightEndHour);
  const nightP = sum(night) / night.length;
  return sum(profileM.map((p) => (p / nightP) ** options.leakagePressureExponent));
}

function nightlyMinima(input: DistrictBalanceInput, options: BalanceOptions): Map<string, number> {
  const minima = new Map<string, number>();
  for (const h of input.nightFlow ?? []) {
    if (h.flowM3h === null || !Number.isFinite(h.flowM3h)) continue;
    if (h.start < input.period.start || h.start >= input.period.end) continue;
    const p = localParts(h.start, input.period.timezone);
    if (p.hour < options.nightStartHour || p.hour >= options.nightEndHour) continue;
    const night = `${p.year}-${pad(p.month)}-${pad(p.day)}`;
    minima.set(night, Math.min(minima.get(night) ?? Number.POSITIVE_INFINITY, h.flowM3h));
  }
  return minima;
}

function nightsIn(period: Period): number {
  if (period.kind === 'day') return 1;
  const [y, m] = period.label.split('-').map(Number);
  return new Date(Date.UTC(y!, m!, 0)).getUTCDate();
}

/** The water balance and leakage KPIs of one district for one period. */
export function districtBalance(
  input: DistrictBalanceInput,
  overrides: Partial<BalanceOptions> = {},
): DistrictBalance {
  const o = { ...DEFAULT_BALANCE_OPTIONS, ...overrides };
  const { district, period } = input;
  const missing = new Set<MissingInput>();
  const estimated = new Set<BalanceFigure>();
  const notes: string[] = [];
  const days = period.hours / 24;
  const partial = (coverage: number): boolean => coverage < o.estimatedBelowCoverage;

  const volumeOf = (v: MeterVolume): number | null =>
    v.m3 === null || !Number.isFinite(v.m3) || !(v.coverage >= o.minCoverage)
      ? null
      : v.m3 / Math.min(1, v.coverage);
  const total = (meters: readonly MeterVolume[], what: MissingInput): number | null => {
    const volumes = meters.map(volumeOf);
    if (volumes.some((v) => v === null)) {
      missing.add(what);
      return null;
    }
    if (meters.some((m) => partial(m.coverage))) estimated.add('systemInputM3');
    return sum(volumes as number[]);
  };

  // System input volume.
  if (input.inlets.length === 0) missing.add('inletMeters');
  const inflowM3 = input.inlets.length === 0 ? null : total(input.inlets, 'inletVolume');
  const outflowM3 = total(input.outlets ?? [], 'outletVolume');
  const systemInputM3 = inflowM3 === null || outflowM3 === null ? null : inflowM3 - outflowM3;

  // Authorised consumption.
  let billedAuthorisedM3: number | null = null;
  const consumption = input.consumption;
  const { m3: consumed, coverage } =
    consumption.source === 'metered'
      ? consumption
      : consumption.source === 'billed'
        ? prorateBilled(consumption.entries, period)
        : { m3: null, coverage: 0 };
  if (consumed !== null && coverage >= o.minCoverage) {
    billedAuthorisedM3 = consumed / Math.min(1, coverage);
    if (partial(coverage)) estimated.add('authorisedConsumptionM3');
  } else missing.add('authorisedConsumption');
  const unbilledAuthorisedM3 = input.unbilledAuthorisedM3 ?? 0;
  const authorisedConsumptionM3 =
    billedAuthorisedM3 === null ? null : billedAuthorisedM3 + unbilledAuthorisedM3;

  const balanceEstimated = estimated.has('systemInputM3') || estimated.has('authorisedConsumptionM3');
  const waterLossesM3 =
    systemInputM3 === null || authorisedConsumptionM3 === null
      ? null
      : systemInputM3 - authorisedConsumptionM3;
  const nonRevenueWaterM3 =
    systemInputM3 === null || billedAuthorisedM3 === null ? null : systemInputM3 - billedAuthorisedM3;
  if (waterLossesM3 !== null && waterLossesM3 < 0) {
    notes.push('authorised consumption exceeds system input: check inlet and customer meters');
  }
  const nrwPercent =
    nonRevenueWaterM3 !== null && systemInputM3 !== null && systemInputM3 > 0
      ? (100 * nonRevenueWaterM3) / systemInputM3
      : null;
  const nc = district.connections;
  if (nc === null) missing.add('connections');
  const nrwLPerConnDay =
    nonRevenueWaterM3 !== null && nc !== null && nc > 0 ? (nonRevenueWaterM3 * 1000) / (nc * days) : null;
  if (balanceEstimated) {
    for (const f of ['waterLossesM3', 'nonRevenueWaterM3', 'nrwPercent', 'nrwLPerConnDay'] as const) {
      estimated.add(f);
    }
  }

  // Minimum night flow and the bottom-up leakage estimate.
  const minima = [...nightlyMinima(input, o).values()];
  if (minima.length === 0) missing.add('nightFlow');
  const minNightFlowM3h = minima.length === 0 ? null : sum(minima) / minima.length;
  if (minima.length > 0 && partial(minima.length / nightsIn(period))) estimated.add('minNightFlowM3h');
  const legitimateNightUseM3h = nc === null ? null : (nc * o.nightUseLPerConnH) / 1000;
  let nightLeakageM3h: number | null = null;
  if (minNightFlowM3h !== null && legitimateNightUseM3h !== null) {
    nightLeakageM3h = Math.max(0, minNightFlowM3h - legitimateNightUseM3h);
    if (minNightFlowM3h < legitimateNightUseM3h) {
      notes.push('minimum night flow is below the assumed legitimate night use: leakage taken as 0');
    }
  }
  const ndfSource = input.ndfHours !== undefined ? 'given' : input.pressureProfileM ? 'pressure' : 'default';
  const ndfHours =
    input.ndfHours ??
    (input.pressureProfileM ? ndfFromPressure(input.pressureProfileM, o) : o.defaultNdfHours);
  const mnfLeakageM3 = nightLeakageM3h === null ? null : nightLeakageM3h * ndfHours * days;
  if (mnfLeakageM3 !== null && (ndfSource === 'default' || estimated.has('minNightFlowM3h'))) {
    estimated.add('mnfLeakageM3');
  }

  // Real losses, CARL, UARL and ILI.
  const apparentLossesM3 = input.apparentLossesM3 ?? null;
  let realLossesM3: number | null = null;
  let realLossesSource: DistrictBalance['realLossesSource'] = null;
  if (mnfLeakageM3 !== null) {
    realLossesM3 = mnfLeakageM3;
    realLossesSource = 'mnf';
    if (estimated.has('mnfLeakageM3')) estimated.add('realLossesM3');
  } else if (waterLossesM3 !== null && apparentLossesM3 !== null) {
    realLossesM3 = waterLossesM3 - apparentLossesM3;
    realLossesSource = 'top-down';
    if (balanceEstimated) estimated.add('realLossesM3');
  }
  const carlLPerDay = realLossesM3 === null ? null : (realLossesM3 * 1000) / days;

  const lm = district.mainsLengthKm;
  const p = district.avgPressureM;
  let lp = district.privatePipeKm;
  if (lp === null && nc !== null && o.avgServiceLengthM !== null) {
    lp = (nc * o.avgServiceLengthM) / 1000;
    notes.push(`Lp derived as connections × ${o.avgServiceLengthM} m average service length`);
  }
  if (lm === null) missing.add('mainsLengthKm');
  if (lp === null) missing.add('privatePipeKm');
  if (p === null) missing.add('avgPressureM');
  const uarlLPerDay =
    lm === null || nc === null || lp === null || p === null ? null : (18 * lm + 0.8 * nc + 25 * lp) * p;
  if (nc !== null && nc < 3000 && uarlLPerDay !== null) {
    notes.push('UARL formula is calibrated on systems of 3000+ connections: ILI is indicative');
  }
  let ili: number | null = null;
  if (carlLPerDay !== null && uarlLPerDay !== null && uarlLPerDay > 0) {
    if (carlLPerDay >= 0) ili = carlLPerDay / uarlLPerDay;
    else notes.push('negative real losses: ILI not computed');
  }
  if (estimated.has('realLossesM3')) {
    estimated.add('carlLPerDay');
    if (ili !== null) estimated.add('ili');
  }

  const figures: Record<BalanceFigure, number | null> = {
    systemInputM3,
    authorisedConsumptionM3,
    waterLossesM3,
    nonRevenueWaterM3,
    nrwPercent,
    nrwLPerConnDay,
    minNightFlowM3h,
    mnfLeakageM3,
    realLossesM3,
    carlLPerDay,
    uarlLPerDay,
    ili,
  };
  return {
    districtId: district.id,
    period,
    days,
    connections: nc,
    inflowM3,
    outflowM3,
    systemInputM3,
    consumptionSource: consumption.source,
    billedAuthorisedM3,
    unbilledAuthorisedM3,
    authorisedConsumptionM3,
    waterLossesM3,
    nonRevenueWaterM3,
    nrwPercent,
    nrwLPerConnDay,
    minNightFlowM3h,
    legitimateNightUseM3h,
    nightLeakageM3h,
    ndfHours,
    ndfSource,
    mnfLeakageM3,
    apparentLossesM3,
    realLossesM3,
    realLossesSource,
    carlLPerDay,
    carlM3PerYear: carlLPerDay === null ? null : (carlLPerDay * 365) / 1000,
    uarlLPerDay,
    uarlM3PerYear: uarlLPerDay === null ? null : (uarlLPerDay * 365) / 1000,
    ili,
    missing: [...missing],
    notComputed: (Object.keys(figures) as BalanceFigure[]).filter((f) => figures[f] === null),
    estimated: [...estimated].filter((f) => figures[f] !== null),
    notes,
  };
}

// ---------------------------------------------------------------- network-wide

const NETWORK_SUMS = [
  'systemInputM3',
  'authorisedConsumptionM3',
  'waterLossesM3',
  'nonRevenueWaterM3',
  'mnfLeakageM3',
  'realLossesM3',
  'carlLPerDay',
  'uarlLPerDay',
] as const;
type NetworkSum = (typeof NETWORK_SUMS)[number];
export type NetworkFigure = NetworkSum | 'nrwPercent' | 'nrwLPerConnDay' | 'ili';

export interface NetworkBalance {
  kind: PeriodKind;
  label: string;
  districts: number;
  figures: Record<NetworkFigure, number | null>;
  /** How many districts each figure is computed over; fewer than `districts` means the figure is partial. */
  included: Record<NetworkFigure, number>;
  partial: NetworkFigure[];
  estimated: NetworkFigure[];
  /** Every input missing in at least one district. */
  missing: MissingInput[];
  missingByDistrict: Record<string, MissingInput[]>;
}

/**
 * Network-wide totals of district balances of the same local period. System input volumes add up
 * correctly even when districts feed each other: a transfer is an outlet of one and an inlet of the other.
 * Each sum covers the districts where the figure is known (`included` says how many), and each ratio is
 * taken over one consistent set of districts: NRW % = ΣNRW / ΣSIV over districts with both,
 * NRW per connection = ΣNRW / Σ(Nc·days), ILI = ΣCARL / ΣUARL over districts with an ILI (IWA's
 * system-level ILI, not a mean of district ILIs).
 */
export function networkBalance(balances: readonly DistrictBalance[]): NetworkBalance {
  const first = balances[0];
  if (!first) throw new RangeError('a network balance needs at least one district');
  if (balances.some((b) => b.period.kind !== first.period.kind || b.period.label !== first.period.label)) {
    throw new RangeError('district balances of different periods cannot be added up');
  }
  const figures = {} as Record<NetworkFigure, number | null>;
  const included = {} as Record<NetworkFigure, number>;
  const estimated: NetworkFigure[] = [];
  const over = (
    figure: NetworkFigure,
    keep: (b: DistrictBalance) => boolean,
    value: (bs: DistrictBalance[]) => number,
    estimatedIf: readonly BalanceFigure[],
  ): void => {
    const kept = balances.filter(keep);
    included[figure] = kept.length;
    figures[figure] = kept.length === 0 ? null : value(kept);
    if (kept.some((b) => estimatedIf.some((f) => b.estimated.includes(f)))) estimated.push(figure);
  };
  for (const f of NETWORK_SUMS) {
    over(
      f,
      (b) => b[f] !== null,
      (bs) => sum(bs.map((b) => b[f]!)),
      [f],
    );
  }
  over(
    'nrwPercent',
    (b) => b.nrwPercent !== null,
    (bs) => (100 * sum(bs.map((b) => b.nonRevenueWaterM3!))) / sum(bs.map((b) => b.systemInputM3!)),
    ['nrwPercent'],
  );
  over(
    'nrwLPerConnDay',
    (b) => b.nrwLPerConnDay !== null,
    (bs) => (1000 * sum(bs.map((b) => b.nonRevenueWaterM3!))) / sum(bs.map((b) => b.connections! * b.days)),
    ['nrwLPerConnDay'],
  );
  over(
    'ili',
    (b) => b.ili !== null,
    (bs) => sum(bs.map((b) => b.carlLPerDay!)) / sum(bs.map((b) => b.uarlLPerDay!)),
    ['ili'],
  );
  const missingByDistrict: Record<string, MissingInput[]> = {};
  for (const b of balances) if (b.missing.length > 0) missingByDistrict[b.districtId] = b.missing;
  return {
    kind: first.period.kind,
    label: first.period.label,
    districts: balances.length,
    figures,
    included,
    partial: (Object.keys(included) as NetworkFigure[]).filter((f) => included[f] < balances.length),
    estimated,
    missing: [...new Set(balances.flatMap((b) => b.missing))],
    missingByDistrict,
  };
}
