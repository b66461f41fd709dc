/**
 * The vocabulary of the whole system: what a node is, what a reading is, which metrics exist.
 * Everything here is plain data: no I/O.
 */

/**
 * Metrics in a fixed order. The index is stored in PostgreSQL (`metric smallint`), so this list is
 * append-only: never reorder or remove an entry.
 */
export const METRICS = ['flow', 'pressure', 'temperature', 'volume', 'chlorine', 'turbidity', 'ph'] as const;
export type Metric = (typeof METRICS)[number];

export const METRIC_UNITS: Record<Metric, string> = {
  flow: 'L/s',
  pressure: 'bar',
  temperature: '°C',
  volume: 'm³',
  chlorine: 'mg/L',
  turbidity: 'NTU',
  ph: 'pH',
};

export const metricIndex = (metric: Metric): number => METRICS.indexOf(metric);

/**
 * Physically possible ranges. A value outside them cannot be a measurement of water in a pipe
 * (a sensor or transmission fault): it is counted as invalid for data quality and never aggregated.
 * Values that are possible but unusual (negative flow, a pressure of 0) are kept and left to the
 * anomaly detectors.
 */
export const PHYSICAL_LIMITS: Record<Metric, readonly [number, number]> = {
  flow: [-50_000, 50_000],
  pressure: [-1, 40],
  temperature: [-5, 60],
  volume: [0, 1e12],
  chlorine: [0, 20],
  turbidity: [0, 4_000],
  ph: [0, 14],
};

export const NODE_KINDS = ['inlet', 'outlet', 'pressure', 'tank', 'quality', 'customer', 'pump'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

/** The metrics each kind of node reports. */
export const KIND_METRICS: Record<NodeKind, readonly Metric[]> = {
  inlet: ['flow', 'pressure', 'temperature', 'volume'],
  outlet: ['flow', 'pressure', 'volume'],
  pressure: ['pressure', 'temperature'],
  tank: ['flow', 'pressure', 'volume'],
  quality: ['chlorine', 'turbidity', 'ph', 'temperature'],
  customer: ['flow', 'volume'],
  pump: ['flow', 'pressure'],
};

export interface NodeInfo {
  id: string;
  tenantId: string;
  districtId: string | null;
  kind: NodeKind;
  name: string;
  latitude: number | null;
  longitude: number | null;
  metrics: readonly Metric[];
  /**
   * The district this node's water goes to, when it is not its own: an outlet (a pump, a valve) whose flow
   * supplies another district. That district's water balance counts it as supply. Absent or null: none.
   */
  feedsDistrictId?: string | null;
}

export interface DistrictInfo {
  id: string;
  tenantId: string;
  name: string;
  /** IANA time zone of the district, for night windows and daily balances. */
  timezone: string;
  /** Lm: length of mains in km. */
  mainsLengthKm: number | null;
  /** Nc: number of service connections. */
  connections: number | null;
  /** Lp: length of private service pipe in km (meter to property line). */
  privatePipeKm: number | null;
  /** P: average operating pressure in metres of head. */
  avgPressureM: number | null;
}

/** One reading of one node at one time. Missing metrics are absent or null. */
export interface Reading {
  nodeId: string;
  /** Reading time, epoch milliseconds. */
  ts: number;
  /** Ingestion time into the cold store, epoch milliseconds (late data has ingestedAt ≫ ts). */
  ingestedAt: number;
  values: Partial<Record<Metric, number | null>>;
}

export interface Network {
  tenantId: string;
  districts: DistrictInfo[];
  nodes: NodeInfo[];
}
