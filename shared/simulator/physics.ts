/**
 * What each node truly measures (before sensor faults and ingestion): flows, pressures, storage,
 * pumps, water quality, with small measurement noise. Every value is a pure function of
 * (seed, node, t); the district hydraulics behind them are in district.ts.
 */
import type { Metric } from '../domain/readings.ts';
import { Clock, DAY_MS, HOUR_MS } from './calendar.ts';
import { DistrictSeries, DistrictState, HourlyCurve, M_PER_BAR, pressureBar, TWO_PI } from './district.ts';
import type { EventSchedule } from './events.ts';
import { at, gauss, keyOf, mix32, unit } from './hash.ts';
import { type NodeModel, pumpRuns } from './network.ts';

export type MetricColumns = Partial<Record<Metric, Float64Array>>;

/** ln(1.07): chlorine bulk decay grows 7 % per °C. */
const LN_DECAY_PER_DEGREE = Math.log(1.07);
const EXCURSION_MS = 6 * HOUR_MS;

/** 0 outside [start, end), rising and falling linearly over `ramp` ms at both ends, 1 in between. */
function trapezoid(t: number, start: number, end: number, ramp: number): number {
  if (t < start || t >= end) return 0;
  return Math.min(1, (t - start) / ramp, (end - t) / ramp);
}

export function allocateColumns(metrics: readonly Metric[], n: number): MetricColumns {
  const out: MetricColumns = {};
  for (const m of metrics) out[m] = new Float64Array(n);
  return out;
}

export class Physics {
  private readonly schedule: EventSchedule;
  private readonly noiseScale: number;
  private series: DistrictSeries | undefined;

  constructor(schedule: EventSchedule, noiseScale: number) {
    this.schedule = schedule;
    this.noiseScale = noiseScale;
  }

  /** District-wide series for a window on a uniform grid (cached: the last district and window). */
  private seriesFor(node: NodeModel, ts: Float64Array, n: number): DistrictSeries {
    if (!this.series?.matches(node.district, ts, n)) {
      this.series = new DistrictSeries(node.district, this.schedule, ts, n);
    }
    return this.series;
  }

  /** Fills out[metric][0..n) with the node's true values (with noise) at the uniform grid ts. */
  fill(node: NodeModel, ts: Float64Array, n: number, out: MetricColumns): void {
    if (n === 0) return;
    // One small function per kind: V8 optimises each loop on its own.
    switch (node.kind) {
      case 'inlet':
        this.fillInlet(node, ts, n, out);
        break;
      case 'outlet':
        this.fillOutlet(node, ts, n, out);
        break;
      case 'pressure':
        this.fillPressure(node, ts, n, out);
        break;
      case 'tank':
        this.fillTank(node, ts, n, out);
        break;
      case 'customer':
        this.fillCustomer(node, ts, n, out);
        break;
      case 'pump':
        this.fillPump(node, ts, n, out);
        break;
      case 'quality':
        this.fillQuality(node, ts, n, out);
        break;
    }
  }

