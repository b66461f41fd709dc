/**
 * Burst: an abrupt step up in flow with a simultaneous drop in pressure.
 *
 * Catches: a main breaking — water suddenly leaves the network, the inlet supplies it (flow steps up within
 * minutes) and the hydraulic grade falls (pressure drops at the same time). Either sign alone is common
 * (a tank filling, a pump switching, a PRV adjusting); together and abrupt they are a burst.
 *
 * How: both series are turned into residuals against the node's seasonal baseline (so the morning ramp,
 * when flow also rises while pressure falls, is not a step). At every 5-minute boundary of the last
 * `lookbackMinutes`, the step is the median residual of the next `afterMinutes` minus the median of the
 * previous `beforeMinutes` (medians: a single spike is not a step). A burst needs a flow step of at least
 * max(`minStepAbs`, `minStepRel`·flow, `kSigma`·noise), a pressure drop of at least max(`minDropAbs`,
 * `dropKSigma`·noise) within `alignMinutes` of it, and flow still up by `persistFraction` of the step now (a
 * burst lasts until it is isolated; a flushing or fire hydrant test stops by itself).
 *
 * `detectBurst` works on one node reporting both; `detectDistrictBurst` on a district's summed inlet flow and
 * the pressure at every pressure point (and inlet) in it. Both need the baseline's `minWeeks` of history:
 * a new node gets no burst detection in its first weeks.
 */
import { type BaselineConfig, baselineModel, DEFAULT_BASELINE, round } from './baseline.ts';
import { bucketIndex, bucketMean, FIVE_MINUTES_MS, MINUTE_MS } from './series.ts';
import { diffSigma, gradeBy, medianOfRange } from './stats.ts';
import {
  type Condition,
  type DistrictCycleInput,
  type MetricHistory,
  SEVERITIES,
  type Severity,
} from './types.ts';

export interface BurstConfig {
  /** Minutes before a candidate step (level before); 30: enough buckets for a stable median. */
  beforeMinutes: number;
  /** Minutes after it (level after); 15: a burst shows within minutes, and a short window detects it early. */
  afterMinutes: number;
  /** How far back a step is looked for; the condition holds this long after the step while flow stays up. */
  lookbackMinutes: number;
  /** Smallest flow step in L/s: meter noise and single large users stay below it. */
  minStepAbs: number;
  /** Smallest flow step relative to the expected flow: 10 % of a district's inflow is a big new outflow. */
  minStepRel: number;
  /** Smallest flow step in robust noise units (5-minute residual differences). */
  kSigma: number;
  /** Smallest pressure drop in bar. */
  minDropAbs: number;
  /** Smallest pressure drop in robust noise units. */
  dropKSigma: number;
  /** How far apart (minutes) the flow step and the pressure drop may be. */
  alignMinutes: number;
  /** Share of the step flow must still be up by now: the burst is ongoing. */
  persistFraction: number;
  /** Step as % of expected flow from which each severity applies. */
  severityPct: Partial<Record<Severity, number>>;
}

export const DEFAULT_BURST: BurstConfig = {
  beforeMinutes: 30,
  afterMinutes: 15,
  lookbackMinutes: 360,
  minStepAbs: 0.5,
  minStepRel: 0.1,
  kSigma: 5,
  minDropAbs: 0.05,
  dropKSigma: 4,
  alignMinutes: 10,
  persistFraction: 0.5,
  severityPct: { minor: 0, major: 10, critical: 30 },
};

/** Residuals (value − seasonal baseline) of 5-minute means over a range of buckets, and the baseline itself. */
interface Residuals {
  startMs: number;
  residual: Float64Array;
  level: Float64Array;
  /** The 5-minute means themselves. */
  raw: Float64Array;
}

function residualsOf(
  h: MetricHistory,
  timezone: string,
  fromMs: number,
  toMs: number,
  baseline: BaselineConfig,
): Residuals {
  const s = h.fiveMinute;
  const startMs = Math.floor(fromMs / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
  const n = Math.max(0, Math.ceil((toMs - startMs) / FIVE_MINUTES_MS));
  const model = baselineModel(h, timezone, baseline);
  const residual = new Float64Array(n);
  const level = new Float64Array(n);
  const raw = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = startMs + i * FIVE_MINUTES_MS;
    // Without a baseline for the hour (a new node, a hole in past weeks) the residual is unknown: a raw step
    // in the morning ramp would look like a burst.
    const e = model.expected(t + FIVE_MINUTES_MS / 2);
    raw[i] = bucketMean(s, bucketIndex(s, t));
    residual[i] = raw[i]! - e;
    level[i] = e;
  }
  return { startMs, residual, level, raw };
}

