/**
 * Consumption patterns, computed in the rollup once per local day: `/districts/{id}/patterns` for a
 * district, `/network/patterns` network-wide — the typical day (weekday, weekend, holiday) and week with
 * their spread, this month against the same month last year and the last four weeks, the night-time share.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { answerKeys, keys } from '../../domain/keys.ts';
import type { RouteDeps } from '../context.ts';
import { sendTiered } from '../respond.ts';
import { newRouter } from '../router.ts';
import { errorResponses, Id, RATE_LIMIT_HEADERS } from '../schemas.ts';

const Spread = z
  .object({
    p10: z.number().nullable(),
    p50: z.number().nullable(),
    p90: z.number().nullable(),
    mean: z.number().nullable(),
    n: z.number().openapi({ description: 'Days (weeks for the typical week) behind the figures' }),
  })
  .openapi('PatternSpread');

const Pattern = z
  .object({
    typicalDay: z.object({
      weekday: z.array(Spread).openapi({ description: '24 local hours' }),
      weekend: z.array(Spread),
      holiday: z.array(Spread),
    }),
    typicalWeek: z.array(Spread).openapi({ description: '168 hours from Monday 00:00 local' }),
    comparison: z.object({
      thisMonth: z.string(),
      thisMonthMeanLps: z.number().nullable(),
      sameMonthLastYear: z.string(),
      sameMonthLastYearMeanLps: z
        .number()
        .nullable()
        .openapi({ description: 'null without data a year back (hourly partials are kept 90 days)' }),
      last4WeeksMeanLps: z.number().nullable(),
      vsSameMonthLastYearPercent: z.number().nullable(),
      vsLast4WeeksPercent: z.number().nullable(),
    }),
    nightShare: z.object({ window: z.string(), meanPercent: z.number().nullable(), days: z.number() }),
  })
  .openapi('ConsumptionPattern');

const Patterns = z
  .object({
    districtId: z.string().nullable().openapi({ description: 'null: the network' }),
    timezone: z.string(),
    asOfDay: z.string().openapi({ description: 'The last complete local day the patterns include' }),
    holidays: z.string().openapi({ description: 'The holiday calendar that classifies days' }),
    unit: z.string(),
    netInflow: Pattern.openapi({ description: 'Inlets minus outlets (the network: summed over districts)' }),
    byKind: z
      .array(Pattern.extend({ kind: z.string(), nodes: z.number() }))
      .openapi({ description: 'The summed flow of each kind of node of the district' }),
  })
  .openapi('ConsumptionPatterns');

const responses = {
  200: {
    description: 'The patterns',
    headers: RATE_LIMIT_HEADERS,
    content: { 'application/json': { schema: Patterns } },
  },
  ...errorResponses,
};

const districtRoute = createRoute({
  method: 'get',
  path: '/districts/{id}/patterns',
  operationId: 'getDistrictPatterns',
  tags: ['patterns'],
  summary: "A district's consumption patterns",
  request: { params: z.object({ id: Id('id', 'd01', 'A district id') }) },
  responses,
});

const networkRoute = createRoute({
  method: 'get',
  path: '/network/patterns',
  operationId: 'getNetworkPatterns',
  tags: ['patterns'],
  summary: 'Network-wide consumption patterns',
  responses,
});

export function patternsRoutes(deps: RouteDeps) {
  const { stores, reader, maxAgeSeconds } = deps;
  const app = newRouter();
  const send = (c: Parameters<Parameters<typeof app.openapi>[1]>[0], tenantId: string, districtId: string) =>
    sendTiered(
      c,
      reader,
      {
        key: answerKeys.patterns(tenantId, districtId),
        hotKey: keys.patterns(tenantId, districtId),
        load: () => stores.patterns.find(tenantId, districtId),
      },
      districtId === '*' ? 'No patterns yet' : `No patterns for district ${districtId}`,
      { maxAgeSeconds },
    ) as never;
  app.openapi(districtRoute, (c) => send(c, c.get('tenantId'), c.req.valid('param').id));
  app.openapi(networkRoute, (c) => send(c, c.get('tenantId'), '*'));
  return app;
}
