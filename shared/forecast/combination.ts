/**
 * The trimmed mean of the five forecasts one blend fit holds: holt-winters, the regression, their ensemble, the
 * boosted trees and the blend — hour by hour the highest and the lowest left out, the middle three averaged. Each of
 * those picks its weights (ensemble, blend) on replays of the last weeks, and weights estimated on a few weeks are
 * noisy; a plain mean of forecasts that err differently is the robust default (the "forecast combination puzzle":
 * equal weights are hard to beat), and trimming keeps a member that goes astray in a week (a level shift, a holiday
 * the trees misread) from pulling the mean. Chosen over the equal-weight mean, the median and weights from the
 * members' skill over the last four weeks on the first 26 weekly origins of the BWDF year (eval/RESULTS.md,
 * 2026-12-07, helper C3). It costs what the blend costs: the same fit (the cycle fits it once for both).
 * Intervals: the blend's (from the blend's replays); intervals from the combination's own replays, calibrated or
 * not, scored worse on the same 26 origins (interval score).
 */
import { type BlendModel, blendValues, fitBlend } from './boosted.ts';
import { forecastFromState } from './holt-winters.ts';
import { withIntervals } from './intervals.ts';
import { regression } from './regression.ts';
import { assertHorizon, type Forecast, type ForecastMethod } from './types.ts';

/**
 * The members' trimmed mean hour by hour: of the members with a value there, the highest and the lowest left out
 * when three or more remain, the rest averaged.
 */
export function combinationOf(
  model: BlendModel,
  holtWinters: ArrayLike<number>,
  regressionMean: ArrayLike<number>,
  trees: ArrayLike<number>,
): Float64Array {
  const n = Math.min(holtWinters.length, regressionMean.length, trees.length);
  const out = new Float64Array(n);
  const [wh, wr] = model.ensemble.weights;
  const members = new Float64Array(5);
  for (let k = 0; k < n; k++) {
    const h = holtWinters[k]!;
    const r = regressionMean[k]!;
    const g = trees[k]!;
    const e = Number.isNaN(h) ? r : Number.isNaN(r) ? h : h * wh + r * wr;
    let c = 0;
    for (const v of [h, r, e, g, blendValues(e, g, model.weights)]) if (!Number.isNaN(v)) members[c++] = v;
    const sorted = members.subarray(0, c).sort();
    const kept = c >= 3 ? sorted.subarray(1, c - 1) : sorted;
    let s = 0;
    for (const v of kept) s += v;
    out[k] = kept.length ? s / kept.length : Number.NaN;
  }
  return out;
}

export const combination: ForecastMethod<BlendModel> = {
  id: 'combination',
  description:
    'trimmed mean (highest and lowest left out) of holt-winters, the regression, their ensemble, the boosted trees and the blend (one blend fit)',
  fit: (history, options) => fitBlend(history, options).model,
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
