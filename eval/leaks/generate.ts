/**
 * SCADA readings of L-Town generated with EPANET (epanet-js, EPANET 2.2 in WebAssembly) the way BattLeDIM
 * made its data (../shared/data/ltown/README.md):
 *
 * - 5-minute hydraulic steps, pressure-driven demand (nominal pressure 25 m).
 * - Each scheduled leak splits its pipe in the middle and adds a leak node with an emitter
 *   Q = 0.75 · A · √(2 g h) (A the leak's area, h the pressure head): full size from the start for abrupt
 *   leaks, growing linearly to full size at the peak time for incipient ones; repaired (closed) at its end.
 * - Demand uncertainty: the model's weekly patterns scaled by a yearly cycle (±8 %, peak in July), a slow
 *   random walk of the whole town's demand (AR(1), about ±3 %) and a daily factor per junction (σ 5 %).
 * - Sensor noise (Gaussian): pressure 0.05 m, flows 0.5 % + 0.03 L/s, tank level 5 mm, AMR meters 1 %.
 *
 * Readings in the system's units: pressure in bar, flow in L/s, the tank as its volume (m³) and the head of
 * water above its floor (bar). Seeded: the same inputs give the same readings. The weekly patterns start
 * on a Monday at 00:00, as the model's do, so the simulation starts on the Monday on or before `fromMs`.
 */
import { Project, Workspace } from 'epanet-js';
import { gaussian, seededRandom } from '../../shared/domain/random.ts';
import { type LeakSchedule, leakSizeAt, type SensorLayout } from './schedule.ts';

/**
 * EPANET's toolkit codes (epanet-js's enums, whose type declarations TypeScript's NodeNext resolution
 * cannot follow: the values from its enum/*.d.ts).
 */
const CountType = { NodeCount: 0, LinkCount: 2 } as Record<string, number> as {
  NodeCount: number;
  LinkCount: number;
};
const DemandModel = { PDA: 1 };
const InitHydOption = { NoSave: 0 };
const LinkType: Record<'CVPipe' | 'Pipe', number> = { CVPipe: 0, Pipe: 1 };
const NodeType: Record<'Junction', number> = { Junction: 0 };
const Option = { DemandMult: 4 };
const TimeParameter = { Duration: 0, ReportStep: 5 };
const NodeProperty = { Elevation: 0, Emitter: 3, Demand: 9, Pressure: 11 };
const LinkProperty = { Diameter: 0, Length: 1, Roughness: 2, MinorLoss: 3, Flow: 8 };

export const STEP_MS = 5 * 60_000;
const DAY_MS = 86_400_000;
const G = 9.81;
/** m of head per bar. */
const M_PER_BAR = 10.197;
const TANK_DIAMETER_M = 16;

export type SensorKind = 'pressure' | 'flow' | 'level' | 'amr';

export interface SensorSeries {
  id: string;
  kind: SensorKind;
  /** L-Town's area: A (fed by the reservoirs), B (behind PRV-3), C (fed by the tank T1). */
  area: string;
  /** One value per 5-minute step, in the system's unit (bar, L/s; m of level for the tank). */
  values: Float32Array;
}

export interface GeneratedReadings {
  /** Time of step 0 (a Monday, 00:00 UTC). */
  startMs: number;
  steps: number;
  sensors: SensorSeries[];
  /** Mean total inflow (both reservoirs), L/s, and each leak's mean outflow while active, L/s. */
  meanInflowLps: number;
  leakOutflowLps: Record<string, number>;
  /** Each leak's outflow per step (L/s), for the competition's score (water not lost). */
  leakSeries: Record<string, Float32Array>;
  /** Each leak's area (A, B, C). */
  leakArea: Record<string, string>;
}

