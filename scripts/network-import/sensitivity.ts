/**
 * A hydraulic model's leak sensitivity, simulated with EPANET (epanet-js): for every junction (a candidate
 * leak node), the change of head at each mapped pressure sensor that a small leak there makes.
 *
 * How: one extended-period run of the model's own patterns and controls gives the tanks' levels and the
 * pumps' status at a few representative hours; at each of them a steady-state snapshot is solved
 * leak-free, then once per junction with a test leak (an emitter, Q = C·√h) at it. The vector kept is the
 * mean change over the hours (what a day's mean residual compares with), in m; the test leak's outflow is
 * kept beside it (the response is close to linear for small leaks, so a fitted scale gives the leak's size).
 * Junctions are also given their coordinates and the pipes they sit on (where a crew would search).
 */
import { Project, Workspace } from 'epanet-js';
import type { LeakCandidateNode } from '../../shared/anomaly/localise.ts';

/** EPANET's toolkit codes (epanet-js's enums, which TypeScript's NodeNext resolution cannot follow). */
const CountType = { NodeCount: 0, LinkCount: 2 };
const NodeType = { Junction: 0, Tank: 2 };
const NodeProperty = { Emitter: 3, TankLevel: 8, Demand: 9, Head: 10 };
const LinkType = { CVPipe: 0, Pipe: 1, Pump: 2 };
const LinkProperty = { InitStatus: 4, Status: 11 };
const TimeParameter = { Duration: 0, PatternStart: 4, ReportStep: 5 };
const InitHydOption = { NoSave: 0 };
const DemandModel = { DDA: 0, PDA: 1 };

const G = 9.81;

