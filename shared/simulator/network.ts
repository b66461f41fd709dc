/**
 * Network layout: districts (DMAs) with their engineering data, and per district the metered nodes
 * with the hidden parameters the physics needs. Everything is drawn from hashes of (seed, district
 * index) and (seed, node id), so the same seed always builds the same network.
 */
import {
  type DistrictInfo,
  KIND_METRICS,
  type Metric,
  type Network,
  type NodeInfo,
  type NodeKind,
} from '../domain/readings.ts';
import { SIM_TIMEZONE } from './calendar.ts';
import { COMMERCIAL, INDUSTRIAL, PATTERNS, RESIDENTIAL } from './demand.ts';
import { at, hashString, keyOf, unit } from './hash.ts';

/** When a pump runs, in local time. */
export const PUMP_SCHEDULES = ['day', 'night', 'peaks', 'alternate'] as const;
export type PumpSchedule = (typeof PUMP_SCHEDULES)[number];

export interface DistrictModel {
  index: number;
  id: string;
  info: DistrictInfo;
  key: number;
  /** L/s of authorised consumption per unit of each demand pattern (sum over its customer groups). */
  demand: Float64Array;
  /** Nominal authorised consumption, L/s (weekday mean, before the seasonal factor). */
  meanConsumption: number;
  /** Background leakage at average pressure, L/s. */
  leakBase: number;
  /** How much background leakage rises at night as pressure rises (linearised FAVAD). */
  leakBeta: number;
  /** L/s exported through outlet meters per unit of the residential pattern (0 without an outlet). */
  exportScale: number;
  /** Head at the inlet with no flow, m. */
  staticHeadM: number;
  /** Head loss k in h = k·Q², m per (L/s)²: at the farthest point of the district. */
  headLossK: number;
  temperatureOffset: number;
  nodes: NodeModel[];
  inlets: NodeModel[];
}

export interface NodeModel {
  index: number;
  id: string;
  kind: NodeKind;
  info: NodeInfo;
  district: DistrictModel;
  key: number;
  metrics: readonly Metric[];
  /** inlet: share of the district's inflow; customer: L/s per unit of its pattern. */
  share: number;
  /** customer: demand pattern index. */
  pattern: number;
  /** Ground elevation above the inlet, m (pressure-bearing nodes). */
  elevationM: number;
  /** Share of the district's head loss felt at this node (0 at the inlet, 1 at the far end). */
  headLossShare: number;
  /** Volume register reading at 1970-01-01, m³. */
  volumeOffsetM3: number;
  tankMidM3: number;
  tankAreaM2: number;
  pumpSchedule: PumpSchedule;
  pumpRatedLs: number;
  pumpHeadM: number;
  /** Hours the water has travelled to a quality station at average demand. */
  residenceH: number;
  chlorineDose: number;
  turbidityBase: number;
  phBase: number;
  /** A typical |flow| for this node, L/s (scales spikes). */
  nominalFlow: number;
}

export interface NetworkModel {
  network: Network;
  districts: DistrictModel[];
  nodes: NodeModel[];
  nodeById: Map<string, NodeModel>;
  districtById: Map<string, DistrictModel>;
}

const DISTRICT_NAMES = [
  'Trastevere',
  'Testaccio',
  'Monti',
  'Prati',
  'Parioli',
  'Ostiense',
  'Garbatella',
  'San Lorenzo',
  'Pigneto',
  'Flaminio',
  'Esquilino',
  'Celio',
  'Aventino',
  'Trieste',
  'Salario',
  'Nomentano',
  'Tiburtino',
  'Prenestino',
  'Appio',
  'Tuscolano',
  'Portuense',
  'Monteverde',
  'Aurelio',
  'Trionfale',
  'Centocelle',
  'Quadraro',
  'Montesacro',
  'Talenti',
  'Balduina',
  'Eur',
];

/** Nodes every district has; extras come from EXTRA_CYCLE once the optional ones are placed. */
const MANDATORY: readonly NodeKind[] = ['inlet', 'pressure', 'tank', 'quality', 'customer', 'pump'];
const EXTRA_CYCLE: readonly NodeKind[] = [
  'pressure',
  'customer',
  'pressure',
  'customer',
  'pump',
  'customer',
  'pressure',
  'quality',
];
/** Customer group k (1-based) uses CUSTOMER_PATTERNS[(k-1) % length]. */
const CUSTOMER_PATTERNS = [RESIDENTIAL, COMMERCIAL, RESIDENTIAL, INDUSTRIAL, RESIDENTIAL, COMMERCIAL];
const KIND_LABEL: Record<NodeKind, string> = {
  inlet: 'inlet meter',
  outlet: 'outlet meter',
  pressure: 'pressure point',
  tank: 'service reservoir',
  quality: 'quality station',
  customer: 'customers',
  pump: 'booster pump',
};
const round = (x: number, decimals: number) => Math.round(x * 10 ** decimals) / 10 ** decimals;

