/**
 * A study, not in the library (eval/RESULTS.md, 2026-12-07): it did not beat the ensemble on the evaluation year
 * (−0.5 % with the series' own trees, −1.2 % with the global trees too, 13 origins), so the cycle does not train it.
 *
 * `stack`: a per-series combination of the ensemble, the series' own boosted trees and, where they exist, the
 * global trees (fitted across the tenant's series), the weights chosen on out-of-sample replays before the origin
 * — the last six weeks of the history, replayed daily by every member — and chosen separately for day 1 (where the
 * trees' lag features carry the last hours) and for days 2–7. The weights are the tenth-step mix of the members
 * whose combined replays erred least (mean absolute error) in each lead bucket; ties keep more of the ensemble.
 * Intervals come from the combined replays, by lead time as every model's.
 *
 * Nothing is read at or after the origin: the members' replays are out of sample (the trees' replays come from
 * trees fitted before the first replay origin, the global trees' from their holdout fit).
 */
import { fitBoosted, type GbmForecastModel } from '../../shared/forecast/boosted.ts';
import { type EnsembleModel, ensemble, fitEnsemble } from '../../shared/forecast/ensemble.ts';
import {
  buildResidualModel,
  type Hindcast,
  type ResidualModel,
  withIntervals,
} from '../../shared/forecast/intervals.ts';
import {
  assertHorizon,
  DAY_HOURS,
  type FitOptions,
  type ForecastMethod,
  type HourlySeries,
} from '../../shared/forecast/types.ts';

/** Lead buckets with weights of their own (upper bounds, inclusive, in hours): day 1 and days 2–7. */
export const STACK_BUCKET_ENDS = [DAY_HOURS, 7 * DAY_HOURS] as const;

export interface StackModel {
  kind: 'stack';
  ensemble: EnsembleModel;
  /** The trees: the series' own, then the global ones when they were given. */
  trees: GbmForecastModel[];
  /** Per lead bucket (`STACK_BUCKET_ENDS`), the weights of the ensemble and of each of `trees`, summing to 1. */
  weights: number[][];
  residuals: ResidualModel;
}

/** Weighted mean of the members that have a value (a missing member's weight spread over the others). */
export function combineValues(values: readonly number[], weights: readonly number[]): number {
  let s = 0;
  let w = 0;
  for (let m = 0; m < values.length; m++) {
    const v = values[m]!;
    if (Number.isNaN(v) || weights[m] === 0) continue;
    s += v * weights[m]!;
    w += weights[m]!;
  }
  if (w > 0) return s / w;
  // Only members weighted 0 have a value: the first of them.
  for (const v of values) if (!Number.isNaN(v)) return v;
  return Number.NaN;
}

/** Every mix of `members` weights in tenths (summing to 1), the first member's largest first. */
export function tenthMixes(members: number): number[][] {
  const out: number[][] = [];
  const rec = (prefix: number[], left: number): void => {
    if (prefix.length === members - 1) {
      out.push([...prefix, left].map((t) => t / 10));
      return;
    }
    for (let t = left; t >= 0; t--) rec([...prefix, t], left - t);
  };
  rec([], 10);
  return out;
}

/**
 * The tenth-step weights whose combination of the members' replays errs least over leads (from, to] (ties: the
 * earlier mix, i.e. more of the first member). `replays[m]` maps an origin to member m's replay from it; only
 * origins every member replayed count.
 */
export function chooseWeights(
  y: Float64Array,
  replays: readonly ReadonlyMap<number, Float64Array>[],
  fromLead: number,
  toLead: number,
): number[] {
  const origins = [...replays[0]!.keys()].filter((o) => replays.every((r) => r.has(o)));
  const M = replays.length;
  // The (actual, member values) of every replayed hour in the bucket, flat.
  const rows: number[] = [];
  for (const o of origins) {
    for (let k = fromLead; k < toLead && o + k < y.length; k++) {
      const a = y[o + k]!;
      if (Number.isNaN(a)) continue;
      rows.push(a);
      for (let m = 0; m < M; m++) rows.push(replays[m]!.get(o)![k] ?? Number.NaN);
    }
  }
  const mixes = tenthMixes(M);
  if (rows.length === 0) return mixes[0]!;
  let best = mixes[0]!;
  let bestErr = Number.POSITIVE_INFINITY;
  const values = new Array<number>(M);
  for (const w of mixes) {
    let s = 0;
    let c = 0;
    for (let i = 0; i < rows.length; i += M + 1) {
      for (let m = 0; m < M; m++) values[m] = rows[i + 1 + m]!;
      const e = Math.abs(rows[i]! - combineValues(values, w));
      if (!Number.isNaN(e)) {
        s += e;
        c++;
      }
    }
    const err = c ? s / c : Number.POSITIVE_INFINITY;
    if (err < bestErr - 1e-12) {
      bestErr = err;
      best = w;
    }
  }
  return best;
}