export interface SensitivityOptions {
  inpText: string;
  /** Our pressure points' node ids by the model's node id they measure. */
  sensors: ReadonlyMap<string, string>;
  /** Representative hours from the patterns' start (default: a Wednesday's 03:00, 08:00, 13:00, 19:00). */
  hours?: readonly number[];
  /** Diameter of the test leak's opening, m (default 1 cm: about 1.5–2 L/s at 30–50 m of pressure). */
  leakDiameterM?: number;
  /** Pressure-driven demand (minimum and required pressure, m), as the utility's model is run; default demand-driven. */
  pressureDriven?: { minM: number; requiredM: number };
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_HOURS = [51, 56, 61, 67];

/** Emitter coefficient (model flow units per √m) of an opening of diameter d (m), for a model in m³/h. */
const emitterOf = (d: number) => 3600 * 0.75 * ((Math.PI * d * d) / 4) * Math.sqrt(2 * G);

export interface Sensitivity {
  nodes: LeakCandidateNode[];
  /** Our pressure points whose model node the model does not have (left out). */
  missing: string[];
}

/** Every junction's sensitivity (LeakCandidateNode) for the mapped sensors. */
export async function simulateSensitivity(options: SensitivityOptions): Promise<Sensitivity> {
  const hours = [...(options.hours ?? DEFAULT_HOURS)].sort((a, b) => a - b);
  const ws = new Workspace();
  await ws.loadModule();
  ws.writeFile('net.inp', options.inpText);
  const p = new Project(ws);
  p.open('net.inp', 'net.rpt', 'net.bin');
  if (options.pressureDriven) {
    p.setDemandModel(DemandModel.PDA, options.pressureDriven.minM, options.pressureDriven.requiredM, 0.5);
  }
  const nodes = p.getCount(CountType.NodeCount);
  const links = p.getCount(CountType.LinkCount);
  const ids = new Set(Array.from({ length: nodes }, (_, k) => p.getNodeId(k + 1)));
  const missing = [...options.sensors].filter(([modelId]) => !ids.has(modelId)).map(([, ours]) => ours);
  const sensorIdx = [...options.sensors.entries()]
    .filter(([modelId]) => ids.has(modelId))
    .map(([modelId, ours]) => ({ i: p.getNodeIndex(modelId), ours }));
  const tanks: number[] = [];
  const junctions: number[] = [];
  for (let i = 1; i <= nodes; i++) {
    const t = p.getNodeType(i);
    if (t === NodeType.Junction) junctions.push(i);
    else if (t === NodeType.Tank) tanks.push(i);
  }
  const controlled: number[] = [];
  const pipesOf = new Map<number, string[]>();
  for (let l = 1; l <= links; l++) {
    const type = p.getLinkType(l);
    const { node1, node2 } = p.getLinkNodes(l);
    if (type === LinkType.Pipe || type === LinkType.CVPipe) {
      for (const n of [node1, node2]) pipesOf.set(n, [...(pipesOf.get(n) ?? []), p.getLinkId(l)]);
    } else if (type === LinkType.Pump) controlled.push(l);
  }

  // The extended-period run: tanks' levels and pumps' status at each representative hour.
  p.setTimeParameter(TimeParameter.Duration, hours[hours.length - 1]! * 3600);
  const states: { hour: number; levels: number[]; status: number[] }[] = [];
  p.openH();
  p.initH(InitHydOption.NoSave);
  let next = 0;
  for (;;) {
    const t = p.runH();
    while (next < hours.length && t >= hours[next]! * 3600) {
      states.push({
        hour: hours[next]!,
        levels: tanks.map((i) => p.getNodeValue(i, NodeProperty.Head) - tankBottom(p, i)),
        status: controlled.map((l) => (p.getLinkValue(l, LinkProperty.Status) > 0 ? 1 : 0)),
      });
      next++;
    }
    const dt = p.nextH();
    if (dt <= 0 || next >= hours.length) break;
  }
  p.closeH();

  // Snapshots: leak-free, then a test leak at each junction in turn.
  const emitter = emitterOf(options.leakDiameterM ?? 0.01);
  const sum = junctions.map(() => new Float64Array(sensorIdx.length));
  const leakSum = new Float64Array(junctions.length);
  p.setTimeParameter(TimeParameter.Duration, 0);
  const total = states.length * junctions.length;
  let done = 0;
  const solve = () => {
    p.openH();
    p.initH(InitHydOption.NoSave);
    p.runH();
  };
  for (const s of states) {
    p.setTimeParameter(TimeParameter.PatternStart, s.hour * 3600);
    for (const [k, i] of tanks.entries()) p.setNodeValue(i, NodeProperty.TankLevel, s.levels[k]!);
    for (const [k, l] of controlled.entries()) p.setLinkValue(l, LinkProperty.InitStatus, s.status[k]!);
    solve();
    const base = sensorIdx.map((x) => p.getNodeValue(x.i, NodeProperty.Head));
    p.closeH();
    junctions.forEach((j, k) => {
      const before = p.getNodeValue(j, NodeProperty.Emitter);
      p.setNodeValue(j, NodeProperty.Emitter, before + emitter);
      solve();
      const row = sum[k]!;
      sensorIdx.forEach((x, m) => {
        row[m]! += p.getNodeValue(x.i, NodeProperty.Head) - base[m]!;
      });
      // The emitter's outflow: the node's demand less its own (the consumers' demand shifts a little with head).
      leakSum[k]! += emitter * Math.sqrt(Math.max(0, pressureAt(p, j)));
      p.closeH();
      p.setNodeValue(j, NodeProperty.Emitter, before);
      done++;
      if (done % 200 === 0) options.onProgress?.(done, total);
    });
  }
  options.onProgress?.(total, total);
  const out: LeakCandidateNode[] = junctions.map((j, k) => {
    let xy = { x: Number.NaN, y: Number.NaN };
    try {
      xy = p.getCoordinates(j);
    } catch {
      // A model without coordinates for this node.
    }
    return {
      node: p.getNodeId(j),
      x: Number.isFinite(xy.x) ? xy.x : null,
      y: Number.isFinite(xy.y) ? xy.y : null,
      pipes: (pipesOf.get(j) ?? []).sort(),
      sensors: sensorIdx.map((x) => x.ours),
      dheadM: [...sum[k]!].map((v) => v / states.length),
      // m³/h → L/s.
      leakLps: leakSum[k]! / states.length / 3.6,
    };
  });
  p.close();
  return { nodes: out, missing };
}

/** Pressure (m) at a node after a solve. */
const pressureAt = (p: Project, i: number) => p.getNodeValue(i, 11);
/** A tank's floor: its head less its level at the start (EPANET keeps the elevation as property 0). */
const tankBottom = (p: Project, i: number) => p.getNodeValue(i, 0);
