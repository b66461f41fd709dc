/**
 * /quality/{id}: data quality of a node (or of a district's nodes) over a window: completeness,
 * validity, timeliness, flatline share, duplicates, out-of-order share and a 0–100 score, from the
 * mergeable per-5-minute counters the cycle stores (shared/analytics/quality.ts).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { type NodeQuality, networkQuality } from '../../analytics/network-quality.ts';
import { emptyQuality, mergeQuality } from '../../analytics/quality.ts';
import { intervalFromCounters, type QualityReport, scoreQuality } from '../../analytics/quality-score.ts';
import { HOUR_MS } from '../../domain/aggregate.ts';
import { answerKeys } from '../../domain/keys.ts';
import type { Range } from '../../domain/windows.ts';
import type { RouteDeps } from '../context.ts';
import { sendTiered } from '../respond.ts';
import { newRouter } from '../router.ts';
import { CONDITIONAL_GET, errorResponses, Id, RangeEnum, tieredOk } from '../schemas.ts';
import type { ApiStores } from '../stores.ts';

const RANGE_MS: Record<Range, number> = {
  '1h': HOUR_MS,
  '6h': 6 * HOUR_MS,
  '24h': 24 * HOUR_MS,
  '3d': 72 * HOUR_MS,
  '7d': 168 * HOUR_MS,
  '30d': 720 * HOUR_MS,
};

const Report = z
  .object({
    score: z.number().openapi({ description: '0–100' }),
    completeness: z.number().nullable(),
    validity: z.number().nullable(),
    timeliness: z.number(),
    flatlineShare: z.number().nullable(),
    duplicateShare: z.number().nullable(),
    outOfOrderShare: z.number().nullable(),
    expected: z.number().nullable(),
    received: z.number(),
    present: z.number(),
    latestTs: z.number().nullable(),
    lagMs: z.number().nullable(),
  })
  .passthrough()
  .openapi('QualityReport');

const Quality = z
  .object({
    targetId: z.string(),
    targetKind: z.enum(['node', 'district']),
    range: RangeEnum,
    from: z.string(),
    to: z.string(),
    report: Report.nullable().openapi({ description: 'A node’s report; null for a district' }),
    district: z
      .object({
        nodes: z.number(),
        score: z.number().nullable(),
        measures: z.record(z.string(), z.number().nullable()),
        worst: z.array(z.object({ nodeId: z.string(), score: z.number() })),
      })
      .nullable()
      .openapi({ description: 'A district’s summary over its nodes; null for a node' }),
  })
  .openapi('Quality');

const route = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getNodeQuality',
  ...CONDITIONAL_GET,
  tags: ['quality'],
  summary: 'Data quality of a node or district',
  request: {
    params: z.object({ id: Id('id', 'd01-inlet-1', 'A node or district id') }),
    query: z.object({ range: RangeEnum.default('24h') }),
  },
  responses: {
    200: tieredOk('Quality over the window', { 'application/json': { schema: Quality } }),
    ...errorResponses,
  },
});

async function nodeReport(
  stores: ApiStores,
  nodeId: string,
  fromMs: number,
  toMs: number,
): Promise<QualityReport> {
  const buckets = await stores.quality.counters(nodeId, fromMs, toMs);
  let merged = emptyQuality(buckets[0]?.flatlineMaxRun);
  for (const b of buckets) merged = mergeQuality(merged, b);
  return scoreQuality(merged, {
    start: fromMs,
    end: toMs,
    expectedIntervalMs: intervalFromCounters(buckets),
  });
}

export function qualityRoutes(deps: RouteDeps) {
  const { stores, reader, maxAgeSeconds } = deps;
  const app = newRouter();

  app.openapi(route, (c) => {
    const { id } = c.req.valid('param');
    const { range } = c.req.valid('query');
    const tenantId = c.get('tenantId');
    return sendTiered(
      c,
      reader,
      {
        key: answerKeys.quality(tenantId, id, range),
        load: async () => {
          const node = await stores.registry.node(tenantId, id);
          const district = node ? null : await stores.registry.district(tenantId, id);
          if (!node && !district) return null;
          // The pipeline's "now": the end of the latest run's window (simulated or replayed data keeps
          // its own clock), or the wall clock before any run.
          const toMs = (await stores.runs.latestWindowEndMs(tenantId)) ?? Date.now();
          const fromMs = toMs - RANGE_MS[range];
          const base = {
            targetId: id,
            range,
            from: new Date(fromMs).toISOString(),
            to: new Date(toMs).toISOString(),
          };
          if (node) {
            const report = await nodeReport(stores, id, fromMs, toMs);
            return { ...base, targetKind: 'node', report, district: null };
          }
          const members = await stores.registry.districtNodeIds(tenantId, id);
          const nodes: NodeQuality[] = [];
          for (const m of members)
            nodes.push({ nodeId: m, report: await nodeReport(stores, m, fromMs, toMs) });
          return { ...base, targetKind: 'district', report: null, district: networkQuality(nodes) };
        },
      },
      `No node or district ${id}`,
      { maxAgeSeconds },
    ) as never;
  });

  return app;
}
