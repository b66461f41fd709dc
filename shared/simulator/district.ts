/**
 * District hydraulics at an instant: authorised consumption, background leakage, export, injected
 * leaks and bursts, their sum (the inflow through the inlets), head loss, water temperature, the
 * service reservoir, and closed-form litres since 1970 for the volume registers.
 *
 * Water balance at every instant:
 *   inflow through the inlets = authorised consumption (Σ customer groups)
 *                              + background leakage + export through outlets + leaks + bursts.
 * The service reservoir sits upstream of the inlets: its net flow is the day's mean inflow (without
 * leaks and bursts) minus the current one, so it fills at night, empties at the peaks, and is back to
 * its mid level at every local midnight.
 */
import { Clock, DAY_MS, HOUR_MS, WEEK_MS } from './calendar.ts';
import { COMMERCIAL, INDUSTRIAL, RESIDENTIAL, rate } from './demand.ts';
import { DISTRICT_LOOKBACK_WEEKS, type SimEvent, weekOf, weekStartMs } from './event-types.ts';
import { type EventSchedule, eventLitres, eventRate } from './events.ts';
import type { DistrictModel, NodeModel } from './network.ts';

export const M_PER_BAR = 10.197;
export const TWO_PI = 2 * Math.PI;

/** A daily curve as 25 hourly knots (the last repeats the first), read by linear interpolation. */
function hourlyKnots(f: (hour: number) => number): Float64Array {
  const k = new Float64Array(25);
  for (let h = 0; h <= 24; h++) k[h] = f(h % 24);
  return k;
}
function cyclic(knots: Float64Array, wall: number): number {
  const i = wall < 23 ? wall | 0 : 23;
  const v0 = knots[i]!;
  return v0 + (knots[i + 1]! - v0) * (wall - i);
}
/** Trunk-main head variation at the inlet (m): highest at 03:00 when the whole system draws least. */
const UPSTREAM_HEAD = hourlyKnots((h) => Math.cos((TWO_PI * (h - 3)) / 24));
/** Daily swing of water temperature (°C). */
const DAILY_TEMPERATURE = hourlyKnots((h) => 0.15 * Math.sin((TWO_PI * (h - 9)) / 24));

/**
 * A slow function of time evaluated at whole UTC hours and interpolated linearly in between: smooth,
 * cheap, and still a pure function of t.
 */
export class HourlyCurve {
  private hour = Number.NaN;
  private v0 = 0;
  private v1 = 0;
  private readonly f: (t: number) => number;

  constructor(f: (t: number) => number) {
    this.f = f;
  }

  at(t: number): number {
    const hour = Math.floor(t / HOUR_MS);
    if (hour !== this.hour) {
      this.hour = hour;
      this.v0 = this.f(hour * HOUR_MS);
      this.v1 = this.f((hour + 1) * HOUR_MS);
    }
    return this.v0 + ((this.v1 - this.v0) * (t - this.hour * HOUR_MS)) / HOUR_MS;
  }
}

export interface DistrictLitres {
  consumption: number;
  leakage: number;
  exported: number;
  events: number;
}

/** Cumulative litres of each inflow component of a district since 1970 up to t (ground truth). */
export function districtLitres(d: DistrictModel, schedule: EventSchedule, t: number): DistrictLitres {
  const st = new DistrictState(d, schedule, true);
  st.at(t);
  st.litres(t);
  return {
    consumption: st.consumptionL,
    leakage: st.leakageL,
    exported: st.exportedL,
    events: st.extraLitres,
  };
}

/** District flows at one instant; reused along a window so that nothing is allocated per reading. */
export class DistrictState {
  readonly clock = new Clock();
  private readonly d: DistrictModel;
  private readonly schedule: EventSchedule;
  private readonly withVolume: boolean;
  private readonly seasonalTemperature: HourlyCurve;
  private day = -1;
  private weekStart = 0;
  private weekEnd = Number.NEGATIVE_INFINITY;
  private events: SimEvent[] = [];
  private eventBase = 0;
  /** Σ_p demand_p × dayTotal_p for the current day (hours). */
  private demandDay = 0;
  /** Mean authorised consumption over the current day, L/s. */
  consMean = 1;
  cons = 0;
  leak = 0;
  exported = 0;
  extra = 0;
  inflow = 0;
  /** Litres lost by leaks and bursts since 1970 up to now (only with volume). */
  extraLitres = 0;
  consumptionL = 0;
  leakageL = 0;
  exportedL = 0;
  tankFlow = 0;
  tankStored = 0;

