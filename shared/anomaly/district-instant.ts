/**
 * One instant of a district's detectors and lifecycle, as the rollup runs it and `eval:anomalies` replays
 * it (one code for both): a second leak superseding the open water-balance or pressure-residual anomaly
 * (each steps up again against a reference that holds the first leak), the district detectors with the
 * open anomalies' frozen references and the past leaks' hours left out of the pressure model, then the
 * lifecycle.
 */
import { type AnomalyConfig, DEFAULT_ANOMALY_CONFIG } from './config.ts';
import { detectDistrictConditions } from './detect.ts';
import { judgeDistrictPressure } from './district-pressure.ts';
import {
  type Anomaly,
  type AnomalySubject,
  advanceAnomalies,
  DEFAULT_LIFECYCLE,
  type LifecycleConfig,
  resolveAnomaly,
  type Transition,
} from './lifecycle.ts';
import type { NightFlow } from './night-flow.ts';
import { detectPressureStepUp } from './pressure-model.ts';
import { MINUTE_MS } from './series.ts';
import type { AnomalyType, BucketSeries, Condition, DistrictCycleInput, WaterBalanceInput } from './types.ts';
import { detectWaterBalanceStepUp } from './water-balance.ts';

/** Who resolved a water-balance or pressure-residual anomaly that a second leak superseded. */
export const SUPERSEDED_BY = 'superseded';

/**
 * Sensor faults of a district's pressure points, judged by the district (`district-pressure.ts`): kept with
 * the district's anomalies, one subject per point (the anomaly's node is the point).
 */
const POINT_FAULTS: ReadonlySet<AnomalyType> = new Set(['out_of_range', 'spike']);

type Span = { fromMs: number; toMs: number };

/**
 * The district's past leaks seen by the pressure model (resolved pressure-residual anomalies, not superseded
 * ones: their leak still runs), to leave out of its reference: a repaired leak's hours would make the
 * repair read as drops.
 */
export function pressureExcludedSpans(anomalies: readonly Anomaly[]): Span[] {
  return anomalies
    .filter(
      (a) => a.type === 'pressure_residual' && a.status === 'resolved' && a.resolvedBy !== SUPERSEDED_BY,
    )
    .map((a) => ({ fromMs: a.startMs, toMs: a.endMs ?? a.resolvedAtMs ?? a.lastSeenMs }));
}

export interface DistrictInstantInput {
  /** The district's series, as `detectDistrictConditions` takes them; the open anomalies' fields are set here. */
  input: Omit<
    DistrictCycleInput,
    | 'nowMs'
    | 'leakFreeBeforeMs'
    | 'pressureLeakFreeBeforeMs'
    | 'pressureReference'
    | 'pressureExcluded'
    | 'balanceLeakFreeBeforeMs'
    | 'waterBalanceReference'
  >;
  nights: readonly NightFlow[];
  /** Past leaks' spans for the pressure model (`pressureExcludedSpans`). */
  excluded: readonly Span[];
  /** Frozen references read apart, by the open anomaly's id (older than the window read every time). */
  pressureReference?: ReadonlyMap<string, readonly { nodeId: string; hourly: BucketSeries }[]>;
  balanceReference?: ReadonlyMap<string, WaterBalanceInput>;
  /** The cycle's length: the pressure points' readings of (t − cycleMs, t] are judged at `t` (default 30 min). */
  cycleMs?: number;
}

/**
 * Advances the district's anomalies (`current`: as stored, resolved ones included) to instant `t`. Returns
 * the anomalies after it and every transition (superseded resolutions first).
 */
