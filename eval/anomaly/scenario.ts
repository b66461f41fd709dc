/**
 * A simulated evaluation scenario: the simulator's network and injected events, replayed district by
 * district through the detectors and the lifecycle (`replay.ts`), scored against the ground truth
 * (`scoring.ts`). Districts are generated and replayed one at a time, so memory stays at one district's
 * history.
 */

import type { AnomalyConfig } from '../../shared/anomaly/config.ts';
import type { LifecycleConfig } from '../../shared/anomaly/lifecycle.ts';
import { MINUTE_MS, WEEK_MS } from '../../shared/anomaly/series.ts';
import type { NodeKind } from '../../shared/domain/readings.ts';
import { createSimulator, type EventRates } from '../../shared/simulator/index.ts';
import { type Detection, type RawNode, replayDistrict } from './replay.ts';
import { type OtherAlarms, score, type TruthEvent, type TypeScore } from './scoring.ts';

export interface ScenarioOptions {
  seed: number;
  nodes: number;
  /** Start of the history (the warm-up the baselines learn from). */
  startMs: number;
  /** Weeks of history before the evaluation starts: the seasonal baseline needs at least three. */
  warmupWeeks: number;
  /** Weeks evaluated. */
  weeks: number;
  /** Only the first districts (for quick runs). */
  districts?: number;
  /** Only nodes of these kinds (a leak study needs only inlets and outlets). */
  kinds?: readonly NodeKind[];
  /** Expected events per target and week, per type (the simulator's defaults otherwise; all 0: a clean network). */
  eventRates?: Partial<EventRates>;
  config?: AnomalyConfig;
  lifecycle?: LifecycleConfig;
  onDistrict?: (done: number, total: number) => void;
}

export interface ScenarioResult {
  evalFromMs: number;
  evalToMs: number;
  nodeCount: number;
  districtCount: number;
  detections: Detection[];
  events: TruthEvent[];
  types: TypeScore[];
  others: OtherAlarms[];
}

export function runSimulatedScenario(o: ScenarioOptions): ScenarioResult {
  const sim = createSimulator({
    seed: o.seed,
    nodes: o.nodes,
    tenantId: 'eval',
    ...(o.eventRates ? { eventRates: o.eventRates } : {}),
  });
  const network = sim.network();
  const evalFromMs = o.startMs + o.warmupWeeks * WEEK_MS;
  const evalToMs = evalFromMs + o.weeks * WEEK_MS;
  const districts = network.districts.slice(0, o.districts ?? network.districts.length);
  const detections: Detection[] = [];
  let nodeCount = 0;
  districts.forEach((d, i) => {
    const nodes: RawNode[] = network.nodes
      .filter((n) => n.districtId === d.id && (!o.kinds || o.kinds.includes(n.kind)))
      .map((info) => {
        const c = sim.columns(info.id, o.startMs, evalToMs, MINUTE_MS);
        return { info, ts: c.ts, values: c.values };
      });
    nodeCount += nodes.length;
    detections.push(
      ...replayDistrict({ id: d.id, timezone: d.timezone, nodes }, o.startMs, evalFromMs, evalToMs, {
        ...(o.config ? { config: o.config } : {}),
        ...(o.lifecycle ? { lifecycle: o.lifecycle } : {}),
      }),
    );
    o.onDistrict?.(i + 1, districts.length);
  });
  const ids = new Set(districts.map((d) => d.id));
  const events: TruthEvent[] = sim.events(o.startMs, evalToMs).filter((e) => ids.has(e.districtId));
  const { types, others } = score(detections, events, evalFromMs, evalToMs);
  return {
    evalFromMs,
    evalToMs,
    nodeCount,
    districtCount: districts.length,
    detections,
    events,
    types,
    others,
  };
}
