/** /nodes: the registry and each node's served views (metadata, window metrics, latest readings). */
import { createRoute, z } from '@hono/zod-openapi';
import { answerKeys, keys } from '../../domain/keys.ts';
import { latestPayload, nodeMetadata } from '../../domain/payloads.ts';
import { NODE_KINDS } from '../../domain/readings.ts';
import { RANGE_NAMES, type Range } from '../../domain/windows.ts';
import type { RouteDeps } from '../context.ts';
import { decodeCursor, encodeCursor, nextLink } from '../paging.ts';
import { sendTiered } from '../respond.ts';
import { fastGet, newRouter } from '../router.ts';
import {
  CONDITIONAL_GET,
  Cursor,
  errorResponses,
  Id,
  Limit,
  NodeIdParam,
  Page,
  RangeEnum,
  tieredOk,
} from '../schemas.ts';

export const Node = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(NODE_KINDS),
    districtId: z.string().nullable(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    metrics: z.array(z.string()),
  })
  .openapi('Node');

export const Stats = z
  .object({
    count: z.number(),
    sum: z.number(),
    mean: z.number().nullable(),
    min: z.number().nullable(),
    max: z.number().nullable(),
    stddev: z.number().nullable(),
    p05: z.number().nullable(),
    p50: z.number().nullable(),
    p95: z.number().nullable(),
    first: z.number().nullable(),
    last: z.number().nullable(),
    firstTs: z.number().nullable().openapi({ description: 'Epoch ms of the first value' }),
    lastTs: z.number().nullable().openapi({ description: 'Epoch ms of the last value' }),
  })
  .openapi('Stats');

const WindowMetrics = z
  .object({
    nodeId: z.string(),
    range: z.enum(RANGE_NAMES as [Range, ...Range[]]),
    from: z.string(),
    to: z.string(),
    resolution: z.string(),
    metrics: z.record(z.string(), Stats),
  })
  .openapi('WindowMetrics');

const LatestReadings = z
  .object({
    nodeId: z.string(),
    asOf: z.string(),
    values: z.record(z.string(), z.object({ value: z.number(), ts: z.string() })),
  })
  .openapi('LatestReadings');

const json = <T extends z.ZodTypeAny>(description: string, schema: T, options: { link?: boolean } = {}) =>
  tieredOk(description, { 'application/json': { schema } }, options);

const MetricsQuery = z.object({ range: RangeEnum.default('24h') });

const listRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'listNodes',
  ...CONDITIONAL_GET,
  tags: ['nodes'],
  summary: 'List nodes',
  description: 'Nodes of your tenant, ordered by id, a page at a time (Link: rel="next").',
  request: {
    query: z.object({
      limit: Limit,
      cursor: Cursor,
      kind: z.enum(NODE_KINDS).optional(),
      district: Id('district', 'd01', 'Only nodes of this district', 'query').optional(),
    }),
  },
  responses: { 200: json('A page of nodes', Page(Node), { link: true }), ...errorResponses },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getNode',
  ...CONDITIONAL_GET,
  tags: ['nodes'],
  summary: 'One node',
  request: { params: NodeIdParam },
  responses: { 200: json('The node', Node), ...errorResponses },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/{id}/metrics',
  operationId: 'getNodeMetrics',
  ...CONDITIONAL_GET,
  tags: ['nodes'],
  summary: "A node's metrics over a window",
  description:
    'Count, mean, min, max, stddev, quantiles, first and last per metric, ending with the latest data.',
  request: { params: NodeIdParam, query: MetricsQuery },
  responses: { 200: json('Window metrics', WindowMetrics), ...errorResponses },
});

const readingsRoute = createRoute({
  method: 'get',
  path: '/{id}/readings',
  operationId: 'getNodeReadings',
  ...CONDITIONAL_GET,
  tags: ['nodes'],
  summary: "A node's latest reading per metric",
  request: { params: NodeIdParam },
  responses: { 200: json('Latest values', LatestReadings), ...errorResponses },
});

export function nodesRoutes(deps: RouteDeps) {
  const { stores, reader, maxAgeSeconds } = deps;
  const send = { maxAgeSeconds };
  const app = newRouter();

  // Pages come from PostgreSQL through the memory tier only: the cycle writes no hot key for them.
  app.openapi(listRoute, (c) => {
    const { limit, cursor, kind, district } = c.req.valid('query');
    const tenantId = c.get('tenantId');
    const after = cursor ? decodeCursor(cursor, ['string'] as const)[0] : null;
    const key = answerKeys.nodesPage(tenantId, limit, after, kind, district);
    return sendTiered(
      c,
      reader,
      {
        key,
        load: async () => {
          const rows = await stores.registry.nodes(tenantId, {
            after,
            kind,
            districtId: district,
            // One more than the page: whether a next page exists, without counting.
            limit: limit + 1,
          });
          const data = rows.slice(0, limit).map(nodeMetadata);
          const last = data[data.length - 1];
          return { data, next: rows.length > limit && last ? encodeCursor([last.id]) : null };
        },
        headers: (value) => {
          const next = (value as { next: string | null }).next;
          return next ? { Link: nextLink(c, next) } : undefined;
        },
      },
      'No nodes',
      send,
    ) as never;
  });

  // The hot path (fastGet): the cycle writes this answer to Redis under the same key, in the same JSON.
  fastGet(app, getRoute, { params: NodeIdParam }, (c, { param: { id } }) => {
    const tenantId = c.get('tenantId');
    const key = keys.nodeMetadata(tenantId, id);
    return sendTiered(
      c,
      reader,
      {
        key,
        hotKey: key,
        load: async () => {
          const node = await stores.registry.node(tenantId, id);
          return node ? nodeMetadata(node) : null;
        },
      },
      `No node ${id}`,
      send,
    ) as never;
  });

  fastGet(app, metricsRoute, { params: NodeIdParam, query: MetricsQuery }, (c, { param, query }) => {
    const { id } = param;
    const { range } = query;
    const tenantId = c.get('tenantId');
    const key = keys.nodeMetrics(tenantId, id, range);
    return sendTiered(
      c,
      reader,
      {
        key,
        hotKey: key,
        // Node ids are global: another tenant's node reads as not found (one statement checks both).
        load: () => stores.serving.ownedWindow(tenantId, id, range),
      },
      `No metrics for node ${id} (unknown node, or no data yet)`,
      send,
    ) as never;
  });

  fastGet(app, readingsRoute, { params: NodeIdParam }, (c, { param: { id } }) => {
    const tenantId = c.get('tenantId');
    const key = keys.nodeLatest(tenantId, id);
    return sendTiered(
      c,
      reader,
      {
        key,
        hotKey: key,
        load: async () => {
          const latest = await stores.serving.ownedLatest(tenantId, id);
          return latest ? latestPayload(id, latest.tsMs, latest.body) : null;
        },
      },
      `No readings for node ${id}`,
      send,
    ) as never;
  });

  return app;
}
