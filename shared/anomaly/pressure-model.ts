/**
 * Leaks by pressure residuals, per district (LILA-style: BattLeDIM 2020's best-scoring family of methods).
 *
 * Catches: a leak that no flow meter sees well (too small against the district's demand, or in an area without
 * an inflow meter) but that lowers the pressure around it. Every pressure point of a district follows the same
 * driver — demand draws the whole district's pressure down by the day, the tank or the inlet's head lifts it —
 * so one point is well predicted by the others. A leak adds head loss near it: the point closest to it then
 * reads lower than the others predict, and keeps doing so.
 *
 * How: on hourly means, each pressure point is modelled from the mean of the district's other points by a
 * quadratic least-squares fit (head loss grows faster than linearly with flow) learned on a reference window
 * that ends `lagHours` before now and before any open leak of the district (so a leak never teaches the model
 * its own signature). The residual of every hour of the last `lagHours` (after the reference when it is not
 * frozen), in units of the reference residuals' robust spread, feeds a one-sided CUSUM for drops:
 * S ← max(0, S − r/σ − k) (an open leak's frozen reference may lie weeks back: it may come in series of its
 * own). A leak holds when some point's S reaches `threshold`; the condition names the point with the highest
 * S (where the leak most likely is).
 *
 * After a repair: the hours of the district's past leaks (its resolved pressure-residual anomalies, start to
 * end) are left out of the reference. A leak's hours in the reference would teach the model that the
 * leak's point reads low, and so that the others' mean runs low: once repaired, the mean rises and every
 * other point reads lower than predicted — a false drop, for as long as the reference holds the leak.
 * Earlier hours take the excluded ones' place (so the model is not blind for weeks after a long leak), and
 * the CUSUM does not judge a past leak's hours again.
 *
 * A second leak while one is open (`detectPressureStepUp`): the open anomaly's frozen reference would absorb
 * it, so once the ordinary reference lies wholly after the open anomaly's start (it then holds the first
 * leak), a drop against it at another point than the open anomaly's is a new leak. At the open anomaly's own
 * point it is the same leak grown (an incipient leak keeps growing for weeks), not announced again. Nor is
 * it while the open anomaly's point rises against that reference: that is the first leak repaired (its
 * point recovers by the leak's whole drop, the others' mean by a share of it: the repair shows there first),
 * and the others' drops are the repair seen through their mean, not a leak.
 * `k` and `threshold` are set on a leak-free simulation for a false-alarm budget (eval/leaks/calibrate.ts),
 * not on the leaks the evaluation scores.
 */
import { round } from './baseline.ts';
import { HOUR_MS } from './series.ts';
import { MAD_TO_SIGMA, median } from './stats.ts';
import type { BucketSeries, Condition, Severity } from './types.ts';

export interface PressureModelConfig {
  /** Hours of the reference window the model is fitted on. 14 days: every weekday twice, little seasonal drift. */
  referenceHours: number;
  /** Hours between the reference window's end and now: the CUSUM runs over them. */
  lagHours: number;
  /** Fewest hours of the reference window with data at the point and every other point. */
  minReferenceHours: number;
  /** Fewest other pressure points a point is modelled from. */
  minOthers: number;
  /** CUSUM allowance, in residual σ: drifts smaller than this are not accumulated. */
  k: number;
  /** CUSUM decision level, in residual σ·hours. */
  threshold: number;
  /** Smallest residual scale, in bar (a near-perfect fit is not infinitely precise). */
  minSigmaBar: number;
  /** CUSUM levels (in multiples of `threshold`) from which each severity applies. */
  severity: Partial<Record<Severity, number>>;
}

export const DEFAULT_PRESSURE_MODEL: PressureModelConfig = {
  referenceHours: 14 * 24,
  lagHours: 7 * 24,
  minReferenceHours: 7 * 24,
  minOthers: 2,
  k: 1,
  threshold: 30,
  minSigmaBar: 0.002,
  severity: { warning: 1, minor: 2, major: 4 },
};

/** One pressure point's hourly means (bar), on an hourly grid. */
export interface PressureSeries {
  nodeId: string;
  hourly: BucketSeries;
}

export interface PressureResidual {
  nodeId: string;
  /** CUSUM of drops at the last hour before now, in σ·hours. */
  cusum: number;
  /** The same CUSUM for rises (a repaired leak's point reads higher than a reference holding the leak). */
  riseCusum: number;
  /** Mean residual of the last 24 hours, bar (negative: lower than predicted). */
  lastDayResidualBar: number;
  /**
   * The model's slope (bar of the point per bar of the others' mean) at the others' mean of the last 24 hours:
   * a change δ at the point and Δ in the others' mean moves the residual by about δ − slope·Δ (leak localisation).
   */
  slope: number;
  sigmaBar: number;
  /** First hour of the CUSUM's current run above zero. */
  sinceMs: number;
}

/** Hourly mean of a series at hour `t` (NaN when empty). */
function at(s: BucketSeries, t: number): number {
  const i = Math.floor((t - s.startMs) / s.stepMs);
  if (i < 0 || i >= s.length) return Number.NaN;
  const c = s.count[i]!;
  return c > 0 ? s.sum[i]! / c : Number.NaN;
}

