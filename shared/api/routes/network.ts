/** /network: network-wide metrics per window, and the water balance and leakage KPIs per district. */
import { createRoute, z } from '@hono/zod-openapi';
import { servedBalance } from '../../domain/efficiency.ts';
import { answerKeys, keys } from '../../domain/keys.ts';
import type { RouteDeps } from '../context.ts';
import { sendTiered } from '../respond.ts';
import { fastGet, newRouter } from '../router.ts';
import { CONDITIONAL_GET, errorResponses, Id, RangeEnum, tieredOk } from '../schemas.ts';

const NetworkMetrics = z
  .object({
    range: z.string(),
    nodesReporting: z.number(),
    systemInflowLps: z.number().openapi({ description: 'Inlets minus outlets, mean L/s' }),
    grossInflowLps: z.number(),
    outflowLps: z.number(),
    pressureBar: z.object({ mean: z.number().nullable(), min: z.number().nullable() }),
    quality: z.object({ chlorineMinMgL: z.number().nullable(), turbidityMaxNtu: z.number().nullable() }),
  })
  .passthrough()
  .openapi('NetworkMetrics');

const Balance = z
  .object({
    districtId: z.string().nullable().openapi({ description: 'null for the network-wide balance' }),
    periodKind: z.enum(['day', 'month']),
    periodLabel: z.string().openapi({ example: '2026-03-02' }),
    computedAt: z.string(),
    figures: z.record(z.string(), z.unknown()).openapi({
      description:
        'IWA water balance and leakage KPIs, one flat object: system input volume, authorised consumption, water losses, non-revenue water, NRW %, NRW per connection and day, minimum-night-flow leakage, CARL, UARL, ILI — with what was missing or estimated; network-wide also `districts` (how many) and `included` (per figure, how many districts it sums)',
      example: { systemInputM3: 1520.4, nrwPercent: 18.2, ili: 2.1, missing: [], estimated: [] },
    }),
  })
  .openapi('WaterBalance');

const Efficiency = z
  .object({ network: Balance.nullable(), districts: z.array(Balance) })
  .openapi('NetworkEfficiency');

const RangeQuery = z.object({ range: RangeEnum.default('24h') });

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getNetworkMetrics',
  ...CONDITIONAL_GET,
  tags: ['network'],
  summary: 'Network-wide metrics over a window',
  request: { query: RangeQuery },
  responses: {
    200: tieredOk('Network metrics', { 'application/json': { schema: NetworkMetrics } }),
    ...errorResponses,
  },
});

const efficiencyRoute = createRoute({
  method: 'get',
  path: '/efficiency',
  operationId: 'getNetworkEfficiency',
  ...CONDITIONAL_GET,
  tags: ['network'],
  summary: 'Water balance and network efficiency',
  description:
    'Per district and network-wide, for the latest computed period of a kind (or the period `label`).',
  request: {
    query: z.object({
      district: Id('district', 'd01', 'Only this district', 'query').optional(),
      period: z.enum(['day', 'month']).default('day'),
      label: z
        .string()
        .regex(/^\d{4}-\d{2}(-\d{2})?$/, 'YYYY-MM-DD for a day, YYYY-MM for a month')
        .optional()
        .openapi({ description: 'The period (local to each district); the latest when omitted' }),
    }),
  },
  responses: {
    200: tieredOk('Water balances', { 'application/json': { schema: Efficiency } }),
    ...errorResponses,
  },
});

export function networkRoutes(deps: RouteDeps) {
  const { stores, reader, maxAgeSeconds } = deps;
  const app = newRouter();

  // The hot path (fastGet): the rollup writes each range's snapshot to Redis under this key.
  fastGet(app, metricsRoute, { query: RangeQuery }, (c, { query: { range } }) => {
    const tenantId = c.get('tenantId');
    const key = keys.networkMetrics(tenantId, range);
    return sendTiered(
      c,
      reader,
      { key, hotKey: key, load: () => stores.serving.snapshot(tenantId, `network:${range}`) },
      'No network metrics yet (no cycle has finished)',
      { maxAgeSeconds },
    ) as never;
  });

  app.openapi(efficiencyRoute, (c) => {
    const { district, period, label } = c.req.valid('query');
    const tenantId = c.get('tenantId');
    const key = answerKeys.efficiency(tenantId, period, label, district);
    return sendTiered(
      c,
      reader,
      {
        key,
        load: async () => {
          if (district && !(await stores.registry.district(tenantId, district))) return null;
          // The latest period of each district (and of the network, '*'), or the one asked for.
          const rows = await stores.efficiency.latest(tenantId, period, { label, districtId: district });
          const network = rows.find((r) => r.districtId === '*');
          return {
            network: network ? servedBalance(network) : null,
            districts: rows.filter((r) => r.districtId !== '*').map(servedBalance),
          };
        },
      },
      `No district ${district}`,
      { maxAgeSeconds },
    ) as never;
  });

  return app;
}