  private fillInlet(node: NodeModel, ts: Float64Array, n: number, out: MetricColumns): void {
    const ns = this.noiseScale;
    const kFlow = keyOf(node.key, 50);
    const kPressure = keyOf(node.key, 51);
    const kTemp = keyOf(node.key, 52);
    const flow = out.flow!;
    const pressure = out.pressure!;
    const temperature = out.temperature!;
    const volume = out.volume!;
    const share = node.share;
    const offset = node.volumeOffsetM3;
    const st = new DistrictState(node.district, this.schedule, true);
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      const sec = Math.floor(t / 1000);
      st.at(t);
      const q = share * st.inflow;
      flow[i] = q + (0.01 * q + 0.02) * ns * gauss(at(kFlow, sec));
      pressure[i] = st.pressureAt(node) + 0.015 * ns * gauss(at(kPressure, sec));
      temperature[i] = st.temperature(t) + 0.03 * ns * gauss(at(kTemp, sec));
      volume[i] = offset + (share * st.litres(t)) / 1000;
    }
  }

  private fillOutlet(node: NodeModel, ts: Float64Array, n: number, out: MetricColumns): void {
    const ns = this.noiseScale;
    const kFlow = keyOf(node.key, 50);
    const kPressure = keyOf(node.key, 51);
    const flow = out.flow!;
    const pressure = out.pressure!;
    const volume = out.volume!;
    const s = this.seriesFor(node, ts, n);
    const clock = new Clock();
    const litresPerHour = node.district.exportScale * 3.6;
    const offset = node.volumeOffsetM3;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      const sec = Math.floor(t / 1000);
      clock.set(t);
      const q = s.exported[i]!;
      flow[i] = q + (0.01 * q + 0.02) * ns * gauss(at(kFlow, sec));
      pressure[i] =
        pressureBar(s.upstreamHead[i]!, node, s.headLoss[i]!) + 0.015 * ns * gauss(at(kPressure, sec));
      volume[i] = offset + litresPerHour * clock.cumulative(0);
    }
  }

  private fillPressure(node: NodeModel, ts: Float64Array, n: number, out: MetricColumns): void {
    const ns = this.noiseScale;
    const kPressure = keyOf(node.key, 51);
    const kTemp = keyOf(node.key, 52);
    const pressure = out.pressure!;
    const temperature = out.temperature!;
    const s = this.seriesFor(node, ts, n);
    for (let i = 0; i < n; i++) {
      const sec = Math.floor(ts[i]! / 1000);
      pressure[i] =
        pressureBar(s.upstreamHead[i]!, node, s.headLoss[i]!) + 0.015 * ns * gauss(at(kPressure, sec));
      temperature[i] = s.temperature[i]! + 0.03 * ns * gauss(at(kTemp, sec));
    }
  }

  private fillTank(node: NodeModel, ts: Float64Array, n: number, out: MetricColumns): void {
    const ns = this.noiseScale;
    const kFlow = keyOf(node.key, 50);
    const kPressure = keyOf(node.key, 51);
    const kVolume = keyOf(node.key, 53);
    const flow = out.flow!;
    const pressure = out.pressure!;
    const volume = out.volume!;
    const area = node.tankAreaM2;
    const st = new DistrictState(node.district, this.schedule, false);
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      const sec = Math.floor(t / 1000);
      st.at(t);
      st.tank(node);
      const q = st.tankFlow;
      flow[i] = q + (0.005 * Math.abs(q) + 0.02) * ns * gauss(at(kFlow, sec));
      const level = 0.5 + st.tankStored / area + 0.003 * ns * gauss(at(kPressure, sec));
      pressure[i] = (level * 9.80665) / 100;
      volume[i] = st.tankStored + 0.002 * area * ns * gauss(at(kVolume, sec));
    }
  }

  private fillCustomer(node: NodeModel, ts: Float64Array, n: number, out: MetricColumns): void {
    const ns = this.noiseScale;
    const kFlow = keyOf(node.key, 50);
    const flow = out.flow!;
    const volume = out.volume!;
    const clock = new Clock();
    const p = node.pattern;
    const share = node.share;
    const litresPerHour = share * 3.6;
    const offset = node.volumeOffsetM3;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      clock.set(t);
      flow[i] = share * clock.rate(p) * (1 + 0.02 * ns * gauss(at(kFlow, Math.floor(t / 1000))));
      volume[i] = offset + litresPerHour * clock.cumulative(p);
    }
  }

  private fillPump(node: NodeModel, ts: Float64Array, n: number, out: MetricColumns): void {
    const ns = this.noiseScale;
    const kFlow = keyOf(node.key, 50);
    const kPressure = keyOf(node.key, 51);
    const flow = out.flow!;
    const pressure = out.pressure!;
    const s = this.seriesFor(node, ts, n);
    const rated = node.pumpRatedLs;
    const head = node.pumpHeadM;
    const schedule = node.pumpSchedule;
    for (let i = 0; i < n; i++) {
      const sec = Math.floor(ts[i]! / 1000);
      const suction = pressureBar(s.upstreamHead[i]!, node, s.headLoss[i]!);
      const noiseP = 0.015 * ns * gauss(at(kPressure, sec));
      if (pumpRuns(schedule, s.day[i]!, s.wall[i]!)) {
        const q = rated * (0.8 + 0.2 * s.relDemand[i]!) * (1 + 0.01 * ns * gauss(at(kFlow, sec)));
        const ratio = q / rated;
        flow[i] = q;
        pressure[i] = suction + (head * (1 - 0.15 * ratio * ratio)) / M_PER_BAR + noiseP;
      } else {
        // A stopped pump reads a true zero: no noise, no offset.
        flow[i] = 0;
        pressure[i] = suction + noiseP;
      }
    }
  }

  private fillQuality(node: NodeModel, ts: Float64Array, n: number, out: MetricColumns): void {
    const s = this.seriesFor(node, ts, n);
    const ns = this.noiseScale;
    const kTemp = keyOf(node.key, 52);
    const kChlorine = keyOf(node.key, 54);
    const kTurbidity = keyOf(node.key, 55);
    const kPh = keyOf(node.key, 56);
    const kExcursion = keyOf(node.key, 70);
    const phPhase = unit(at(node.key, 71)) * TWO_PI;
    const phCycle = new HourlyCurve((t) => 0.08 * Math.sin((TWO_PI * t) / (3.7 * DAY_MS) + phPhase));
    const temperature = out.temperature!;
    const chlorine = out.chlorine!;
    const turbidity = out.turbidity!;
    const ph = out.ph!;
    const events = this.schedule.forNode(node, ts[0]!, ts[n - 1]! + 1, ['lowChlorine', 'highTurbidity']);
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      const sec = Math.floor(t / 1000);
      const temp = s.temperature[i]!;
      temperature[i] = temp + 0.03 * ns * gauss(at(kTemp, sec));
      // Low demand means older water and more chlorine decay, faster when warm.
      const rel = s.relDemand[i]!;
      const residence = node.residenceH * (0.6 + 0.4 * Math.min(2.5, 1 / Math.max(rel, 1e-6)));
      const decay = 0.045 * Math.exp(LN_DECAY_PER_DEGREE * (temp - 20));
      // Noise is added after the events: a real analyser keeps its noise through a low-chlorine or
      // high-turbidity episode (an exact constant there would be a stuck sensor, a different fault).
      let cl = node.chlorineDose * Math.exp(-decay * residence);
      // Occasional small turbidity excursions: a 6-hour bump in ~5 % of 6-hour blocks.
      const block = Math.floor(t / EXCURSION_MS);
      const hb = at(kExcursion, block);
      let turb = node.turbidityBase;
      if (unit(hb) < 0.05) {
        const phase = Math.sin((Math.PI * (t - block * EXCURSION_MS)) / EXCURSION_MS);
        turb += (0.15 + 0.5 * unit(mix32(hb))) * phase * phase;
      }
      for (const e of events) {
        if (e.type === 'lowChlorine') {
          const w = trapezoid(t, e.startMs, e.endMs, 20 * 60_000);
          cl = cl * (1 - w) + e.magnitude * w;
        } else {
          const w = trapezoid(t, e.startMs, e.endMs, (e.endMs - e.startMs) / 4);
          turb += (e.magnitude - turb) * w;
        }
      }
      chlorine[i] = Math.max(0, cl + 0.008 * ns * gauss(at(kChlorine, sec)));
      turbidity[i] = Math.max(0.02, turb + 0.01 * ns * gauss(at(kTurbidity, sec)));
      ph[i] = node.phBase + phCycle.at(t) - 0.05 * (rel - 1) + 0.01 * ns * gauss(at(kPh, sec));
    }
  }

  /** The node's true value of one metric at t (used for flatline and spike levels). */
  natural(node: NodeModel, metric: Metric, t: number): number {
    const out = allocateColumns(node.metrics, 1);
    const cached = this.series; // keep the window's series for the next node of the district
    this.fill(node, new Float64Array([t]), 1, out);
    this.series = cached;
    return out[metric]?.[0] ?? Number.NaN;
  }
}
