/**
 * /nodes/{id}/history: a node's stored partials at 5m, 1h or 1d resolution as statistics per bucket
 * and metric, as JSON or CSV (`Accept: text/csv` or `?format=csv`). The span is bounded per
 * resolution so one answer stays small (≤ ~750 buckets per metric).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { DAY_MS, RESOLUTIONS, type Resolution, summarize } from '../../domain/aggregate.ts';
import { answerKeys } from '../../domain/keys.ts';
import { METRICS } from '../../domain/readings.ts';
import type { RouteDeps } from '../context.ts';
import { ApiProblem } from '../problem.ts';
import { sendTiered } from '../respond.ts';
import { newRouter } from '../router.ts';
import { CONDITIONAL_GET, errorResponses, NodeIdParam, TIERED_HEADERS } from '../schemas.ts';

/** The longest span one request may ask for, and the span given when `from` is omitted. */
export const HISTORY_SPANS: Record<Resolution, { maxMs: number; defaultMs: number; label: string }> = {
  '5m': { maxMs: 2 * DAY_MS, defaultMs: DAY_MS, label: '2 days' },
  '1h': { maxMs: 31 * DAY_MS, defaultMs: 7 * DAY_MS, label: '31 days' },
  '1d': { maxMs: 366 * DAY_MS, defaultMs: 30 * DAY_MS, label: '366 days' },
};

const TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;
const Time = (name: string, description: string) =>
  z
    .string()
    .regex(TIME, 'an ISO 8601 date or date-time with offset, e.g. 2026-03-02T00:00:00Z')
    .refine((s) => Number.isFinite(Date.parse(s)), 'not a valid date')
    .optional()
    .openapi({ param: { name, in: 'query' }, description, example: '2026-03-02T00:00:00Z' });

const Point = z
  .object({
    t: z.string().openapi({ description: 'Bucket start' }),
    metric: z.enum(METRICS),
    count: z.number(),
    mean: z.number().nullable(),
    min: z.number().nullable(),
    max: z.number().nullable(),
    stddev: z.number().nullable(),
    p05: z.number().nullable(),
    p50: z.number().nullable(),
    p95: z.number().nullable(),
    first: z.number().nullable(),
    last: z.number().nullable(),
  })
  .openapi('HistoryPoint');

const History = z
  .object({
    nodeId: z.string(),
    resolution: z.enum(['5m', '1h', '1d']),
    from: z.string(),
    to: z.string(),
    points: z.array(Point),
  })
  .openapi('History');

const CSV_COLUMNS = [
  't',
  'metric',
  'count',
  'mean',
  'min',
  'max',
  'stddev',
  'p05',
  'p50',
  'p95',
  'first',
  'last',
] as const;

type HistoryValue = z.infer<typeof History>;

/** CSV of the points: every field is a number, an ISO time or a metric name, so nothing needs quoting. */
export function historyCsv(value: HistoryValue): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const p of value.points) lines.push(CSV_COLUMNS.map((k) => p[k] ?? '').join(','));
  return `${lines.join('\r\n')}\r\n`;
}

const historyRoute = createRoute({
  method: 'get',
  path: '/{id}/history',
  operationId: 'getNodeHistory',
  ...CONDITIONAL_GET,
  tags: ['nodes'],
  summary: "A node's history",
  description: `Statistics per bucket and metric. The span is at most ${Object.entries(HISTORY_SPANS)
    .map(([r, s]) => `${s.label} at ${r}`)
    .join(
      ', ',
    )}. Without \`to\`, the history ends with the node's latest reading; without \`from\`, it covers the default span (1 day at 5m, 7 days at 1h, 30 days at 1d). CSV with \`Accept: text/csv\` or \`format=csv\`.`,
  request: {
    params: NodeIdParam,
    query: z.object({
      from: Time('from', 'Start (inclusive)'),
      to: Time('to', 'End (exclusive)'),
      resolution: z.enum(['5m', '1h', '1d']).default('1h'),
      format: z.enum(['json', 'csv']).optional().openapi({ description: 'Overrides the Accept header' }),
    }),
  },
  responses: {
    200: {
      description: 'The history',
      headers: {
        ...TIERED_HEADERS,
        'Content-Disposition': {
          schema: { type: 'string' },
          description: 'CSV only: `attachment; filename="<node>-history-<resolution>.csv"`',
        },
      },
      content: {
        'application/json': { schema: History },
        'text/csv': { schema: z.string().openapi({ example: `${CSV_COLUMNS.join(',')}\r\n…` }) },
      },
    },
    ...errorResponses,
  },
});

const badParameter = (parameter: string, reason: string) =>
  new ApiProblem(400, 'Invalid request', `${parameter}: ${reason}`, {
    extra: { errors: [{ parameter, reason }] },
  });

export function historyRoutes(deps: RouteDeps) {
  const { stores, reader, maxAgeSeconds } = deps;
  const app = newRouter();

  app.openapi(historyRoute, async (c) => {
    const { id } = c.req.valid('param');
    const q = c.req.valid('query');
    const tenantId = c.get('tenantId');
    const csv = q.format ? q.format === 'csv' : (c.req.header('accept') ?? '').includes('text/csv');
    const resolution = q.resolution;
    const span = HISTORY_SPANS[resolution];
    const size = RESOLUTIONS[resolution];
    let toMs = q.to ? Date.parse(q.to) : null;
    let fromMs = q.from ? Date.parse(q.from) : null;
    if (toMs !== null && fromMs !== null && fromMs >= toMs) throw badParameter('from', 'must be before `to`');
    if (toMs !== null && fromMs !== null && toMs - fromMs > span.maxMs) {
      throw badParameter('to', `the span may be at most ${span.label} at resolution ${resolution}`);
    }
    // The key holds the asked-for bounds, not the resolved ones: an open end follows the latest reading.
    const key = answerKeys.history(tenantId, id, resolution, fromMs, toMs, csv ? 'csv' : 'json');
    if (csv) c.get('out')['Content-Disposition'] = `attachment; filename="${id}-history-${resolution}.csv"`;
    return sendTiered(
      c,
      reader,
      {
        key,
        load: async () => {
          if (!(await stores.registry.node(tenantId, id))) return null;
          if (toMs === null) {
            const anchor =
              fromMs !== null
                ? fromMs + span.defaultMs
                : ((await stores.serving.latest(id))?.tsMs ?? Date.now());
            toMs = Math.floor(anchor / size) * size + size;
          }
          fromMs ??= toMs - span.defaultMs;
          const rows = await stores.serving.history(resolution, id, fromMs, toMs);
          const points = rows.map((row) => {
            const s = summarize(row);
            return {
              t: new Date(row.bucketMs).toISOString(),
              metric: row.metric,
              count: s.count,
              mean: s.mean,
              min: s.min,
              max: s.max,
              stddev: s.stddev,
              p05: s.p05,
              p50: s.p50,
              p95: s.p95,
              first: s.first,
              last: s.last,
            };
          });
          return {
            nodeId: id,
            resolution,
            from: new Date(fromMs).toISOString(),
            to: new Date(toMs).toISOString(),
            points,
          } satisfies HistoryValue;
        },
        ...(csv ? { encode: (v: unknown) => historyCsv(v as HistoryValue) } : {}),
      },
      `No node ${id}`,
      {
        maxAgeSeconds,
        vary: 'Accept, Accept-Encoding',
        ...(csv ? { contentType: 'text/csv; charset=utf-8' } : {}),
      },
    ) as never;
  });

  return app;
}
