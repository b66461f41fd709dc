/**
 * IWA water balance and leakage KPIs per district and per local day or month (network-wide totals:
 * network-balance.ts; inputs and outputs: water-balance-types.ts; periods: local-period.ts).
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
import { localParts } from '../domain/local-time.ts';
import { localDayLabel, type Period } from './local-period.ts';
import {
  type BalanceFigure,
  type BalanceOptions,
  type BilledVolume,
  DEFAULT_BALANCE_OPTIONS,
  type DistrictBalance,
  type DistrictBalanceInput,
  type MeterVolume,
  type MissingInput,
} from './water-balance-types.ts';

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
    const night = localDayLabel(p);
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