export function advanceDistrictInstant(
  subject: AnomalySubject,
  current: readonly Anomaly[],
  t: number,
  d: DistrictInstantInput,
  config: AnomalyConfig = DEFAULT_ANOMALY_CONFIG,
  lifecycle: LifecycleConfig = DEFAULT_LIFECYCLE,
): { anomalies: Anomaly[]; transitions: Transition[] } {
  const cfg = config.district;
  const transitions: Transition[] = [];
  let now = [...current];
  const active = (type: Anomaly['type']) =>
    now.find((a) => a.type === type && a.status !== 'resolved' && a.status !== 'pending');
  const supersede = (a: Anomaly, note: string) => {
    const closed = resolveAnomaly(a, SUPERSEDED_BY, t, note);
    now = now.map((x) => (x.id === closed.id ? closed : x));
    transitions.push({ kind: 'resolved', anomaly: closed });
  };
  const leak = active('night_flow_leak');
  let pressureLeak = active('pressure_residual');
  let balanceLeak = active('water_balance');
  const { waterBalance, pressureHourly } = d.input;
  // A second leak while the balance's anomaly is open: the balance steps up again against a reference that
  // holds the first. The open anomaly is resolved as superseded, and the ordinary detection below (its
  // reference no longer frozen) opens a new one.
  if (balanceLeak && waterBalance && cfg.waterBalance) {
    const step = detectWaterBalanceStepUp(waterBalance, t, balanceLeak.startMs, cfg.waterBalance);
    if (step) {
      supersede(
        balanceLeak,
        `the balance rose again by ${step.evidence.lastDayRiseLps} L/s against a reference holding this leak: a new water_balance anomaly follows`,
      );
      balanceLeak = undefined;
    }
  }
  // The same for the pressure model: a drop at another point than the open anomaly's, against a reference
  // that holds the first leak, is a second leak (at the same point: the first one grown).
  let pressureStep: ReturnType<typeof detectPressureStepUp> = null;
  if (pressureLeak && pressureHourly && cfg.pressureModel) {
    pressureStep = detectPressureStepUp(pressureHourly, t, pressureLeak, cfg.pressureModel, d.excluded);
    if (pressureStep) {
      supersede(
        pressureLeak,
        `${pressureStep.nodeId} dropped against a reference holding this leak: a new pressure_residual anomaly follows`,
      );
      pressureLeak = undefined;
    }
  }
  const found = detectDistrictConditions(
    {
      ...d.input,
      nowMs: t,
      ...(leak ? { leakFreeBeforeMs: leak.startMs } : {}),
      ...(pressureLeak ? { pressureLeakFreeBeforeMs: pressureLeak.startMs } : {}),
      ...(pressureLeak && d.pressureReference?.has(pressureLeak.id)
        ? { pressureReference: d.pressureReference.get(pressureLeak.id)! }
        : {}),
      ...(d.excluded.length > 0 ? { pressureExcluded: d.excluded } : {}),
      ...(balanceLeak ? { balanceLeakFreeBeforeMs: balanceLeak.startMs } : {}),
      ...(balanceLeak && d.balanceReference?.has(balanceLeak.id)
        ? { waterBalanceReference: d.balanceReference.get(balanceLeak.id)! }
        : {}),
    },
    config,
    d.nights,
  );
  // The new anomaly after a pressure step-up is the step-up's: the second leak's point, not the worst.
  const conditions = pressureStep
    ? [...found.filter((c) => c.type !== 'pressure_residual'), pressureStep]
    : found;
  // The pressure points together: a drop they share is the district's low-pressure event; what only one
  // point shows is that point's sensor fault, advanced under its own subject.
  const pointCfg = config.kinds.pressure;
  const judged = cfg.pressureEvent
    ? judgeDistrictPressure(
        d.input.pressurePoints,
        d.input.tanks ?? [],
        t - (d.cycleMs ?? 30 * MINUTE_MS),
        t,
        cfg.pressureEvent,
        pointCfg.range.pressure ?? null,
        pointCfg.spikes.pressure ?? null,
      )
    : null;
  if (judged?.event) conditions.push(judged.event);
  const ofPoints = now.filter((a) => POINT_FAULTS.has(a.type));
  const result = advanceAnomalies(
    subject,
    now.filter((a) => !POINT_FAULTS.has(a.type)),
    conditions,
    t,
    lifecycle,
  );
  const anomalies = result.anomalies;
  const all = [...transitions, ...result.transitions];
  if (judged) {
    const byPoint = new Map<string, Condition[]>();
    for (const c of judged.faults) byPoint.set(c.nodeId!, [...(byPoint.get(c.nodeId!) ?? []), c]);
    // Every point that has a condition or an anomaly to advance (one with neither has nothing to change).
    const ids = new Set([...byPoint.keys(), ...ofPoints.flatMap((a) => (a.nodeId ? [a.nodeId] : []))]);
    for (const id of [...ids].sort()) {
      const point = advanceAnomalies(
        { ...subject, nodeId: id, judgedBy: 'district' },
        ofPoints.filter((a) => a.nodeId === id),
        byPoint.get(id) ?? [],
        t,
        lifecycle,
      );
      anomalies.push(...point.anomalies);
      all.push(...point.transitions);
    }
  } else {
    anomalies.push(...ofPoints);
  }
  return { anomalies, transitions: all };
}
