/** /nodes: the registry and each node's served views. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { nodeFromRow } from '../../adapters/postgres/registry.ts';
import { readLatest, readWindow } from '../../adapters/postgres/serving.ts';
import { latestPayload, nodeMetadata } from '../../cycle/aggregate-node.ts';
import { keys } from '../../domain/keys.ts';
import { RANGE_NAMES, type Range } from '../../domain/windows.ts';
import type { ApiDeps, ApiEnv } from '../context.ts';
import { sendTiered } from '../respond.ts';

const NodeId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, dot, dash, underscore or colon')
  .openapi({ param: { name: 'id', in: 'path' }, example: 'd01-inlet-1' });

const Node = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.string(),
    districtId: z.string().nullable(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    metrics: z.array(z.string()),
  })
  .openapi('Node');

const Stats = z
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
    firstTs: z.number().nullable(),
    lastTs: z.number().nullable(),
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

const Problem = z
  .object({ type: z.string(), title: z.string(), status: z.number(), detail: z.string().optional() })
  .openapi('Problem');
const problemResponses = {
  400: { description: 'Invalid parameters', content: { 'application/problem+json': { schema: Problem } } },
  404: { description: 'Not found', content: { 'application/problem+json': { schema: Problem } } },
};

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'List nodes',
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z.string().max(200).optional().openapi({ description: 'The last id of the previous page' }),
      kind: z.string().max(20).optional(),
      district: z.string().max(200).optional(),
    }),
  },
  responses: {
    200: {
      description: 'A page of nodes, ordered by id',
      content: {
        'application/json': { schema: z.object({ data: z.array(Node), nextCursor: z.string().nullable() }) },
      },
    },
    ...problemResponses,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'One node',
  request: { params: z.object({ id: NodeId }) },
  responses: {
    200: { description: 'The node', content: { 'application/json': { schema: Node } } },
    ...problemResponses,
  },
});

const metricsRoute = createRoute({
  method: 'get',
  path: '/{id}/metrics',
  summary: "A node's metrics over a window",
  request: {
    params: z.object({ id: NodeId }),
    query: z.object({ range: z.enum(RANGE_NAMES as [Range, ...Range[]]).default('24h') }),
  },
  responses: {
    200: { description: 'Window metrics', content: { 'application/json': { schema: WindowMetrics } } },
    ...problemResponses,
  },
});

const readingsRoute = createRoute({
  method: 'get',
  path: '/{id}/readings',
  summary: "A node's latest reading per metric",
  request: { params: z.object({ id: NodeId }) },
  responses: {
    200: {
      description: 'Latest values',
      content: {
        'application/json': {
          schema: z.object({
            nodeId: z.string(),
            asOf: z.string(),
            values: z.record(z.string(), z.object({ value: z.number(), ts: z.string() })),
          }),
        },
      },
    },
    ...problemResponses,
  },
});

export function nodesRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono<ApiEnv>();
  const readDeps = { cache: deps.cache, cacheTtlSeconds: deps.cacheTtlSeconds, logger: deps.logger };

  /** The node row if it belongs to the caller's tenant; another tenant's node is simply not found. */
  async function ownNode(tenantId: string, id: string) {
    const rows = await deps.sql`
      select id, tenant_id, district_id, kind, name, latitude, longitude, metrics
      from nodes where id = ${id} and tenant_id = ${tenantId}`;
    const row = rows[0];
    return row ? nodeFromRow(row as never) : null;
  }

  app.openapi(listRoute, async (c) => {
    const { limit, cursor, kind, district } = c.req.valid('query');
    const tenantId = c.get('tenantId');
    const rows = await deps.sql`
      select id, tenant_id, district_id, kind, name, latitude, longitude, metrics from nodes
      where tenant_id = ${tenantId}
        ${cursor ? deps.sql`and id > ${cursor}` : deps.sql``}
        ${kind ? deps.sql`and kind = ${kind}` : deps.sql``}
        ${district ? deps.sql`and district_id = ${district}` : deps.sql``}
      order by id limit ${limit + 1}`;
    const page = rows.slice(0, limit).map((r) => nodeMetadata(nodeFromRow(r as never)));
    const nextCursor = rows.length > limit ? (page[page.length - 1]?.id ?? null) : null;
    if (nextCursor) {
      const next = new URL(c.req.url);
      next.searchParams.set('cursor', nextCursor);
      c.header('Link', `<${next.pathname}${next.search}>; rel="next"`);
    }
    return c.json({ data: page, nextCursor }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const tenantId = c.get('tenantId');
    return sendTiered(
      c,
      readDeps,
      keys.nodeMetadata(tenantId, id),
      async () => {
        const node = await ownNode(tenantId, id);
        return node ? nodeMetadata(node) : null;
      },
      `No node ${id}`,
    ) as never;
  });

  app.openapi(metricsRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { range } = c.req.valid('query');
    const tenantId = c.get('tenantId');
    return sendTiered(
      c,
      readDeps,
      keys.nodeMetrics(tenantId, id, range),
      async () => ((await ownNode(tenantId, id)) ? readWindow(deps.sql, id, range) : null),
      `No metrics for node ${id} (unknown node, or no data yet)`,
    ) as never;
  });

  app.openapi(readingsRoute, async (c) => {
    const { id } = c.req.valid('param');
    const tenantId = c.get('tenantId');
    return sendTiered(
      c,
      readDeps,
      keys.nodeLatest(tenantId, id),
      async () => {
        if (!(await ownNode(tenantId, id))) return null;
        const latest = await readLatest(deps.sql, id);
        return latest ? latestPayload(id, latest.tsMs, latest.body) : null;
      },
      `No readings for node ${id}`,
    ) as never;
  });

  return app;
}