export interface GenerateOptions {
  inpText: string;
  schedule: LeakSchedule;
  fromMs: number;
  toMs: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

/** Monday 00:00 UTC on or before `ms`. */
export function mondayOnOrBefore(ms: number): number {
  const day = Math.floor(ms / DAY_MS) * DAY_MS;
  const weekday = (new Date(day).getUTCDay() + 6) % 7;
  return day - weekday * DAY_MS;
}

/** Emitter coefficient (m³/h per √m of head) of a fully open leak of diameter d (m). */
export function leakEmitter(diameterM: number): number {
  const area = (Math.PI * diameterM * diameterM) / 4;
  return 3600 * 0.75 * area * Math.sqrt(2 * G);
}

/** Splits pipe `pipeId` in the middle with a new junction `leak-<pipe>`; returns the junction's index. */
function addLeakNode(p: Project, pipeId: string): number {
  const link = p.getLinkIndex(pipeId);
  const { node1, node2 } = p.getLinkNodes(link);
  const length = p.getLinkValue(link, LinkProperty.Length);
  const diameter = p.getLinkValue(link, LinkProperty.Diameter);
  const roughness = p.getLinkValue(link, LinkProperty.Roughness);
  const minorLoss = p.getLinkValue(link, LinkProperty.MinorLoss);
  const elevation =
    (p.getNodeValue(node1, NodeProperty.Elevation) + p.getNodeValue(node2, NodeProperty.Elevation)) / 2;
  const id = `leak-${pipeId}`;
  const node = p.addNode(id, NodeType.Junction);
  p.setJunctionData(node, elevation, 0, '');
  const a = p.getCoordinates(node1);
  const b = p.getCoordinates(node2);
  p.setCoordinates(node, (a.x + b.x) / 2, (a.y + b.y) / 2);
  const end = p.getNodeId(node2);
  p.setLinkNodes(link, node1, node);
  p.setLinkValue(link, LinkProperty.Length, length / 2);
  const second = p.addLink(`${pipeId}-b`, LinkType.Pipe, id, end);
  p.setPipeData(second, length / 2, diameter, roughness, minorLoss);
  return node;
}

interface Probe {
  series: SensorSeries;
  read: () => number;
  noise: (v: number, z: number) => number;
}

/** Runs the simulation over [Monday on or before fromMs, toMs) and returns every sensor's readings. */
export async function generateReadings(options: GenerateOptions): Promise<GeneratedReadings> {
  const { schedule, seed } = options;
  const startMs = mondayOnOrBefore(options.fromMs);
  const steps = Math.ceil((options.toMs - startMs) / STEP_MS);
  const ws = new Workspace();
  await ws.loadModule();
  ws.writeFile('net.inp', options.inpText);
  const p = new Project(ws);
  p.open('net.inp', 'net.rpt', 'net.bin');
  p.setDemandModel(DemandModel.PDA, 0, 25, 0.5);
  p.setTimeParameter(TimeParameter.Duration, (steps - 1) * (STEP_MS / 1000));
  p.setTimeParameter(TimeParameter.ReportStep, STEP_MS / 1000);

  const area = areasOf(p);
  const leaks = schedule.leaks
    .filter((l) => l.endMs > startMs && l.startMs < options.toMs)
    .map((l) => {
      const pipeArea = area(p.getLinkNodes(p.getLinkIndex(l.pipe)).node1);
      const node = addLeakNode(p, l.pipe);
      const series = new Float32Array(steps);
      return { leak: l, node, area: pipeArea, full: leakEmitter(l.diameterM), series, sum: 0, n: 0 };
    });

  // Base demands per junction and demand category, scaled by a daily factor per junction.
  const junctions: { node: number; base: number[] }[] = [];
  const nodeCount = p.getCount(CountType.NodeCount);
  for (let i = 1; i <= nodeCount; i++) {
    if (p.getNodeType(i) !== NodeType.Junction) continue;
    const n = p.getNumberOfDemands(i);
    const base = Array.from({ length: n }, (_, d) => p.getBaseDemand(i, d + 1));
    if (base.some((b) => b > 0)) junctions.push({ node: i, base });
  }

  const sensors = schedule.sensors;
  const probes = probesOf(p, sensors, steps, area);
  const zDemand = gaussian(seededRandom(seed));
  const zNoise = gaussian(seededRandom(seed ^ 0x5bd1e995));
  const inflow = ['p227', 'p235'].map((id) => p.getLinkIndex(id));
  let inflowSum = 0;
  let walk = 0;

  p.openH();
  p.initH(InitHydOption.NoSave);
  let t = 0;
  let day = -1;
  for (;;) {
    const nowMs = startMs + t * 1000;
    const onStep = t % (STEP_MS / 1000) === 0;
    if (onStep) {
      const thisDay = Math.floor(t / 86_400);
      if (thisDay !== day) {
        day = thisDay;
        for (const j of junctions) {
          const f = Math.max(0.7, 1 + 0.05 * zDemand());
          for (let d = 0; d < j.base.length; d++) p.setBaseDemand(j.node, d + 1, j.base[d]! * f);
        }
      }
      walk = 0.995 * walk + 0.003 * zDemand();
      const doy = (nowMs - Date.UTC(new Date(nowMs).getUTCFullYear(), 0, 1)) / DAY_MS;
      const seasonal = 1 + 0.08 * Math.cos((2 * Math.PI * (doy - 196)) / 365.25);
      p.setOption(Option.DemandMult, seasonal * (1 + walk));
      for (const l of leaks) p.setNodeValue(l.node, NodeProperty.Emitter, l.full * leakSizeAt(l.leak, nowMs));
    }
    p.runH();
    if (onStep) {
      const i = t / (STEP_MS / 1000);
      if (i < steps) {
        for (const pr of probes) pr.series.values[i] = pr.noise(pr.read(), zNoise());
        inflowSum += inflow.reduce((s, l) => s + p.getLinkValue(l, LinkProperty.Flow), 0) / 3.6;
        for (const l of leaks) {
          if (leakSizeAt(l.leak, nowMs) > 0) {
            l.series[i] = p.getNodeValue(l.node, NodeProperty.Demand) / 3.6;
            l.sum += l.series[i]!;
            l.n++;
          }
        }
        if (i % 2016 === 0) options.onProgress?.(i, steps);
      }
    }
    const dt = p.nextH();
    if (dt <= 0) break;
    t += dt;
  }
  p.closeH();
  p.close();
  options.onProgress?.(steps, steps);
  return {
    startMs,
    steps,
    sensors: probes.map((pr) => pr.series),
    meanInflowLps: inflowSum / steps,
    leakOutflowLps: Object.fromEntries(leaks.map((l) => [l.leak.pipe, l.n > 0 ? l.sum / l.n : 0])),
    leakSeries: Object.fromEntries(leaks.map((l) => [l.leak.pipe, l.series])),
    leakArea: Object.fromEntries(leaks.map((l) => [l.leak.pipe, l.area])),
  };
}

/**
 * L-Town's areas from its topology: the pipes' connected parts once the pump and the pressure-reducing
 * valves are taken out. The part holding the tank is C, the largest A, the other one with junctions B
 * (behind PRV-3); the reservoirs' stubs belong to A, which they feed. Returns the area of a node index.
 */
function areasOf(p: Project): (node: number) => string {
  const n = p.getCount(CountType.NodeCount);
  const parent = Int32Array.from({ length: n + 1 }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  for (let l = 1; l <= p.getCount(CountType.LinkCount); l++) {
    const type = p.getLinkType(l);
    if (type !== LinkType.Pipe && type !== LinkType.CVPipe) continue;
    const { node1, node2 } = p.getLinkNodes(l);
    parent[find(node1)] = find(node2);
  }
  const size = new Map<number, number>();
  for (let i = 1; i <= n; i++) {
    if (p.getNodeType(i) === NodeType.Junction) size.set(find(i), (size.get(find(i)) ?? 0) + 1);
  }
  const tank = find(p.getNodeIndex('T1'));
  const parts = [...size.entries()].filter(([root]) => root !== tank).sort((a, b) => b[1] - a[1]);
  const a = parts[0]?.[0];
  const name = new Map<number, string>([[tank, 'C']]);
  if (a !== undefined) name.set(a, 'A');
  for (const [root, count] of parts.slice(1)) name.set(root, count > 2 ? 'B' : 'A');
  return (node) => name.get(find(node)) ?? 'A';
}

function probesOf(p: Project, sensors: SensorLayout, steps: number, area: (node: number) => string): Probe[] {
  const series = (id: string, kind: SensorKind, node: number) => ({
    id,
    kind,
    area: area(node),
    values: new Float32Array(steps),
  });
  const node = (id: string) => {
    const i = p.getNodeIndex(id);
    if (i <= 0) throw new Error(`sensor node ${id} is not in the network`);
    return i;
  };
  const link = (id: string) => {
    const i = p.getLinkIndex(id);
    if (i <= 0) throw new Error(`flow sensor link ${id} is not in the network`);
    return i;
  };
  return [
    ...sensors.pressure.map((id) => {
      const i = node(id);
      return {
        series: series(id, 'pressure', i),
        read: () => p.getNodeValue(i, NodeProperty.Pressure),
        noise: (v: number, z: number) => (v + 0.05 * z) / M_PER_BAR,
      };
    }),
    ...sensors.flow.map((id) => {
      const i = link(id);
      return {
        series: series(id, 'flow', p.getLinkNodes(i).node2),
        read: () => p.getLinkValue(i, LinkProperty.Flow) / 3.6,
        noise: (v: number, z: number) => (v === 0 ? 0 : v * (1 + 0.005 * z) + 0.03 * z),
      };
    }),
    ...sensors.level.map((id) => {
      const i = node(id);
      return {
        series: series(id, 'level', i),
        read: () => p.getNodeValue(i, NodeProperty.Pressure),
        noise: (v: number, z: number) => v + 0.005 * z,
      };
    }),
    ...sensors.amr.map((id) => {
      const i = node(id);
      return {
        series: series(id, 'amr', i),
        read: () => p.getNodeValue(i, NodeProperty.Demand) / 3.6,
        noise: (v: number, z: number) => Math.max(0, v * (1 + 0.01 * z)),
      };
    }),
  ];
}

/** The tank's volume (m³) at a level (m): L-Town's T1 is a cylinder 16 m across. */
export const tankVolume = (levelM: number): number => (Math.PI * TANK_DIAMETER_M ** 2 * levelM) / 4;
export const headToBar = (m: number): number => m / M_PER_BAR;