/**
 * Summed residuals. A meter without data in a bucket adds nothing: residuals hover around zero, so a meter
 * dropping out or coming back makes no step, and the others still show a burst.
 */
function sumResiduals(parts: Residuals[]): Residuals | null {
  const first = parts[0];
  if (!first) return null;
  const n = first.residual.length;
  const residual = new Float64Array(n).fill(Number.NaN);
  const raw = new Float64Array(n).fill(Number.NaN);
  const level = new Float64Array(n);
  const add = (a: Float64Array, i: number, v: number) => {
    if (Number.isFinite(v)) a[i] = (Number.isFinite(a[i]!) ? a[i]! : 0) + v;
  };
  for (const p of parts) {
    for (let i = 0; i < n; i++) {
      add(residual, i, p.residual[i]!);
      add(raw, i, p.raw[i]!);
      if (Number.isFinite(p.level[i]!)) level[i]! += p.level[i]!;
    }
  }
  return { startMs: first.startMs, residual, level, raw };
}

const medianOf = (a: Float64Array, from: number, to: number): number =>
  from < 0 || to > a.length ? Number.NaN : medianOfRange(a, from, to);

/** steps[j] = median of the `after` buckets from j − median of the `before` buckets up to j (NaN at the edges). */
function stepsOf(r: Float64Array, before: number, after: number): Float64Array {
  const steps = new Float64Array(r.length + 1).fill(Number.NaN);
  for (let j = before; j + after <= r.length; j++)
    steps[j] = medianOf(r, j, j + after) - medianOf(r, j - before, j);
  return steps;
}

interface PressureSeries {
  nodeId: string;
  r: Residuals;
}

function findBurst(
  flow: Residuals,
  pressures: readonly PressureSeries[],
  cfg: BurstConfig,
): { condition: Omit<Condition, 'type' | 'observedAtMs'>; pressureNodeId: string } | null {
  const B = Math.round(cfg.beforeMinutes / 5);
  const A = Math.round(cfg.afterMinutes / 5);
  const align = Math.round(cfg.alignMinutes / 5);
  const n = flow.residual.length;
  const current = medianOf(flow.residual, n - A, n);
  if (!Number.isFinite(current)) return null;
  const flowSigma = diffSigma(flow.residual) || 0;
  const flowSteps = stepsOf(flow.residual, B, A);
  const rawFlowSteps = stepsOf(flow.raw, B, A);
  const drops = pressures.map((p) => ({
    steps: stepsOf(p.r.residual, B, A),
    rawSteps: stepsOf(p.r.raw, B, A),
    need: Math.max(cfg.minDropAbs, cfg.dropKSigma * (diffSigma(p.r.residual) || 0)),
  }));
  let best: { j: number; step: number; before: number; level: number; drop: number; pIdx: number } | null =
    null;
  for (let j = B; j + A <= n; j++) {
    const step = flowSteps[j]!;
    if (!Number.isFinite(step) || (best && step <= best.step)) continue;
    const level = Math.abs(medianOfRange(flow.level, j - B, j + A));
    if (!Number.isFinite(level)) continue;
    if (step < Math.max(cfg.minStepAbs, cfg.minStepRel * level, cfg.kSigma * flowSigma)) continue;
    // The readings themselves must step too: a frozen or faulty meter set against a changing baseline makes
    // residual steps without any change in what it reads.
    if (!(rawFlowSteps[j]! >= cfg.persistFraction * step)) continue;
    const before = medianOf(flow.residual, j - B, j);
    // Still up now, and up against the usual flow for the time (not a faulty reading returning to normal).
    if (current < before + cfg.persistFraction * step || current < cfg.persistFraction * step) continue;
    // The largest pressure drop near the step, among the nodes where it clears that node's own threshold.
    let drop = 0;
    let pIdx = -1;
    for (let p = 0; p < drops.length; p++) {
      const { steps, rawSteps, need } = drops[p]!;
      for (let k = Math.max(0, j - align); k <= Math.min(steps.length - 1, j + align); k++) {
        const d = -steps[k]!;
        if (d >= need && d > drop && -rawSteps[k]! >= cfg.persistFraction * d) {
          drop = d;
          pIdx = p;
        }
      }
    }
    if (pIdx >= 0) best = { j, step, before, level, drop, pIdx };
  }
  if (!best) return null;
  // Medians blur the step's position over a bucket or two: it is where the residual jumps most.
  let at = best.j;
  let sharpest = Number.NEGATIVE_INFINITY;
  for (let j = Math.max(1, best.j - A); j <= Math.min(n - 1, best.j + 1); j++) {
    const jump = flow.residual[j]! - flow.residual[j - 1]!;
    if (jump > sharpest) {
      sharpest = jump;
      at = j;
    }
  }
  const stepPct = best.level > 0 ? (100 * best.step) / best.level : 100;
  const severity = gradeBy(stepPct, cfg.severityPct, SEVERITIES) ?? 'minor';
  const stepAtMs = flow.startMs + at * FIVE_MINUTES_MS;
  const pressureNodeId = pressures[best.pIdx]!.nodeId;
  return {
    pressureNodeId,
    condition: {
      metric: 'flow',
      severity,
      sinceMs: stepAtMs,
      evidence: {
        stepLps: round(best.step),
        stepPct: round(stepPct, 1),
        expectedLps: round(best.level),
        pressureDropBar: round(best.drop),
        pressureNodeId,
        stepAtMs,
        flowNoise: round(flowSigma),
        ongoingLps: round(current - best.before),
      },
    },
  };
}

