/** /dashboard/summary: the one-call overview the fan-in computes after every cycle. */
import { createRoute, z } from '@hono/zod-openapi';
import { keys } from '../../domain/keys.ts';
import type { RouteDeps } from '../context.ts';
import { sendTiered } from '../respond.ts';
import { fastGet, newRouter } from '../router.ts';
import { CONDITIONAL_GET, errorResponses, tieredOk } from '../schemas.ts';

const Summary = z
  .object({
    tenantId: z.string(),
    asOf: z.string(),
    nodes: z.object({
      total: z.number(),
      reportingLastHour: z.number(),
      byKind: z.record(z.string(), z.number()),
    }),
    network24h: z.record(z.string(), z.unknown()).nullable(),
    lastRun: z.record(z.string(), z.unknown()).nullable(),
  })
  .passthrough()
  .openapi('DashboardSummary');

const route = createRoute({
  method: 'get',
  path: '/summary',
  operationId: 'getDashboardSummary',
  ...CONDITIONAL_GET,
  tags: ['dashboard'],
  summary: 'Dashboard summary',
  description: 'Node counts, the network over 24 h and the last run, as of the latest cycle.',
  responses: {
    200: tieredOk('The summary', { 'application/json': { schema: Summary } }),
    ...errorResponses,
  },
});

export function dashboardRoutes(deps: RouteDeps) {
  const { stores, reader, maxAgeSeconds } = deps;
  const app = newRouter();
  // Computed once per cycle by the fan-in and written to Redis: the API only serves it.
  fastGet(app, route, {}, (c) => {
    const tenantId = c.get('tenantId');
    const key = keys.dashboardSummary(tenantId);
    return sendTiered(
      c,
      reader,
      { key, hotKey: key, load: () => stores.serving.snapshot(tenantId, 'dashboard') },
      'No dashboard yet (no cycle has finished)',
      { maxAgeSeconds },
    ) as never;
  });
  return app;
}
