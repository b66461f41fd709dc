/** The simulator object: wires layout, events, physics and ingestion behind one small API. */
import type { Network, Reading } from '../domain/readings.ts';
import type { IngestWindow, ReadingBatch } from '../sources/source.ts';
import { Clock } from './calendar.ts';
import { districtLitres } from './district.ts';
import {
  DEFAULT_EVENT_RATES,
  EVENT_TYPES,
  type EventRates,
  type SimEvent,
  type SimEventType,
} from './event-types.ts';
import { EventSchedule } from './events.ts';
import { DEFAULT_INGESTION, type IngestionOptions, maxLatenessMs, validateIngestion } from './ingestion.ts';
import { buildNetwork, type DistrictModel, type NetworkModel, type NodeModel, pumpRuns } from './network.ts';
import { Physics } from './physics.ts';
import { pushRows, type ReadingColumns, ReadingGenerator } from './readings.ts';

export interface SimulatorOptions {
  /** Any integer; the same seed gives the same network, values and events. */
  seed: number;
  /** Approximate number of nodes (at least 6 per district). */
  nodes: number;
  tenantId?: string;
  /** Number of districts; default ≈ nodes / 12. */
  districts?: number;
  /** Step of the reading grid for readIngested (the meters' logging interval). Default 60 000. */
  stepMs?: number;
  /** Expected events per target and week, per type (0 disables a type). */
  eventRates?: Partial<EventRates>;
  ingestion?: Partial<IngestionOptions>;
  /** Multiplies every measurement noise (0 gives noise-free values). Default 1. */
  noiseScale?: number;
  /** Share of readings that lack one of their metrics (null). Default 0.002. */
  missingValueShare?: number;
}

export interface EventFilter {
  nodeIds?: readonly string[];
  districtIds?: readonly string[];
  types?: readonly SimEventType[];
}

/** Ground-truth water balance of a district over a time span, m³. */
export interface WaterBalanceTruth {
  districtId: string;
  /** Through the inlet meters. */
  inflowM3: number;
  /** Through the outlet meters. */
  exportedM3: number;
  /** System input volume: inflow − export. */
  systemInputM3: number;
  /** Sum of the customer groups. */
  authorisedM3: number;
  backgroundLeakageM3: number;
  /** Lost by injected leaks and bursts. */
  eventLossM3: number;
  /** backgroundLeakage + eventLoss = systemInput − authorised. */
  realLossesM3: number;
}

export interface Simulator {
  readonly seed: number;
  readonly tenantId: string;
  readonly stepMs: number;
  readonly eventRates: Readonly<EventRates>;
  readonly ingestion: Readonly<IngestionOptions>;
  /** Upper bound of ingestedAt − ts over all readings (how far readIngested looks back). */
  readonly maxLatenessMs: number;
  /** Districts and nodes (frozen: do not mutate). */
  network(): Network;
  /** Ground-truth events overlapping [fromMs, toMs), sorted by start. */
  events(fromMs: number, toMs: number, filter?: EventFilter): SimEvent[];
  /** Readings with ts on the step grid in [fromMs, toMs), grouped by node in network order. */
  readings(
    fromMs: number,
    toMs: number,
    options?: { stepMs?: number; nodeIds?: readonly string[] },
  ): Reading[];
  /** The fast path: one node's readings as typed-array columns. */
  columns(nodeId: string, fromMs: number, toMs: number, stepMs?: number): ReadingColumns;
  /** ReadingSource semantics: readings ingested in (fromIngestMs, toIngestMs] with ts ≥ minTsMs. */
  readIngested(window: IngestWindow): ReadingBatch;
  /** readIngested's readings of some nodes (default: all), as one set of time-ordered columns per node. */
  readIngestedColumns(window: IngestWindow, nodeIds?: readonly string[]): ReadingColumns[];
  /** Whether a pump node is scheduled to run at t (when it is not, its flow is exactly 0). */
  pumpRunning(nodeId: string, t: number): boolean;
  waterBalance(districtId: string, fromMs: number, toMs: number): WaterBalanceTruth;
}

