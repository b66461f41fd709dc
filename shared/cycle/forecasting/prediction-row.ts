/** An issued forecast as stored (`predictionRow`) and as the API and the hot key serve it (`predictionPayload`). */
import type { PredictionBody, PredictionRow } from '../../domain/predictions.ts';
import { type Forecast, HOUR_MS } from '../../forecast/types.ts';

/** Who the forecast is for. */
export interface PredictionTarget {
  tenantId: string;
  targetId: string;
  targetKind: 'node' | 'district';
  unit: string;
}

const round = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);
const arr = (xs: Float64Array) => Array.from(xs, round);

/** The API's shape of a prediction (the `predictions:{id}` hot key). */
export function predictionPayload(row: PredictionRow) {
  const b = row.body;
  return {
    targetId: row.targetId,
    targetKind: row.targetKind,
    issuedAt: new Date(row.horizonStartMs).toISOString(),
    modelId: row.modelId,
    servedBy: b.servedBy ?? 'champion',
    historyHours: b.historyHours ?? null,
    note: b.note ?? null,
    horizonStart: new Date(row.horizonStartMs).toISOString(),
    unit: b.unit,
    points: b.mean.map((mean, i) => ({
      t: new Date(row.horizonStartMs + i * HOUR_MS).toISOString(),
      mean,
      lo80: b.lo80[i] ?? null,
      hi80: b.hi80[i] ?? null,
      lo95: b.lo95[i] ?? null,
      hi95: b.hi95[i] ?? null,
    })),
  };
}

export function predictionRow(
  target: PredictionTarget,
  modelId: string,
  forecast: Forecast,
  dataEndMs: number,
  served: Pick<PredictionBody, 'servedBy' | 'historyHours' | 'note'> & { trainedMs: number },
): PredictionRow {
  const { trainedMs, ...rest } = served;
  return {
    tenantId: target.tenantId,
    targetId: target.targetId,
    targetKind: target.targetKind,
    horizonStartMs: forecast.startMs,
    modelId,
    body: {
      unit: target.unit,
      mean: arr(forecast.mean),
      lo80: arr(forecast.lo80),
      hi80: arr(forecast.hi80),
      lo95: arr(forecast.lo95),
      hi95: arr(forecast.hi95),
      trainedAt: new Date(trainedMs).toISOString(),
      dataTo: new Date(dataEndMs).toISOString(),
      ...rest,
    } satisfies PredictionBody,
  };
}