/** Least squares of y on [1, x, x²] (x centred for conditioning); null when singular. */
function fitQuadratic(x: readonly number[], y: readonly number[]): ((v: number) => number) | null {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const m = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const r = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const u = x[i]! - mx;
    const f = [1, u, u * u];
    for (let a = 0; a < 3; a++) {
      r[a]! += f[a]! * y[i]!;
      for (let b = 0; b < 3; b++) m[a]![b]! += f[a]! * f[b]!;
    }
  }
  // Gaussian elimination with partial pivoting on the 3×3 normal equations.
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let k = c + 1; k < 3; k++) if (Math.abs(m[k]![c]!) > Math.abs(m[p]![c]!)) p = k;
    if (Math.abs(m[p]![c]!) < 1e-12) return null;
    [m[c], m[p]] = [m[p]!, m[c]!];
    [r[c], r[p]] = [r[p]!, r[c]!];
    for (let k = c + 1; k < 3; k++) {
      const f = m[k]![c]! / m[c]![c]!;
      for (let j = c; j < 3; j++) m[k]![j]! -= f * m[c]![j]!;
      r[k]! -= f * r[c]!;
    }
  }
  const w = [0, 0, 0];
  for (let c = 2; c >= 0; c--) {
    let s = r[c]!;
    for (let j = c + 1; j < 3; j++) s -= m[c]![j]! * w[j]!;
    w[c] = s / m[c]![c]!;
  }
  return (v: number) => {
    const u = v - mx;
    return w[0]! + w[1]! * u + w[2]! * u * u;
  };
}

/** A span of time [fromMs, toMs]. */
export interface Span {
  fromMs: number;
  toMs: number;
}

/** What the district's anomalies tell the model about its reference. */
export interface PressureModelContext {
  /** Start of the district's open pressure-residual anomaly: the reference window ends before it. */
  leakFreeBeforeMs?: number;
  /** The points over that frozen reference window, when `points` do not reach back to it (matched by node id). */
  reference?: readonly PressureSeries[];
  /** The district's past leaks (resolved pressure-residual anomalies): their hours are left out of the reference, earlier ones taken instead. */
  excluded?: readonly Span[];
}

/**
 * Each modelled point's CUSUM of drops at `nowMs`. The reference window ends `lagHours` before the last full
 * hour, or at `leakFreeBeforeMs` if that is earlier, less the `excluded` hours; it is read from `reference`
 * (the same points, matched by node id: an open leak's frozen reference may lie before what `points` hold).
 * The CUSUM runs over the last `lagHours`, from the reference's end when that is later.
 */
export function pressureResiduals(
  points: readonly PressureSeries[],
  nowMs: number,
  cfg: PressureModelConfig = DEFAULT_PRESSURE_MODEL,
  context: PressureModelContext = {},
): PressureResidual[] {
  if (points.length < cfg.minOthers + 1) return [];
  const { leakFreeBeforeMs = Number.POSITIVE_INFINITY, reference = points, excluded = [] } = context;
  const endMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const refEnd = Math.min(endMs - cfg.lagHours * HOUR_MS, Math.floor(leakFreeBeforeMs / HOUR_MS) * HOUR_MS);
  const refStart = refEnd - cfg.referenceHours * HOUR_MS;
  const cusumFrom = Math.max(refEnd, endMs - cfg.lagHours * HOUR_MS);
  const refById = new Map(reference.map((r) => [r.nodeId, r.hourly]));
  // An hour overlapping a past leak's span is left out (the span's ends are within the hour or on it).
  const leaky = (t: number) => excluded.some((x) => t + HOUR_MS > x.fromMs && t <= x.toMs);
  // The reference's hours: the latest `referenceHours` before its end outside past leaks — earlier hours
  // take an excluded one's place, so the model is not blind for weeks after a long leak (as far back as the
  // reference's series reach).
  const hours: number[] = [];
  if (excluded.length === 0) {
    for (let t = refStart; t < refEnd; t += HOUR_MS) hours.push(t);
  } else {
    const earliest = Math.min(...reference.map((r) => r.hourly.startMs));
    for (let t = refEnd - HOUR_MS; t >= earliest && hours.length < cfg.referenceHours; t -= HOUR_MS) {
      if (!leaky(t)) hours.push(t);
    }
    hours.reverse();
  }
  const refCount = hours.length;
  // A past leak's hours are not judged again either: they were its anomaly's.
  for (let t = cusumFrom; t < endMs; t += HOUR_MS) if (!leaky(t)) hours.push(t);
  const values = points.map((p) => {
    const ref = refById.get(p.nodeId);
    return hours.map((t, h) => (h < refCount ? (ref ? at(ref, t) : Number.NaN) : at(p.hourly, t)));
  });
  const total = hours.map((_, h) => {
    let s = 0;
    let n = 0;
    for (const v of values) {
      if (Number.isFinite(v[h]!)) {
        s += v[h]!;
        n++;
      }
    }
    return { s, n };
  });
  const out: PressureResidual[] = [];
  for (let p = 0; p < points.length; p++) {
    const own = values[p]!;
    // The mean of the others: hours where every point has data (a missing point would shift the mean).
    const others = (h: number) =>
      total[h]!.n === points.length && Number.isFinite(own[h]!)
        ? (total[h]!.s - own[h]!) / (points.length - 1)
        : Number.NaN;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let h = 0; h < refCount; h++) {
      const x = others(h);
      if (Number.isFinite(x)) {
        xs.push(x);
        ys.push(own[h]!);
      }
    }
    if (xs.length < cfg.minReferenceHours) continue;
    const model = fitQuadratic(xs, ys);
    if (!model) continue;
    const derivative = (v: number) => (model(v + 0.005) - model(v - 0.005)) / 0.01;
    const residuals = xs.map((x, i) => ys[i]! - model(x));
    const center = median(residuals);
    const sigma = Math.max(
      cfg.minSigmaBar,
      MAD_TO_SIGMA * median(residuals.map((r) => Math.abs(r - center))),
    );
    let s = 0;
    let rise = 0;
    let since = cusumFrom;
    let lastDay = 0;
    let lastDayN = 0;
    let lastDayX = 0;
    for (let h = refCount; h < hours.length; h++) {
      const x = others(h);
      if (!Number.isFinite(x)) continue;
      const r = own[h]! - model(x) - center;
      const next = Math.max(0, s - r / sigma - cfg.k);
      if (s === 0 && next > 0) since = hours[h]!;
      s = next;
      rise = Math.max(0, rise + r / sigma - cfg.k);
      if (hours[h]! >= endMs - 24 * HOUR_MS) {
        lastDay += r;
        lastDayX += x;
        lastDayN++;
      }
    }
    out.push({
      nodeId: points[p]!.nodeId,
      cusum: s,
      riseCusum: rise,
      lastDayResidualBar: lastDayN > 0 ? lastDay / lastDayN : 0,
      slope: derivative(lastDayN > 0 ? lastDayX / lastDayN : xs.reduce((a, b) => a + b, 0) / xs.length),
      sigmaBar: sigma,
      sinceMs: since,
    });
  }
  return out;
}