/** The combined forecast of member forecasts (`means[m][k]`) with per-bucket weights. */
export function stackValues(means: readonly ArrayLike<number>[], weights: readonly number[][]): Float64Array {
  const n = means[0]!.length;
  const out = new Float64Array(n);
  const values = new Array<number>(means.length);
  let b = 0;
  for (let k = 0; k < n; k++) {
    while (b < STACK_BUCKET_ENDS.length - 1 && k + 1 > STACK_BUCKET_ENDS[b]!) b++;
    for (let m = 0; m < means.length; m++) values[m] = means[m]![k] ?? Number.NaN;
    out[k] = combineValues(values, weights[b]!);
  }
  return out;
}

/** Weights per lead bucket chosen on the members' replays, and the combined replays (for the intervals). */
export function stackOf(
  y: Float64Array,
  members: readonly (readonly Hindcast[])[],
): { weights: number[][]; hindcasts: Hindcast[] } {
  const replays = members.map((hs) => new Map(hs.map((h) => [h.origin, h.mean])));
  const weights: number[][] = [];
  let from = 0;
  for (const end of STACK_BUCKET_ENDS) {
    weights.push(chooseWeights(y, replays, from, end));
    from = end;
  }
  const origins = members[0]!.map((h) => h.origin).filter((o) => replays.every((r) => r.has(o)));
  const hindcasts = origins.map((origin) => ({
    origin,
    mean: stackValues(
      replays.map((r) => r.get(origin)!),
      weights,
    ),
  }));
  return { weights, hindcasts };
}

export interface StackFit {
  model: StackModel;
  hindcasts: Hindcast[];
  /** Each member's fit with its replays: the ensemble, then the trees (for the evaluation of its parts). */
  members: { ensemble: ReturnType<typeof fitEnsemble>; trees: ReturnType<typeof fitBoosted>[] };
}

export function fitStack(history: HourlySeries, options: FitOptions = {}): StackFit {
  const { globalTrees, ...local } = options;
  const ens = fitEnsemble(history, local);
  const origins = ens.hindcasts.map((h) => h.origin);
  const trees = [fitBoosted(history, local, origins)];
  if (globalTrees) trees.push(fitBoosted(history, { ...local, globalTrees }, origins));
  const { weights, hindcasts } = stackOf(history.values, [ens.hindcasts, ...trees.map((t) => t.hindcasts)]);
  const used = hindcasts.length ? hindcasts : ens.hindcasts;
  return {
    model: {
      kind: 'stack',
      ensemble: ens.model,
      trees: trees.map((t) => t.model),
      weights: hindcasts.length ? weights : weights.map((w) => w.map((_, m) => (m === 0 ? 1 : 0))),
      residuals: buildResidualModel(history, used),
    },
    hindcasts: used,
    members: { ensemble: ens, trees },
  };
}

export const stack: ForecastMethod<StackModel> = {
  id: 'stack',
  description:
    'the ensemble, the series’ boosted trees and the global trees, weighted per lead (day 1, days 2–7) as their replays over past origins suit best',
  fit: (history, options) => fitStack(history, options).model,
  forecast(model, horizonHours) {
    assertHorizon(horizonHours);
    const a = ensemble.forecast(model.ensemble, horizonHours).mean;
    const mean = stackValues([a, ...model.trees.map((t) => t.mean.subarray(0, horizonHours))], model.weights);
    return withIntervals(model.trees[0]!.startMs, mean, model.residuals);
  },
};
