/**
 * The mean of the double-seasonal smoother and the regression, which err differently (one adapts to the last
 * hours, the other knows the calendar and the weather). Weights are proportional to the inverse mean absolute
 * error of each member's replayed forecasts over the last weeks of the history, so the member that suits the
 * node counts more. The seasonal naive stays out: on the BWDF data adding it made the mean worse. The ensemble's
 * intervals come from its own replayed errors.
 */
import { fitHoltWinters, forecastFromState, type HoltWintersModel } from './holt-winters.ts';
import { buildResidualModel, type Hindcast, type ResidualModel, withIntervals } from './intervals.ts';
import { fitRegression, type RegressionModel, regression } from './regression.ts';
import {
  assertHorizon,
  type FitOptions,
  type Forecast,
  type ForecastMethod,
  HOUR_MS,
  type HourlySeries,
} from './types.ts';

export interface EnsembleModel {
  kind: 'ensemble';
  holtWinters: HoltWintersModel;
  regression: RegressionModel;
  /** Weights of holt-winters and regression, summing to 1. */
  weights: [number, number];
  residuals: ResidualModel;
}

function meanAbsError(
  y: Float64Array,
  hindcasts: ReadonlyMap<number, Float64Array>,
  origins: number[],
): number {
  let s = 0;
  let c = 0;
  for (const o of origins) {
    const mean = hindcasts.get(o)!;
    for (let k = 0; k < mean.length && o + k < y.length; k++) {
      const e = Math.abs(y[o + k]! - mean[k]!);
      if (!Number.isNaN(e)) {
        s += e;
        c++;
      }
    }
  }
  return c ? s / c : Number.NaN;
}

/** Weighted mean of the members that have a value (a NaN member's weight goes to the other). */
function combine(a: number, b: number, weights: readonly [number, number]): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return a * weights[0] + b * weights[1];
}

export function fitEnsemble(
  history: HourlySeries,
  options: FitOptions = {},
): {
  model: EnsembleModel;
  hindcasts: Hindcast[];
  /** Each member's own replays (at the same origins and more), for combinations built on this fit. */
  members: { holtWinters: Hindcast[]; regression: Hindcast[] };
} {
  const hw = fitHoltWinters(history, options);
  const reg = fitRegression(history, options);
  const hwByOrigin = new Map(hw.hindcasts.map((h) => [h.origin, h.mean]));
  const regByOrigin = new Map(reg.hindcasts.map((h) => [h.origin, h.mean]));
  const shared = [...hwByOrigin.keys()].filter((o) => regByOrigin.has(o));
  const errors = [
    meanAbsError(history.values, hwByOrigin, shared),
    meanAbsError(history.values, regByOrigin, shared),
  ];
  const inverse = errors.map((e) => (Number.isFinite(e) && e > 0 ? 1 / e : Number.NaN));
  const weights: [number, number] =
    Number.isNaN(inverse[0]!) || Number.isNaN(inverse[1]!)
      ? [0.5, 0.5]
      : [inverse[0]! / (inverse[0]! + inverse[1]!), inverse[1]! / (inverse[0]! + inverse[1]!)];

  const hindcasts: Hindcast[] = shared.map((origin) => {
    const a = hwByOrigin.get(origin)!;
    const b = regByOrigin.get(origin)!;
    return { origin, mean: a.map((v, k) => combine(v, b[k]!, weights)) };
  });
  const model: EnsembleModel = {
    kind: 'ensemble',
    holtWinters: hw.model,
    regression: reg.model,
    weights,
    residuals: buildResidualModel(history, hindcasts),
  };
  return { model, hindcasts, members: { holtWinters: hw.hindcasts, regression: reg.hindcasts } };
}

export const ensemble: ForecastMethod<EnsembleModel> = {
  id: 'ensemble',
  description: 'weighted mean of holt-winters and regression (weights from recent replayed errors)',
  fit: (history, options) => fitEnsemble(history, options).model,
  forecast(model, horizonHours): Forecast {
    assertHorizon(horizonHours);
    const a = forecastFromState(model.holtWinters.state, model.holtWinters.params, horizonHours);
    const b = regression.forecast(model.regression, horizonHours).mean;
    const mean = a.map((v, k) => combine(v, b[k]!, model.weights));
    return withIntervals(model.holtWinters.state.hour * HOUR_MS, mean, model.residuals);
  },
};