const windowOf = (nowMs: number, cfg: BurstConfig) => ({
  fromMs: nowMs - (cfg.lookbackMinutes + cfg.beforeMinutes) * MINUTE_MS,
  toMs: nowMs,
});

/** Burst at one node that reports both flow and pressure. */
export function detectBurst(
  input: { nodeId: string; flow: MetricHistory; pressure: MetricHistory; timezone: string; nowMs: number },
  cfg: BurstConfig = DEFAULT_BURST,
  baseline: BaselineConfig = DEFAULT_BASELINE,
): Condition | null {
  const { fromMs, toMs } = windowOf(input.nowMs, cfg);
  const flow = residualsOf(input.flow, input.timezone, fromMs, toMs, baseline);
  const pressure = residualsOf(input.pressure, input.timezone, fromMs, toMs, baseline);
  const found = findBurst(flow, [{ nodeId: input.nodeId, r: pressure }], cfg);
  return found ? { type: 'burst', observedAtMs: input.nowMs, ...found.condition } : null;
}

/**
 * Burst in a district: a step in the summed inflow of its inlets (less its outlets) with a pressure drop at any
 * of its pressure points or inlets. The condition's `nodeId` is the pressure node where the drop is largest
 * (the nearest to the break, usually).
 */
export function detectDistrictBurst(
  input: DistrictCycleInput,
  cfg: BurstConfig = DEFAULT_BURST,
  baseline: BaselineConfig = DEFAULT_BASELINE,
): Condition | null {
  const { fromMs, toMs } = windowOf(input.nowMs, cfg);
  const inflows = input.inlets.filter((n) => n.flow);
  if (inflows.length === 0) return null;
  const parts = inflows.map((n) => residualsOf(n.flow!, input.timezone, fromMs, toMs, baseline));
  for (const o of input.outlets ?? []) {
    if (!o.flow) continue;
    const r = residualsOf(o.flow, input.timezone, fromMs, toMs, baseline);
    const minus = (a: Float64Array) => a.map((v) => -v);
    parts.push({ startMs: r.startMs, residual: minus(r.residual), level: minus(r.level), raw: minus(r.raw) });
  }
  const total = sumResiduals(parts);
  if (!total) return null;
  const pressures: PressureSeries[] = [...input.pressurePoints, ...input.inlets]
    .filter((n) => n.pressure)
    .map((n) => ({ nodeId: n.nodeId, r: residualsOf(n.pressure!, input.timezone, fromMs, toMs, baseline) }));
  // The net inflow first; with several inlets and no metered outlet, each inlet alone too (one inlet's
  // faulty meter can hide the step in the sum, and the other still carries its share of the burst). With an
  // outlet, one inlet's step may be water passing through (a pump filling a tank switches on): only the net
  // inflow, which nets that out, can show a burst.
  const metered = parts.length > inflows.length;
  const candidates = inflows.length > 1 && !metered ? [total, ...parts.slice(0, inflows.length)] : [total];
  for (const flow of candidates) {
    const found = findBurst(flow, pressures, cfg);
    if (found)
      return { type: 'burst', observedAtMs: input.nowMs, nodeId: found.pressureNodeId, ...found.condition };
  }
  return null;
}
