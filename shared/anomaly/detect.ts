/**
 * One cycle of detection: every detector that applies to a node (by its kind and metrics), or to a district.
 * This is what the aggregator calls; the conditions then go through the lifecycle (`lifecycle.ts`).
 */
import { type Metric, PHYSICAL_LIMITS } from '../domain/readings.ts';
import { type BaselineConfig, detectBaselineDeviation } from './baseline.ts';
import { detectBurst, detectDistrictBurst } from './burst.ts';
import { type AnomalyConfig, DEFAULT_ANOMALY_CONFIG } from './config.ts';
import { detectNightFlowLeak, type NightFlow, netInflow, nightlyMinimumFlows } from './night-flow.ts';
import { detectPressureResidualLeak } from './pressure-model.ts';
import {
  detectFlatline,
  detectGaps,
  detectNegativeFlow,
  detectOutOfRange,
  valuesOf,
} from './sensor-faults.ts';
import { DAY_MS, lastDataBefore } from './series.ts';
import { detectSpikes } from './spikes.ts';
import type { BucketSeries, Condition, DistrictCycleInput, NodeCycleInput } from './types.ts';
import { detectWaterBalanceLeak } from './water-balance.ts';
import { detectWaterQuality } from './water-quality.ts';

const impossible = (v: number, metric: Metric): boolean => {
  // Indexed, not destructured: called per value, and array destructuring allocates an iterator.
  const limits = PHYSICAL_LIMITS[metric];
  return !Number.isFinite(v) || v < limits[0] || v > limits[1];
};

/** Every condition that holds for the node at `input.nowMs`. */
export function detectNodeConditions(
  input: NodeCycleInput,
  config: AnomalyConfig = DEFAULT_ANOMALY_CONFIG,
): Condition[] {
  const cfg = config.kinds[input.node.kind];
  const { nowMs, fromMs } = input;
  const out: Condition[] = [];
  const push = (c: Condition | null) => {
    if (c) out.push(c);
  };
  const fiveMinute: BucketSeries[] = [];

  for (const metric of input.node.metrics) {
    const h = input.history[metric];
    if (h) fiveMinute.push(h.fiveMinute);
    const raw = valuesOf(input.readings, metric);
    const valid = { ts: [] as number[], v: [] as number[] };
    let rejected = 0;
    for (let i = 0; i < raw.v.length; i++) {
      if (impossible(raw.v[i]!, metric)) rejected++;
      else {
        valid.ts.push(raw.ts[i]!);
        valid.v.push(raw.v[i]!);
      }
    }

    // A district's pressure points have their plausible range and spikes judged by the district, beside its
    // other points (`district-pressure.ts`): a drop they share is a hydraulic event, not a fault of each.
    // Impossible values stay the node's.
    const byDistrictPressure =
      metric === 'pressure' &&
      input.node.kind === 'pressure' &&
      input.node.districtId !== null &&
      config.district.pressureEvent !== null;
    const range = cfg.range[metric];
    if (range) {
      push(
        detectOutOfRange(
          byDistrictPressure ? [] : valid.v,
          input.rejected?.[metric] ?? rejected,
          metric,
          nowMs,
          range,
        ),
      );
    }
    if (!h) continue;
    const baseline = cfg.baseline[metric];
    // An inlet's flow in a district is judged by the district detector, on the district's net inflow (its
    // inlets less its metered outlets): one inlet alone may carry water passing through (a pump filling a
    // tank behind it) or a neighbour inlet's share. Here only stand-alone inlets, as for bursts.
    const byDistrict = metric === 'flow' && input.node.kind === 'inlet' && input.node.districtId !== null;
    if (baseline && !byDistrict) push(detectBaselineDeviation(h, metric, input.timezone, nowMs, baseline));
    const flatline = cfg.flatline[metric];
    if (flatline) push(detectFlatline(h.fiveMinute, metric, nowMs, flatline));
    const spikes = cfg.spikes[metric];
    if (spikes && !byDistrictPressure) push(detectSpikes(valid, h.fiveMinute, metric, fromMs, nowMs, spikes));
    if (metric === 'flow' && cfg.negativeFlow && !input.bidirectional) {
      push(detectNegativeFlow(h.fiveMinute, nowMs, cfg.negativeFlow));
    }
    if (cfg.waterQuality) push(detectWaterQuality(h.fiveMinute, metric, nowMs, cfg.waterQuality));
  }

  const flow = input.history.flow;
  const pressure = input.history.pressure;
  // In a district, bursts are the district detector's (all inlets and pressure points); here only stand-alone meters.
  if (cfg.burst && flow && pressure && input.node.districtId === null) {
    push(detectBurst({ nodeId: input.node.id, flow, pressure, timezone: input.timezone, nowMs }, cfg.burst));
  }

  let lastReadingMs = input.lastReadingMs;
  if (lastReadingMs === undefined) {
    // Without the registry's last-seen time, the latest data in the buckets or the cycle stands in for it.
    const fromBuckets = fiveMinute.map((s) => lastDataBefore(s, nowMs, DAY_MS) ?? Number.NEGATIVE_INFINITY);
    const fromRaw = input.readings.map((r) => r.ts);
    const latest = Math.max(...fromBuckets, ...fromRaw);
    lastReadingMs = Number.isFinite(latest) ? latest : null;
  }
  const rawTimes = input.readings.map((r) => r.ts);
  out.push(...detectGaps(fiveMinute, lastReadingMs ?? null, nowMs, cfg.gaps, rawTimes));
  return out;
}