/** Average of Q² over a day relative to the squared mean flow (diurnal peaking). */
const MEAN_SQUARE_FACTOR = 1.15;

export function buildNetwork(
  seed: number,
  nodeCount: number,
  tenantId: string,
  districtCount?: number,
): NetworkModel {
  const D = Math.max(1, Math.round(districtCount ?? Math.max(1, Math.round(nodeCount / 12))));
  const width = Math.max(2, String(D).length);
  const ids = Array.from({ length: D }, (_, i) => `d${String(i + 1).padStart(width, '0')}`);
  const names = ids.map((_, i) => {
    const base = DISTRICT_NAMES[i % DISTRICT_NAMES.length]!;
    return i < DISTRICT_NAMES.length ? base : `${base} ${Math.floor(i / DISTRICT_NAMES.length) + 1}`;
  });
  const gridCols = Math.ceil(Math.sqrt(D));
  const districts: DistrictModel[] = [];
  const nodes: NodeModel[] = [];

  for (let i = 0; i < D; i++) {
    const key = keyOf(seed, 1, i);
    const u = (k: number) => unit(at(key, k));
    const connections = Math.round(900 + 4200 * u(0));
    const meanConsumption = (connections * (0.6 + 0.3 * u(1))) / 86.4;
    const mainsLengthKm = round(connections / (35 + 40 * u(2)), 1);
    const privatePipeKm = round(connections * (0.006 + 0.01 * u(3)), 1);
    const staticHeadM = 52 + 20 * u(4);
    const headLossMeanM = 6 + 5 * u(5);
    const target = Math.max(
      MANDATORY.length,
      Math.floor(((i + 1) * nodeCount) / D) - Math.floor((i * nodeCount) / D),
    );
    const kinds: NodeKind[] = [...MANDATORY, 'customer', 'pressure'];
    if (u(10) < 0.5) kinds.push('inlet');
    kinds.push('customer');
    if (D > 1 && u(11) < 0.35) kinds.push('outlet');
    kinds.push('pump');
    for (let e = 0; kinds.length < target; e++) kinds.push(EXTRA_CYCLE[e % EXTRA_CYCLE.length]!);
    kinds.length = Math.max(MANDATORY.length, Math.min(kinds.length, target));
    // Optional nodes may have been cut by a small target: the physics follows what was built.
    const twoInlets = kinds.filter((k) => k === 'inlet').length === 2;
    const hasOutlet = kinds.includes('outlet');
    const inletSplit = 0.55 + 0.25 * u(12);
    const exportScale = hasOutlet ? meanConsumption * (0.08 + 0.12 * u(9)) : 0;
    const info: DistrictInfo = {
      id: ids[i]!,
      tenantId,
      name: `DMA ${ids[i]!.slice(1)} ${names[i]}`,
      timezone: SIM_TIMEZONE,
      mainsLengthKm,
      connections,
      privatePipeKm,
      avgPressureM: null,
    };
    const district: DistrictModel = {
      index: i,
      id: info.id,
      info,
      key,
      demand: new Float64Array(PATTERNS.length),
      meanConsumption,
      leakBase: 0,
      leakBeta: 0.2 + 0.15 * u(7),
      exportScale,
      staticHeadM,
      headLossK: 0,
      temperatureOffset: -1 + 2 * u(8),
      nodes: [],
      inlets: [],
    };

    const centreLat = 41.9 + (Math.floor(i / gridCols) - gridCols / 2) * 0.018;
    const centreLon = 12.5 + ((i % gridCols) - gridCols / 2) * 0.024;
    const counters: Partial<Record<NodeKind, number>> = {};
    for (const kind of kinds) {
      const k = (counters[kind] ?? 0) + 1;
      counters[kind] = k;
      const id = `${info.id}-${kind}-${k}`;
      const nodeKey = keyOf(seed, hashString(id));
      const v = (j: number) => unit(at(nodeKey, j));
      const neighbour = ids[(i + 1) % D]!;
      const label =
        kind === 'customer'
          ? `${KIND_LABEL[kind]} ${k} (${PATTERNS[CUSTOMER_PATTERNS[(k - 1) % CUSTOMER_PATTERNS.length]!]})`
          : kind === 'outlet'
            ? `${KIND_LABEL[kind]} ${k} to ${neighbour}`
            : `${KIND_LABEL[kind]} ${k}`;
      const node: NodeModel = {
        index: nodes.length,
        id,
        kind,
        info: {
          id,
          tenantId,
          districtId: info.id,
          kind,
          name: `${names[i]} ${label}`,
          latitude: round(centreLat + (v(0) - 0.5) * 0.014, 6),
          longitude: round(centreLon + (v(1) - 0.5) * 0.018, 6),
          metrics: KIND_METRICS[kind],
        },
        district,
        key: nodeKey,
        metrics: KIND_METRICS[kind],
        share: 0,
        pattern: RESIDENTIAL,
        elevationM: -6 + 18 * v(2),
        headLossShare: 0.35 + 0.65 * v(3),
        volumeOffsetM3: Math.round(1_000 + 200_000 * v(4)),
        tankMidM3: 0,
        tankAreaM2: 0,
        pumpSchedule: 'day',
        pumpRatedLs: 0,
        pumpHeadM: 0,
        residenceH: 0,
        chlorineDose: 0,
        turbidityBase: 0,
        phBase: 0,
        nominalFlow: 0,
      };
      if (kind === 'inlet') {
        node.share = twoInlets ? (k === 1 ? inletSplit : 1 - inletSplit) : 1;
        node.elevationM = 0;
        node.headLossShare = 0.1 + 0.08 * v(3);
      } else if (kind === 'outlet') {
        node.headLossShare = 0.5 + 0.3 * v(3);
      } else if (kind === 'customer') {
        node.pattern = CUSTOMER_PATTERNS[(k - 1) % CUSTOMER_PATTERNS.length]!;
        const weight =
          node.pattern === RESIDENTIAL
            ? 1 + 0.6 * v(5)
            : node.pattern === COMMERCIAL
              ? 0.3 + 0.3 * v(5)
              : 0.2 + 0.3 * v(5);
        node.share = weight; // normalised below, once all groups are known
      } else if (kind === 'quality') {
        node.residenceH = 2 + 8 * v(5);
        node.chlorineDose = 0.45 + 0.25 * v(6);
        node.turbidityBase = 0.08 + 0.17 * v(7);
        node.phBase = 7.35 + 0.3 * v(8);
      } else if (kind === 'pump') {
        node.pumpSchedule = k % 2 === 1 ? (v(5) < 0.5 ? 'day' : 'night') : v(5) < 0.5 ? 'peaks' : 'alternate';
        node.pumpRatedLs = meanConsumption * (0.15 + 0.25 * v(6));
        node.pumpHeadM = 15 + 15 * v(7);
        node.nominalFlow = node.pumpRatedLs;
      }
      district.nodes.push(node);
      if (kind === 'inlet') district.inlets.push(node);
      nodes.push(node);
    }

    const customers = district.nodes.filter((n) => n.kind === 'customer');
    const totalWeight = customers.reduce((a, n) => a + n.share, 0);
    for (const c of customers) {
      c.share = (meanConsumption * c.share) / totalWeight;
      c.nominalFlow = c.share;
      district.demand[c.pattern] = district.demand[c.pattern]! + c.share;
    }
    const pressurePoints = district.nodes.filter((n) => n.kind === 'pressure');
    const avgPressureM =
      pressurePoints.reduce(
        (a, n) => a + staticHeadM - n.elevationM - n.headLossShare * headLossMeanM * MEAN_SQUARE_FACTOR,
        0,
      ) / pressurePoints.length;
    info.avgPressureM = round(avgPressureM, 1);
    // Background leakage sized from a target Infrastructure Leakage Index: ILI × UARL.
    const uarlLitresPerDay = (18 * mainsLengthKm + 0.8 * connections + 25 * privatePipeKm) * avgPressureM;
    district.leakBase = ((1.4 + 3.6 * u(6)) * uarlLitresPerDay) / 86_400;
    const meanInflow = meanConsumption + district.leakBase + exportScale;
    district.headLossK = headLossMeanM / (meanInflow * meanInflow);
    for (const n of district.nodes) {
      if (n.kind === 'inlet') n.nominalFlow = n.share * meanInflow;
      if (n.kind === 'outlet') n.nominalFlow = exportScale;
      if (n.kind === 'tank') {
        n.tankMidM3 = meanInflow * 86.4 * (0.3 + 0.15 * unit(at(n.key, 5)));
        n.tankAreaM2 = n.tankMidM3 / (2.5 + 2 * unit(at(n.key, 6)));
        n.nominalFlow = 0.3 * meanInflow;
      }
    }
    districts.push(district);
  }

  const network: Network = {
    tenantId,
    districts: districts.map((d) => d.info),
    nodes: nodes.map((n) => n.info),
  };
  return {
    network,
    districts,
    nodes,
    nodeById: new Map(nodes.map((n) => [n.id, n])),
    districtById: new Map(districts.map((d) => [d.id, d])),
  };
}

/** Whether a pump with this schedule runs at local wall-clock hour `wall` of local day `day`. */
export function pumpRuns(schedule: PumpSchedule, day: number, wall: number): boolean {
  switch (schedule) {
    case 'day':
      return wall >= 5.5 && wall < 23;
    case 'night':
      return wall >= 22.5 || wall < 6;
    case 'peaks':
      return (wall >= 6.5 && wall < 10) || (wall >= 18 && wall < 22.5);
    case 'alternate':
      return day % 2 === 0 && wall >= 6 && wall < 22;
  }
}
