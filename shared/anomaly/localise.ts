/**
 * Where in the district a leak most likely is: the pressure points' residuals against the pressure model's
 * leak-free reference (`pressure-model.ts`, the reference frozen before the leak anomaly's start) matched
 * against each candidate node's sensitivity vector — the change of head at every pressure point that a small
 * leak at that node makes, simulated on the utility's hydraulic model (`npm run network:import`).
 *
 * A leak lowers the head most near it, and the response is close to linear for leaks of a few L/s. The
 * pressure model predicts each point from the mean of the district's others, so what a leak does to point
 * i's residual is its own drop less the model's slope times the others' mean drop: t_i = s_i − b_i·s̄₋ᵢ
 * (a drop every point shares is mostly absorbed; points that swing more than the others with demand have
 * b > 1). Each candidate's sensitivity is carried through that same model (the slopes at the last day's
 * operating point) and candidates are ranked by the Pearson correlation of t with the residuals over the
 * points (shape: blind to a common offset and to scale), each point weighted by the inverse of its
 * residuals' usual spread (a point the model predicts poorly, such as one beside a pump that switches, says
 * less), with the least-squares scale factor as the leak's estimated size (the test leak's outflow × it).
 * A candidate whose sensitivity over these points is negligible beside the others' (another area's node:
 * a pressure-reducing valve or a tank between them) is not ranked — its shape would be noise.
 */
import { round } from './baseline.ts';
import {
  DEFAULT_PRESSURE_MODEL,
  type PressureModelConfig,
  type PressureModelContext,
  type PressureSeries,
  pressureResiduals,
} from './pressure-model.ts';

/** m of head per bar. */
const M_PER_BAR = 10.197;

/** A node of the hydraulic model where a leak may be, with what a small leak there does to each pressure point. */
export interface LeakCandidateNode {
  /** The model's node id. */
  node: string;
  /** The model's coordinates (its own units: metres on most models). */
  x: number | null;
  y: number | null;
  /** The pipes the node sits on (the crew's search area). */
  pipes: readonly string[];
  /** Our pressure points' node ids, and the change of head (m) at each that the test leak makes (negative: a drop). */
  sensors: readonly string[];
  dheadM: readonly number[];
  /** The test leak's mean outflow, L/s. */
  leakLps: number;
}

/** A ranked candidate, as attached to the anomaly. */
export interface LeakLocation {
  node: string;
  pipes: string[];
  x: number | null;
  y: number | null;
  /** Correlation of the residuals with the node's sensitivity, −1…1 (1: the same shape). */
  score: number;
  /** The leak size that fits the residuals best at this node, L/s (linear in the test leak). */
  estimatedLps: number;
}

export interface LocaliseConfig {
  /** Candidates returned. */
  top: number;
  /** Fewest pressure points with both a residual and a sensitivity. */
  minPoints: number;
  /** A candidate's sensitivity norm over the points, as a share of the largest candidate's, below which it is not ranked. */
  minNormShare: number;
  /** Smallest residual spread (bar, standard deviation across the points): below it nothing stands out. */
  minSpreadBar: number;
}

export const DEFAULT_LOCALISE: LocaliseConfig = {
  top: 5,
  minPoints: 3,
  minNormShare: 0.05,
  minSpreadBar: 0.0005,
};

/** Pearson correlation and least-squares scale of y on x (both centred); null when either is flat. */
function fit(x: readonly number[], y: readonly number[]): { r: number; scale: number } | null {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const u = x[i]! - mx;
    const v = y[i]! - my;
    sxy += u * v;
    sxx += u * u;
    syy += v * v;
  }
  if (sxx <= 0 || syy <= 0) return null;
  return { r: sxy / Math.sqrt(sxx * syy), scale: sxy / sxx };
}

/** A pressure point's residual (bar, negative: lower than the model predicts) and the model's slope there. */
export interface PointResidual {
  bar: number;
  slope: number;
  /** The residual's usual spread at the point (bar): the point's weight is its inverse. */
  sigma?: number;
}

/**
 * Candidates ranked by how well their sensitivity, carried through the pressure model, explains the
 * residuals, best first; empty when too few points or the residuals are flat.
 */
