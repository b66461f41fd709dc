import { blend, blendOf, gbm } from '../../shared/forecast/boosted.ts';
import { ensemble } from '../../shared/forecast/ensemble.ts';
import { globalBlend } from '../../shared/forecast/global.ts';
import { holtWinters } from '../../shared/forecast/holt-winters.ts';
import { buildResidualModel, withIntervals } from '../../shared/forecast/intervals.ts';
import { regression } from '../../shared/forecast/regression.ts';
import type { Forecast, ForecastMethod, HourlySeries } from '../../shared/forecast/types.ts';
import { chooseWeights, fitStack, STACK_BUCKET_ENDS, stack, stackOf, stackValues } from './stack.ts';

/**
 * The stack fitted once per DMA and origin, with every part of it scored as a method of its own: its members, the
 * two-member blends (exactly as `blend` and `global-blend` choose their weights, from the same fits) and other
 * weightings of the same replays (one weight for all leads; the ensemble and the series' own trees only; equal
 * weights).
 */
export type StackEval = {
  fit: ReturnType<typeof fitStack>;
  parts: { methodId: string; forecast: Forecast }[];
};
export const stackEval: ForecastMethod<StackEval> = {
  id: stack.id,
  description: stack.description,
  fit(history: HourlySeries, options) {
    const fit = fitStack(history, options);
    const { ensemble: ens, trees } = fit.members;
    const h = 168;
    const parts: { methodId: string; forecast: Forecast }[] = [
      { methodId: holtWinters.id, forecast: holtWinters.forecast(ens.model.holtWinters, h) },
      { methodId: regression.id, forecast: regression.forecast(ens.model.regression, h) },
      { methodId: ensemble.id, forecast: ensemble.forecast(ens.model, h) },
      { methodId: gbm.id, forecast: gbm.forecast(trees[0]!.model, h) },
      { methodId: blend.id, forecast: blend.forecast(blendOf(history, ens, trees[0]!).model, h) },
    ];
    const ensMean = parts[2]!.forecast.mean;
    /** The members' combination with weights per lead bucket: chosen (`stackOf`), one mix for all leads, or equal. */
    const variant = (
      id: string,
      members: number[],
      rule: 'bucket' | 'one' | 'equal' = 'bucket',
      calibrate = false,
    ) => {
      const hs = [ens.hindcasts, ...trees.map((t) => t.hindcasts)].filter((_, i) => members.includes(i));
      const means = [ensMean, ...trees.map((t) => t.model.mean)].filter((_, i) => members.includes(i));
      const replays = hs.map((x) => new Map(x.map((c) => [c.origin, c.mean])));
      let { weights, hindcasts } = stackOf(history.values, hs);
      if (rule !== 'bucket') {
        const w =
          rule === 'one'
            ? chooseWeights(history.values, replays, 0, STACK_BUCKET_ENDS[STACK_BUCKET_ENDS.length - 1]!)
            : hs.map(() => 1 / hs.length);
        weights = weights.map(() => w);
        hindcasts = hindcasts.map((c) => ({
          origin: c.origin,
          mean: stackValues(
            replays.map((r) => r.get(c.origin)!),
            weights,
          ),
        }));
      }
      const mean = stackValues(means, weights);
      parts.push({
        methodId: id,
        forecast: withIntervals(
          fit.model.trees[0]!.startMs,
          mean,
          buildResidualModel(history, hindcasts, { calibrate }),
        ),
      });
    };
    variant('stack-local', [0, 1]);
    variant('stack-local-cal', [0, 1], 'bucket', true);
    parts.push({
      methodId: 'ensemble-cal',
      forecast: withIntervals(
        fit.model.trees[0]!.startMs,
        ensMean,
        buildResidualModel(history, ens.hindcasts, { calibrate: true }),
      ),
    });
    if (trees[1]) {
      parts.push({ methodId: 'global-gbm', forecast: gbm.forecast(trees[1].model, h) });
      parts.push({
        methodId: globalBlend.id,
        forecast: blend.forecast(blendOf(history, ens, trees[1]).model, h),
      });
      variant('stack-1w', [0, 1, 2], 'one');
      variant('stack-eq', [0, 1, 2], 'equal');
    }
    return { fit, parts };
  },
  forecast: (model, horizonHours) => stack.forecast(model.fit.model, horizonHours),
};