/** The district's pressure-residual leak at `nowMs`, or null. */
export function detectPressureResidualLeak(
  points: readonly PressureSeries[],
  nowMs: number,
  cfg: PressureModelConfig = DEFAULT_PRESSURE_MODEL,
  context: PressureModelContext = {},
): Condition | null {
  return conditionOf(pressureResiduals(points, nowMs, cfg, context), nowMs, cfg);
}

/**
 * A second leak on top of the district's open pressure-residual anomaly, which began at `open.startMs` at
 * the point `open.nodeId`: once the ordinary reference lies wholly after that start (so it holds the first
 * leak), some other point drops past the threshold against it. Null otherwise — for drops at the open
 * anomaly's own point, which are the first leak grown, and while that point rises past the threshold
 * (the first leak repaired). `excluded` as in `pressureResiduals`.
 */
export function detectPressureStepUp(
  points: readonly PressureSeries[],
  nowMs: number,
  open: { startMs: number; nodeId: string | null },
  cfg: PressureModelConfig = DEFAULT_PRESSURE_MODEL,
  excluded: readonly Span[] = [],
): Condition | null {
  const endMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  if (endMs - (cfg.lagHours + cfg.referenceHours) * HOUR_MS < open.startMs) return null;
  const residuals = pressureResiduals(points, nowMs, cfg, { excluded });
  const own = residuals.find((r) => r.nodeId === open.nodeId);
  if (own && own.riseCusum >= cfg.threshold) return null;
  const found = conditionOf(
    residuals.filter((r) => r.nodeId !== open.nodeId),
    nowMs,
    cfg,
  );
  return found ? { ...found, evidence: { ...found.evidence, stepUp: true } } : null;
}

function conditionOf(
  residuals: readonly PressureResidual[],
  nowMs: number,
  cfg: PressureModelConfig,
): Condition | null {
  const above = residuals.filter((r) => r.cusum >= cfg.threshold);
  if (above.length === 0) return null;
  const worst = above.reduce((a, b) => (b.cusum > a.cusum ? b : a));
  const level = worst.cusum / cfg.threshold;
  let severity: Severity = 'warning';
  for (const [s, from] of Object.entries(cfg.severity) as [Severity, number][]) {
    if (level >= from) severity = s;
  }
  return {
    type: 'pressure_residual',
    metric: 'pressure',
    severity,
    observedAtMs: nowMs,
    sinceMs: worst.sinceMs,
    nodeId: worst.nodeId,
    evidence: {
      cusum: round(worst.cusum, 1),
      threshold: cfg.threshold,
      lastDayResidualBar: round(worst.lastDayResidualBar, 4),
      sigmaBar: round(worst.sigmaBar, 4),
      pointsAbove: above.length,
      pointsModelled: residuals.length,
    },
  };
}
