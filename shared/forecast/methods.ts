/** Every forecasting method, by id: what a registry entry's `modelId` names. */
import { blend, gbm } from './boosted.ts';
import { combination } from './combination.ts';
import { ensemble } from './ensemble.ts';
import { globalBlend } from './global.ts';
import { holtWinters } from './holt-winters.ts';
import { regression } from './regression.ts';
import { seasonalNaive } from './seasonal-naive.ts';
import type { ForecastMethod } from './types.ts';

export const BASELINE_METHOD_ID = seasonalNaive.id;

export const FORECAST_METHODS: readonly ForecastMethod[] = [
  seasonalNaive as ForecastMethod,
  holtWinters as ForecastMethod,
  regression as ForecastMethod,
  ensemble as ForecastMethod,
  gbm as ForecastMethod,
  blend as ForecastMethod,
  combination as ForecastMethod,
];

/**
 * Methods that forecast a series with trees fitted across many series: `fit` needs `options.globalTrees`
 * (`fitGlobalTrees`) and refuses without them (a RangeError, as a method refuses too short a history).
 */
export const GLOBAL_FORECAST_METHODS: readonly ForecastMethod[] = [globalBlend as ForecastMethod];

export function forecastMethod(id: string): ForecastMethod {
  const method = [...FORECAST_METHODS, ...GLOBAL_FORECAST_METHODS].find((m) => m.id === id);
  if (!method)
    throw new RangeError(
      `unknown forecast method ${id}; known: ${[...FORECAST_METHODS, ...GLOBAL_FORECAST_METHODS].map((m) => m.id).join(', ')}`,
    );
  return method;
}