/**
 * The district's net inflow (inlets less metered outlets) against its seasonal baseline: what each inlet's
 * own baseline judged before, without the water that only passes through. Named after the first inlet.
 */
export function detectNetInflowDeviation(input: DistrictCycleInput, cfg: BaselineConfig): Condition | null {
  const inlets = input.inlets.flatMap((n) => (n.flow ? [n.flow] : []));
  if (inlets.length === 0) return null;
  const outlets = (input.outlets ?? []).flatMap((n) => (n.flow ? [n.flow] : []));
  const fiveMinute = netInflow(
    inlets.map((h) => h.fiveMinute),
    outlets.map((h) => h.fiveMinute),
  );
  if (!fiveMinute) return null;
  const hourly = [...inlets, ...outlets].every((h) => h.hourly)
    ? netInflow(
        inlets.map((h) => h.hourly!),
        outlets.map((h) => h.hourly!),
      )
    : null;
  const c = detectBaselineDeviation(
    { fiveMinute, ...(hourly ? { hourly } : {}) },
    'flow',
    input.timezone,
    input.nowMs,
    cfg,
  );
  if (!c) return null;
  const first = input.inlets.find((n) => n.flow)!;
  return {
    ...c,
    nodeId: first.nodeId,
    evidence: { ...c.evidence, netInflow: true, inlets: inlets.length, outlets: outlets.length },
  };
}

/**
 * Every district-level condition at `input.nowMs`: bursts (summed inflow step with a pressure drop),
 * leaks by minimum night flow, leaks by pressure residuals (when `input.pressureHourly` is given) and by
 * the water balance (when `input.waterBalance` is given).
 * `nights` may be passed when the caller keeps them (one value per district and
 * night); otherwise they are computed from the inlets' and outlets' 5-minute history.
 */
export function detectDistrictConditions(
  input: DistrictCycleInput,
  config: AnomalyConfig = DEFAULT_ANOMALY_CONFIG,
  nights?: readonly NightFlow[],
): Condition[] {
  const cfg = config.district;
  const out: Condition[] = [];
  if (cfg.burst) {
    const c = detectDistrictBurst(input, cfg.burst, cfg.baseline);
    if (c) out.push(c);
  }
  if (cfg.netInflowBaseline) {
    const c = detectNetInflowDeviation(input, cfg.netInflowBaseline);
    if (c) out.push(c);
  }
  const nightFlow = cfg.nightFlow;
  if (nightFlow) {
    let known = nights;
    if (!known) {
      const inflows = input.inlets.flatMap((n) => (n.flow ? [n.flow.fiveMinute] : []));
      const outflows = (input.outlets ?? []).flatMap((n) => (n.flow ? [n.flow.fiveMinute] : []));
      const net = netInflow(inflows, outflows);
      const days = nightFlow.referenceNights + nightFlow.recentNights + nightFlow.oddNights + 2;
      known = net
        ? nightlyMinimumFlows(net, input.timezone, input.nowMs - days * DAY_MS, input.nowMs, nightFlow)
        : [];
    }
    const c = detectNightFlowLeak(
      known,
      input.nowMs,
      {
        ...(input.leakFreeBeforeMs !== undefined ? { leakFreeBeforeMs: input.leakFreeBeforeMs } : {}),
        ...(input.inlets[0] ? { nodeId: input.inlets[0].nodeId } : {}),
      },
      nightFlow,
    );
    if (c) out.push(c);
  }
  if (cfg.pressureModel && input.pressureHourly) {
    const c = detectPressureResidualLeak(input.pressureHourly, input.nowMs, cfg.pressureModel, {
      ...(input.pressureLeakFreeBeforeMs !== undefined
        ? { leakFreeBeforeMs: input.pressureLeakFreeBeforeMs }
        : {}),
      ...(input.pressureReference ? { reference: input.pressureReference } : {}),
      ...(input.pressureExcluded ? { excluded: input.pressureExcluded } : {}),
    });
    if (c) out.push(c);
  }
  if (cfg.waterBalance && input.waterBalance) {
    const c = detectWaterBalanceLeak(
      input.waterBalance,
      input.nowMs,
      cfg.waterBalance,
      input.balanceLeakFreeBeforeMs,
      input.waterBalanceReference,
    );
    if (c) out.push(c);
  }
  return out;
}