  constructor(d: DistrictModel, schedule: EventSchedule, withVolume: boolean) {
    this.d = d;
    this.schedule = schedule;
    this.withVolume = withVolume;
    // Coldest in February, warmest in August.
    this.seasonalTemperature = new HourlyCurve(
      (t) => 14 + 6.5 * Math.cos((TWO_PI * (t / DAY_MS - 213)) / 365.2425) + d.temperatureOffset,
    );
  }

  at(t: number): void {
    const c = this.clock;
    c.set(t);
    const A = this.d.demand;
    if (c.day !== this.day) {
      this.day = c.day;
      this.demandDay = A[0]! * c.total[0]! + A[1]! * c.total[1]! + A[2]! * c.total[2]!;
      this.consMean = (c.season * this.demandDay) / c.lengthH;
    }
    if (t >= this.weekEnd || t < this.weekStart) {
      const w = weekOf(t);
      this.weekStart = weekStartMs(w);
      this.weekEnd = this.weekStart + WEEK_MS;
      // Events starting in earlier weeks have all ended: their litres are in volumeBefore. Events of
      // the lookback weeks that ended before this week are folded in too (in schedule order).
      this.events = [];
      let base = this.withVolume ? this.schedule.volumeBefore(this.d, w - DISTRICT_LOOKBACK_WEEKS) : 0;
      for (let x = w - DISTRICT_LOOKBACK_WEEKS; x <= w; x++) {
        for (const e of this.schedule.scheduledIn(this.d, x)) {
          if (e.endMs > this.weekStart) this.events.push(e);
          else if (this.withVolume)
            base += eventLitres(e.type, e.startMs, e.endMs, e.rampEndMs ?? e.startMs, e.magnitude, e.endMs);
        }
      }
      this.eventBase = base;
    }
    const dt = c.dayType;
    const wall = c.wall;
    const s = c.season;
    const r0 = rate(RESIDENTIAL, dt, wall);
    let cons = A[0]! * r0;
    if (A[1]! > 0) cons += A[1]! * rate(COMMERCIAL, dt, wall);
    if (A[2]! > 0) cons += A[2]! * rate(INDUSTRIAL, dt, wall);
    cons *= s;
    this.cons = cons;
    this.leak = this.d.leakBase * (1 + this.d.leakBeta * (1 - cons / this.consMean));
    this.exported = this.d.exportScale * s * r0;
    let extra = 0;
    let litres = this.eventBase;
    for (let i = 0; i < this.events.length; i++) {
      const e = this.events[i]!;
      extra += eventRate(e, t);
      if (this.withVolume)
        litres += eventLitres(e.type, e.startMs, e.endMs, e.rampEndMs ?? e.startMs, e.magnitude, t);
    }
    this.extra = extra;
    this.extraLitres = litres;
    this.inflow = cons + this.leak + this.exported + extra;
  }

  /** Sets consumptionL, leakageL, exportedL (litres since 1970 up to the last at(t)) and returns the inflow litres. */
  litres(t: number): number {
    const c = this.clock;
    const A = this.d.demand;
    const w0 = c.today(0);
    const w1 = A[1]! > 0 ? c.today(1) : 0;
    const w2 = A[2]! > 0 ? c.today(2) : 0;
    this.consumptionL =
      3600 *
      (A[0]! * (c.prefix[0]! + c.season * w0) +
        A[1]! * (c.prefix[1]! + c.season * w1) +
        A[2]! * (c.prefix[2]! + c.season * w2));
    const relToday = (A[0]! * w0 + A[1]! * w1 + A[2]! * w2) / this.demandDay;
    // ∫ leak = L0·t + L0·β·∫(1 − cons/consMean): the second term is zero over every whole day.
    this.leakageL = this.d.leakBase * (t / 1000 + 3600 * this.d.leakBeta * (c.hours - c.lengthH * relToday));
    this.exportedL = this.d.exportScale * 3600 * (c.prefix[0]! + c.season * w0);
    return this.consumptionL + this.leakageL + this.exportedL + this.extraLitres;
  }

