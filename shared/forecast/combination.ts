/**
 * The equal-weight mean of the five forecasts one blend fit holds: holt-winters, the regression, their ensemble,
 * the boosted trees and the blend. Each of those picks its weights (ensemble, blend) on replays of the last weeks,
 * and weights estimated on a few weeks are noisy; a plain mean of forecasts that err differently is the robust
 * default (the "forecast combination puzzle": equal weights are hard to beat). Over the first 26 weekly origins of
 * the BWDF year it beat the ensemble by 1.3 % where the blend did by 0.4 % and champions picked by backtests lost
 * (eval/RESULTS.md, 2026-12-07, helper C). It costs what the blend costs: the same fit.
 * Intervals: the blend's (from the blend's replays), the members' own replays not being kept.
 */
import { type BlendModel, blendOf, blendValues, fitBoosted } from './boosted.ts';
import { fitEnsemble } from './ensemble.ts';
import { forecastFromState } from './holt-winters.ts';
import { buildResidualModel, type Hindcast, withIntervals } from './intervals.ts';
import { regression } from './regression.ts';
import {
  assertHorizon,
  type FitOptions,
  type Forecast,
  type ForecastMethod,
  type HourlySeries,
} from './types.ts';

/** The members' mean hour by hour (a member without a value at an hour is left out there). */
export function combinationOf(
  model: BlendModel,
  holtWinters: ArrayLike<number>,
  regressionMean: ArrayLike<number>,
  trees: ArrayLike<number>,
): Float64Array {
  const n = Math.min(holtWinters.length, regressionMean.length, trees.length);
  const out = new Float64Array(n);
  const [wh, wr] = model.ensemble.weights;
  for (let k = 0; k < n; k++) {
    const h = holtWinters[k]!;
    const r = regressionMean[k]!;
    const g = trees[k]!;
    const e = Number.isNaN(h) ? r : Number.isNaN(r) ? h : h * wh + r * wr;
    const members = [h, r, e, g, blendValues(e, g, model.weights)];
    let s = 0;
    let c = 0;
    for (const v of members) {
      if (!Number.isNaN(v)) {
        s += v;
        c++;
      }
    }
    out[k] = c ? s / c : Number.NaN;
  }
  return out;
}

/**
 * One blend fit, kept whole: the blend (its model and replays) and the combination's own replays — the members'
 * replays over the same past origins combined as `combinationOf` combines their forecasts — from which the
 * combination's intervals are built. The blend and the combination are both read from it (the cycle fits it once
 * for both).
 */
export function fitCombination(
  history: HourlySeries,
  options: FitOptions = {},
): { model: BlendModel; hindcasts: Hindcast[]; blend: { model: BlendModel; hindcasts: Hindcast[] } } {
  const ens = fitEnsemble(history, options);
  const trees = fitBoosted(
    history,
    options,
    ens.hindcasts.map((h) => h.origin),
  );
  const fitted = blendOf(history, ens, trees);
  const hwAt = new Map(ens.members.holtWinters.map((h) => [h.origin, h.mean]));
  const regAt = new Map(ens.members.regression.map((h) => [h.origin, h.mean]));
  const hindcasts: Hindcast[] = [];
  for (const t of trees.hindcasts) {
    const hw = hwAt.get(t.origin);
    const reg = regAt.get(t.origin);
    if (hw && reg) hindcasts.push({ origin: t.origin, mean: combinationOf(fitted.model, hw, reg, t.mean) });
  }
  const residuals = hindcasts.length ? buildResidualModel(history, hindcasts) : fitted.model.residuals;
  return { model: { ...fitted.model, residuals }, hindcasts, blend: fitted };
}

export const combination: ForecastMethod<BlendModel> = {
  id: 'combination',
  description:
    'equal-weight mean of holt-winters, the regression, their ensemble, the boosted trees and the blend (one blend fit)',
  fit: (history, options) => fitCombination(history, options).model,
  forecast(model, horizonHours): Forecast {
    assertHorizon(horizonHours);
    const hw = model.ensemble.holtWinters;
    const mean = combinationOf(
      model,
      forecastFromState(hw.state, hw.params, horizonHours),
      regression.forecast(model.ensemble.regression, horizonHours).mean,
      model.gbm.mean.subarray(0, horizonHours),
    );
    return withIntervals(model.gbm.startMs, mean, model.residuals);
  },
};