function deepFreeze<T>(x: T): T {
  if (x && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const { seed, nodes } = options;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (!(Number.isFinite(nodes) && nodes >= 1)) throw new RangeError(`nodes must be ≥ 1, got ${nodes}`);
  const tenantId = options.tenantId ?? 'default';
  const stepMs = options.stepMs ?? 60_000;
  if (!(stepMs >= 1000)) throw new RangeError(`stepMs must be ≥ 1000, got ${stepMs}`);
  const eventRates: EventRates = { ...DEFAULT_EVENT_RATES, ...options.eventRates };
  for (const t of EVENT_TYPES) {
    if (!(eventRates[t] >= 0)) throw new RangeError(`eventRates.${t} must be ≥ 0`);
  }
  const ingestion = validateIngestion({ ...DEFAULT_INGESTION, ...options.ingestion });
  const noiseScale = options.noiseScale ?? 1;
  const missingValueShare = options.missingValueShare ?? 0.002;

  const model: NetworkModel = buildNetwork(seed, Math.round(nodes), tenantId, options.districts);
  deepFreeze(model.network);
  // The schedule needs true values for flatline and spike levels; physics needs the schedule for leaks and bursts.
  let physics: Physics | undefined;
  const schedule = new EventSchedule(model, eventRates, (node, metric, t) =>
    physics!.natural(node, metric, t),
  );
  physics = new Physics(schedule, noiseScale);
  const generator = new ReadingGenerator(physics, schedule, ingestion, missingValueShare);

  const nodeOf = (id: string): NodeModel => {
    const n = model.nodeById.get(id);
    if (!n) throw new RangeError(`unknown node: ${id}`);
    return n;
  };
  const districtOf = (id: string): DistrictModel => {
    const d = model.districtById.get(id);
    if (!d) throw new RangeError(`unknown district: ${id}`);
    return d;
  };

  return {
    seed,
    tenantId,
    stepMs,
    eventRates: Object.freeze({ ...eventRates }),
    ingestion: Object.freeze({ ...ingestion }),
    maxLatenessMs: maxLatenessMs(ingestion),
    network: () => model.network,
    events(fromMs, toMs, filter) {
      let out: SimEvent[];
      if (filter?.nodeIds) {
        const wanted = new Set(filter.nodeIds);
        out = schedule
          .all(fromMs, toMs)
          .filter((e) => wanted.has(e.nodeId) || e.affectedNodeIds.some((id) => wanted.has(id)));
      } else {
        out = schedule.all(fromMs, toMs);
      }
      if (filter?.districtIds) {
        const wanted = new Set(filter.districtIds);
        out = out.filter((e) => wanted.has(e.districtId));
      }
      if (filter?.types) {
        const wanted = new Set(filter.types);
        out = out.filter((e) => wanted.has(e.type));
      }
      return out;
    },
    readings(fromMs, toMs, opts) {
      const list = opts?.nodeIds ? opts.nodeIds.map(nodeOf) : model.nodes;
      const out: Reading[] = [];
      for (const node of list) pushRows(out, generator.columns(node, fromMs, toMs, opts?.stepMs ?? stepMs));
      return out;
    },
    columns: (nodeId, fromMs, toMs, step = stepMs) => generator.columns(nodeOf(nodeId), fromMs, toMs, step),
    readIngested: (window) => ({
      readings: generator.readIngested(model.nodes, window, stepMs),
      bytesProcessed: 0,
    }),
    readIngestedColumns: (window, nodeIds) =>
      (nodeIds ? nodeIds.map(nodeOf) : model.nodes).map((node) =>
        generator.ingestedColumns(node, window, stepMs),
      ),
    pumpRunning(nodeId, t) {
      const node = nodeOf(nodeId);
      if (node.kind !== 'pump') throw new RangeError(`not a pump: ${nodeId}`);
      const clock = new Clock();
      clock.set(t);
      return pumpRuns(node.pumpSchedule, clock.day, clock.wall);
    },
    waterBalance(districtId, fromMs, toMs) {
      const d = districtOf(districtId);
      const a = districtLitres(d, schedule, fromMs);
      const b = districtLitres(d, schedule, toMs);
      const m3 = (k: keyof typeof a) => (b[k] - a[k]) / 1000;
      const inflowM3 = m3('consumption') + m3('leakage') + m3('exported') + m3('events');
      return {
        districtId,
        inflowM3,
        exportedM3: m3('exported'),
        systemInputM3: inflowM3 - m3('exported'),
        authorisedM3: m3('consumption'),
        backgroundLeakageM3: m3('leakage'),
        eventLossM3: m3('events'),
        realLossesM3: m3('leakage') + m3('events'),
      };
    },
  };
}
