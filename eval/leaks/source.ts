/**
 * Generated L-Town readings as a ReadingSource — the interface the dispatcher reads BigQuery, a CSV file or
 * the simulator through — so they go through the real cycle (dispatch → aggregate → rollup), not a side path.
 *
 * The registry follows the competition's sensor layout and L-Town's areas: district A (fed by the two
 * reservoirs: inlets p227 and p235; the pump PUMP_1 that fills the tank is its outlet, registered as feeding C),
 * B (behind PRV-3, unmetered: its pressure sensor only) and C (the tank T1 it is fed by; the 82 AMR customer
 * meters): C's water balance is the pump's flow less the tank's storage less the AMR meters. Each reading
 * arrives a minute after its time. Node ids say what they are: `P-n54` pressure, `F-p227` flow, `L-T1`
 * tank, `AMR-n1` customer meter.
 */
import type { NodeColumns } from '../../shared/domain/columns.ts';
import type {
  DistrictInfo,
  Metric,
  Network,
  NodeInfo,
  NodeKind,
  Reading,
} from '../../shared/domain/readings.ts';
import type { IngestWindow, ReadingBatch, ReadingSource } from '../../shared/sources/source.ts';
import { type GeneratedReadings, headToBar, type SensorSeries, STEP_MS, tankVolume } from './generate.ts';

export const INGEST_DELAY_MS = 60_000;
export const LTOWN_TIMEZONE = 'UTC';

interface Served {
  info: NodeInfo;
  /** Value columns of the node, per metric, from its sensor series. */
  metrics: Partial<Record<Metric, (i: number) => number>>;
}

const INLETS = new Set(['p227', 'p235']);
/** Outlets of A that supply another area: the pump fills the tank T1, which feeds C. */
const FEEDS: Record<string, string> = { PUMP_1: 'C' };
/**
 * The district whose storage a tank is: T1, filled by the pump from A, supplies C by gravity (the generator's
 * topology puts its node on A's side of the pipes). C's water balance counts its storage.
 */
const TANK_DISTRICT: Record<string, string> = { T1: 'C' };

function nodeOf(s: SensorSeries, tenantId: string): Served {
  const v = s.values;
  const info = (id: string, kind: NodeKind, districtId: string, metrics: Metric[]): NodeInfo => ({
    id,
    tenantId,
    districtId,
    kind,
    name: `${s.id} (${s.kind})`,
    latitude: null,
    longitude: null,
    metrics,
  });
  switch (s.kind) {
    case 'pressure':
      return {
        info: info(`P-${s.id}`, 'pressure', s.area, ['pressure']),
        metrics: { pressure: (i) => v[i]! },
      };
    case 'flow': {
      const kind = INLETS.has(s.id) ? 'inlet' : 'outlet';
      const feeds = FEEDS[s.id];
      return {
        info: { ...info(`F-${s.id}`, kind, 'A', ['flow']), ...(feeds ? { feedsDistrictId: feeds } : {}) },
        metrics: { flow: (i) => v[i]! },
      };
    }
    case 'level':
      return {
        info: info(`L-${s.id}`, 'tank', TANK_DISTRICT[s.id] ?? s.area, ['pressure', 'volume']),
        metrics: { pressure: (i) => headToBar(v[i]!), volume: (i) => tankVolume(v[i]!) },
      };
    case 'amr':
      return { info: info(`AMR-${s.id}`, 'customer', s.area, ['flow']), metrics: { flow: (i) => v[i]! } };
  }
}

export class LTownSource implements ReadingSource {
  readonly name = 'ltown';
  private readonly nodes: Served[];
  private readonly data: GeneratedReadings;
  private readonly tenantId: string;

  constructor(data: GeneratedReadings, tenantId = 'default') {
    this.data = data;
    this.tenantId = tenantId;
    this.nodes = data.sensors.map((s) => nodeOf(s, tenantId));
  }

  async network(): Promise<Network> {
    const district = (id: string): DistrictInfo => ({
      id,
      tenantId: this.tenantId,
      name: `L-Town area ${id}`,
      timezone: LTOWN_TIMEZONE,
      mainsLengthKm: null,
      connections: null,
      privatePipeKm: null,
      avgPressureM: null,
    });
    const ids = [...new Set(this.nodes.map((n) => n.info.districtId!))].sort();
    return { tenantId: this.tenantId, districts: ids.map(district), nodes: this.nodes.map((n) => n.info) };
  }

  /** Steps [lo, hi) whose readings were ingested in (from, to] and are not older than minTs. */
  private steps(window: IngestWindow): [number, number] {
    const { startMs, steps } = this.data;
    const after = (ms: number) => Math.floor((ms - INGEST_DELAY_MS - startMs) / STEP_MS) + 1;
    const lo = Math.max(0, after(window.fromIngestMs), Math.ceil((window.minTsMs - startMs) / STEP_MS));
    const hi = Math.min(steps, after(window.toIngestMs));
    return [lo, Math.max(lo, hi)];
  }

  async readIngested(window: IngestWindow): Promise<ReadingBatch> {
    const [lo, hi] = this.steps(window);
    const readings: Reading[] = [];
    for (const n of this.nodes) {
      const entries = Object.entries(n.metrics) as [Metric, (i: number) => number][];
      for (let i = lo; i < hi; i++) {
        const ts = this.data.startMs + i * STEP_MS;
        const values: Reading['values'] = {};
        for (const [m, at] of entries) values[m] = at(i);
        readings.push({ nodeId: n.info.id, ts, ingestedAt: ts + INGEST_DELAY_MS, values });
      }
    }
    return { readings, bytesProcessed: 0 };
  }

  async readColumns(window: IngestWindow, nodeIds: readonly string[]): Promise<NodeColumns[]> {
    const [lo, hi] = this.steps(window);
    const wanted = new Set(nodeIds);
    const length = hi - lo;
    const ts = Float64Array.from({ length }, (_, k) => this.data.startMs + (lo + k) * STEP_MS);
    const ingestedAt = ts.map((t) => t + INGEST_DELAY_MS);
    return this.nodes
      .filter((n) => wanted.has(n.info.id))
      .map((n) => ({
        nodeId: n.info.id,
        length,
        ts,
        ingestedAt,
        values: Object.fromEntries(
          Object.entries(n.metrics).map(([m, at]) => [
            m,
            Float64Array.from({ length }, (_, k) => at(lo + k)),
          ]),
        ),
      }));
  }

  async span(): Promise<{ fromMs: number; toMs: number }> {
    return { fromMs: this.data.startMs, toMs: this.data.startMs + (this.data.steps - 1) * STEP_MS };
  }
}