export function rankLeakCandidates(
  residuals: ReadonlyMap<string, PointResidual>,
  candidates: readonly LeakCandidateNode[],
  cfg: LocaliseConfig = DEFAULT_LOCALISE,
): LeakLocation[] {
  const points = [...residuals.keys()].sort();
  const weights = points.map((p) => {
    const sigma = residuals.get(p)!.sigma;
    return sigma && sigma > 0 ? 1 / sigma : 1;
  });
  const y = points.map((p, i) => residuals.get(p)!.bar * M_PER_BAR * weights[i]!);
  const slopes = points.map((p) => residuals.get(p)!.slope);
  if (points.length < cfg.minPoints) return [];
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  const spread = Math.sqrt(y.reduce((a, b) => a + (b - my) ** 2, 0) / y.length) / M_PER_BAR;
  if (!(spread >= cfg.minSpreadBar)) return [];
  const vectors = candidates.map((c) => {
    const at = new Map(c.sensors.map((s, i) => [s, c.dheadM[i]!]));
    const raw = points.map((p) => at.get(p) ?? Number.NaN);
    const ok = raw.every(Number.isFinite);
    const total = raw.reduce((a, b) => a + b, 0);
    // Through the model: the point's own change less its slope times the others' mean change.
    const x = raw.map((v, i) => (v - (slopes[i]! * (total - v)) / (raw.length - 1)) * weights[i]!);
    return { c, x, norm: ok ? Math.sqrt(raw.reduce((a, b) => a + b * b, 0)) : 0 };
  });
  const largest = Math.max(0, ...vectors.map((v) => v.norm));
  if (largest === 0) return [];
  const ranked: LeakLocation[] = [];
  for (const { c, x, norm } of vectors) {
    if (norm < cfg.minNormShare * largest) continue;
    const f = fit(x, y);
    if (!f || f.scale <= 0) continue;
    ranked.push({
      node: c.node,
      pipes: [...c.pipes],
      x: c.x,
      y: c.y,
      score: round(f.r, 4),
      estimatedLps: round(f.scale * c.leakLps, 2),
    });
  }
  ranked.sort((a, b) => b.score - a.score || a.node.localeCompare(b.node));
  return ranked.slice(0, cfg.top);
}

/** What was located for a leak anomaly at an instant: the candidates and what they were ranked on. */
export interface LeakLocalisationAt {
  /** When it was located (ISO 8601): the end of the day whose residuals were ranked. */
  at: string;
  /** The pressure points modelled, and their mean residual over the last day (bar). */
  residualBar: Record<string, number>;
  candidates: LeakLocation[];
}

/**
 * An anomaly's localisation as stored: the latest, and beside it the first (what a crew was sent on when the
 * anomaly first had enough evidence; kept by the store however the refreshes move).
 */
export interface LeakLocalisation extends LeakLocalisationAt {
  first?: LeakLocalisationAt;
}

/**
 * The candidates for a leak that began at `leakStartMs`: each point's residual over the last day against the
 * pressure model's reference ending before that start (read from `context.reference` when the recent
 * `points` do not reach back), then ranked. Null when the model or the ranking has too little to go on.
 */
export function locateLeak(
  points: readonly PressureSeries[],
  nowMs: number,
  leakStartMs: number,
  candidates: readonly LeakCandidateNode[],
  context: Omit<PressureModelContext, 'leakFreeBeforeMs'> = {},
  model: PressureModelConfig = DEFAULT_PRESSURE_MODEL,
  cfg: LocaliseConfig = DEFAULT_LOCALISE,
): LeakLocalisation | null {
  const residuals = pressureResiduals(points, nowMs, model, { ...context, leakFreeBeforeMs: leakStartMs });
  const byPoint = new Map(
    residuals.map((r) => [r.nodeId, { bar: r.lastDayResidualBar, slope: r.slope, sigma: r.sigmaBar }]),
  );
  const ranked = rankLeakCandidates(byPoint, candidates, cfg);
  if (ranked.length === 0) return null;
  return {
    at: new Date(nowMs).toISOString(),
    residualBar: Object.fromEntries(residuals.map((r) => [r.nodeId, round(r.lastDayResidualBar, 4)])),
    candidates: ranked,
  };
}
