/** /predictions/{id}: the latest hourly flow forecast of a node or a district, with 80 % and 95 % intervals. */
import { createRoute, z } from '@hono/zod-openapi';
import { answerKeys } from '../../domain/keys.ts';
import type { IssuedPrediction } from '../../domain/predictions.ts';
import type { RouteDeps } from '../context.ts';
import { sendTiered } from '../respond.ts';
import { newRouter } from '../router.ts';
import { CONDITIONAL_GET, errorResponses, Id, tieredOk } from '../schemas.ts';

const HOUR_MS = 3_600_000;

const ForecastPoint = z
  .object({
    t: z.string().openapi({ description: 'Start of the hour' }),
    mean: z.number().nullable(),
    lo80: z.number().nullable(),
    hi80: z.number().nullable(),
    lo95: z.number().nullable(),
    hi95: z.number().nullable(),
  })
  .openapi('ForecastPoint');

const Prediction = z
  .object({
    targetId: z.string(),
    targetKind: z.enum(['node', 'district']),
    issuedAt: z.string(),
    modelId: z.string().openapi({ description: 'The model that made this forecast' }),
    servedBy: z.enum(['champion', 'fallback']).openapi({
      description:
        '`champion`: the model registry’s trained model; `fallback`: a simpler model (seasonal or daily naive) while the history is too short for it',
    }),
    historyHours: z.number().nullable().openapi({ description: 'Hours of data the model was fitted on' }),
    note: z.string().nullable().openapi({ description: 'Why a fallback serves' }),
    horizonStart: z.string(),
    unit: z.string().nullable(),
    points: z.array(ForecastPoint),
  })
  .openapi('Prediction');

const route = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getPrediction',
  ...CONDITIONAL_GET,
  tags: ['predictions'],
  summary: 'Latest forecast of a node or district',
  description: 'Hourly flow for up to 7 days ahead, from the champion model.',
  request: { params: z.object({ id: Id('id', 'd01', 'A node or district id') }) },
  responses: {
    200: tieredOk('The forecast', { 'application/json': { schema: Prediction } }),
    ...errorResponses,
  },
});

/** The stored hourly arrays (`body.mean`, `lo80`, … from `horizon_start`) as points. */
export function predictionPayload(r: IssuedPrediction) {
  const b = r.body;
  const start = r.horizonStart.getTime();
  const n = b.mean?.length ?? 0;
  const at = (xs: (number | null)[] | undefined, i: number) => {
    const v = xs?.[i];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  return {
    targetId: r.targetId,
    targetKind: r.targetKind,
    issuedAt: r.issuedAt.toISOString(),
    modelId: r.modelId,
    servedBy: b.servedBy ?? 'champion',
    historyHours: b.historyHours ?? null,
    note: b.note ?? null,
    horizonStart: r.horizonStart.toISOString(),
    unit: b.unit ?? null,
    points: Array.from({ length: n }, (_, i) => ({
      t: new Date(start + i * HOUR_MS).toISOString(),
      mean: at(b.mean, i),
      lo80: at(b.lo80, i),
      hi80: at(b.hi80, i),
      lo95: at(b.lo95, i),
      hi95: at(b.hi95, i),
    })),
  };
}

export function predictionsRoutes(deps: RouteDeps) {
  const { stores, reader, maxAgeSeconds } = deps;
  const app = newRouter();

  // From PostgreSQL through the memory tier, shaped here: stored non-finite values become null.
  app.openapi(route, (c) => {
    const { id } = c.req.valid('param');
    const tenantId = c.get('tenantId');
    return sendTiered(
      c,
      reader,
      {
        key: answerKeys.predictions(tenantId, id),
        load: async () => {
          const forecast = await stores.predictions.latest(tenantId, id);
          return forecast ? predictionPayload(forecast) : null;
        },
      },
      `No forecast for ${id}`,
      { maxAgeSeconds },
    ) as never;
  });

  return app;
}