  /** Sets tankFlow (L/s, + filling) and tankStored (m³) of the service reservoir at the last at(t). */
  tank(node: NodeModel): void {
    const c = this.clock;
    const A = this.d.demand;
    const w0 = c.today(0);
    const w1 = A[1]! > 0 ? c.today(1) : 0;
    const w2 = A[2]! > 0 ? c.today(2) : 0;
    const meanBase =
      this.consMean + this.d.leakBase + (this.d.exportScale * c.season * c.total[0]!) / c.lengthH;
    const demandToday = A[0]! * w0 + A[1]! * w1 + A[2]! * w2;
    const relToday = demandToday / this.demandDay;
    const todayL =
      3600 * c.season * demandToday +
      this.d.leakBase * 3600 * (c.hours + this.d.leakBeta * (c.hours - c.lengthH * relToday)) +
      this.d.exportScale * 3600 * c.season * w0;
    this.tankFlow = meanBase - (this.cons + this.leak + this.exported);
    this.tankStored = node.tankMidM3 + (meanBase * c.hours * 3600 - todayL) / 1000;
  }

  /** Head at the inlet before head loss (m). */
  upstreamHead(): number {
    return this.d.staticHeadM + cyclic(UPSTREAM_HEAD, this.clock.wall);
  }

  /** k·Q² (m): the head loss at the far end of the district. */
  headLoss(): number {
    return this.d.headLossK * this.inflow * this.inflow;
  }

  /** Pressure (bar) at a node: upstream head, minus elevation, minus its share of k·Q². */
  pressureAt(node: NodeModel): number {
    return pressureBar(this.upstreamHead(), node, this.headLoss());
  }

  /** Water temperature (°C) at the last at(t). */
  temperature(t: number): number {
    return this.seasonalTemperature.at(t) + cyclic(DAILY_TEMPERATURE, this.clock.wall);
  }
}

export function pressureBar(upstreamHead: number, node: NodeModel, headLoss: number): number {
  const head = upstreamHead - node.elevationM - node.headLossShare * headLoss;
  return head > 0 ? head / M_PER_BAR : 0;
}

/**
 * The district-wide quantities of a window, shared by the nodes of one district: most nodes of a
 * district are generated one after the other over the same window, so they are computed once.
 */
export class DistrictSeries {
  readonly d: DistrictModel;
  readonly first: number;
  readonly step: number;
  readonly n: number;
  readonly upstreamHead: Float64Array;
  readonly headLoss: Float64Array;
  /** Consumption relative to the day's mean. */
  readonly relDemand: Float64Array;
  readonly exported: Float64Array;
  readonly temperature: Float64Array;
  readonly wall: Float64Array;
  readonly day: Float64Array;

  constructor(d: DistrictModel, schedule: EventSchedule, ts: Float64Array, n: number) {
    this.d = d;
    this.first = ts[0]!;
    this.step = n > 1 ? ts[1]! - ts[0]! : 0;
    this.n = n;
    this.upstreamHead = new Float64Array(n);
    this.headLoss = new Float64Array(n);
    this.relDemand = new Float64Array(n);
    this.exported = new Float64Array(n);
    this.temperature = new Float64Array(n);
    this.wall = new Float64Array(n);
    this.day = new Float64Array(n);
    const st = new DistrictState(d, schedule, false);
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      st.at(t);
      this.upstreamHead[i] = st.upstreamHead();
      this.headLoss[i] = st.headLoss();
      this.relDemand[i] = st.cons / st.consMean;
      this.exported[i] = st.exported;
      this.temperature[i] = st.temperature(t);
      this.wall[i] = st.clock.wall;
      this.day[i] = st.clock.day;
    }
  }

  matches(d: DistrictModel, ts: Float64Array, n: number): boolean {
    return this.d === d && this.n === n && this.first === ts[0] && (n < 2 || this.step === ts[1]! - ts[0]!);
  }
}
