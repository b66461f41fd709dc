/**
 * /anomalies: the anomalies of your tenant with filters and keyset paging, one anomaly, and the
 * operator transitions: acknowledge (open → acknowledged) and resolve (open | acknowledged →
 * resolved), the rules of shared/anomaly/lifecycle.ts. Repeating a transition that already happened
 * changes nothing (200); an impossible one is a 409. Lists are read fresh from PostgreSQL (operators
 * act on them); the memory tier only answers, marked stale, while PostgreSQL is down.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { listedPayload } from '../../anomaly/listed.ts';
import { ANOMALY_TYPES } from '../../anomaly/types.ts';
import { answerKeys, keys } from '../../domain/keys.ts';
import { requireRole } from '../auth/authenticate.ts';
import { principalLabel } from '../auth/keys.ts';
import type { RouteDeps } from '../context.ts';
import type { ApiEnv } from '../env.ts';
import { decodeCursor, encodeCursor, nextLink } from '../paging.ts';
import { ApiProblem } from '../problem.ts';
import { sendTiered } from '../respond.ts';
import { newRouter } from '../router.ts';
import {
  CONDITIONAL_GET,
  Cursor,
  conflictResponse,
  errorResponses,
  forbiddenResponse,
  Id,
  Limit,
  Page,
  plainOk,
  tieredOk,
} from '../schemas.ts';

export const STATUSES = ['pending', 'open', 'acknowledged', 'resolved'] as const;
export const SEVERITIES = ['warning', 'minor', 'major', 'critical'] as const;

/** A comma-separated list of allowed values. */
const listOf = (values: readonly string[], example: string) =>
  z
    .string()
    .regex(
      new RegExp(`^(${values.join('|')})(,(${values.join('|')}))*$`),
      `comma-separated values of ${values.join(', ')}`,
    )
    .optional()
    .openapi({ example });

const Time = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/, 'an ISO 8601 date or date-time with offset')
  .refine((s) => Number.isFinite(Date.parse(s)), 'not a valid date')
  .optional();

const LeakLocation = z
  .object({
    node: z.string().openapi({ description: "The hydraulic model's node id", example: 'n342' }),
    pipes: z
      .array(z.string())
      .openapi({ description: 'The pipes the node sits on', example: ['p231', 'p232'] }),
    x: z.number().nullable().openapi({ description: "The model's x coordinate (its units)" }),
    y: z.number().nullable().openapi({ description: "The model's y coordinate (its units)" }),
    score: z.number().openapi({
      description:
        'Correlation of the pressure residuals with what a leak here would do, −1…1 (1: the same shape)',
    }),
    estimatedLps: z.number().openapi({ description: 'The leak size that fits best at this node, L/s' }),
  })
  .openapi('LeakLocation');

const LeakLocalisationAt = z
  .object({
    at: z.string().openapi({
      description: 'The end of the day whose residuals were ranked (refreshed every cycle while open)',
    }),
    residualBar: z.record(z.string(), z.number()).openapi({
      description:
        "Each pressure point's mean residual over the last day against the leak-free reference, bar",
    }),
    candidates: z.array(LeakLocation),
  })
  .openapi('LeakLocalisationAt', {
    description: "The tenant's candidate leak nodes ranked best first at an instant",
  });

const LeakLocalisation = LeakLocalisationAt.extend({
  first: LeakLocalisationAt.optional(),
}).openapi('LeakLocalisation', {
  description:
    "Where a leak anomaly most likely is: the tenant's candidate leak nodes (`npm run network:import`) ranked best first, as last refreshed, and in `first` the first ranking it was given (what a crew was sent on). Present on leak anomalies of districts with three or more pressure points once a network model is imported.",
});

export const Anomaly = z
  .object({
    id: z.string(),
    nodeId: z.string().nullable(),
    districtId: z.string().nullable(),
    type: z.string(),
    metric: z.string().nullable(),
    severity: z.enum(SEVERITIES),
    status: z.enum(STATUSES),
    startedAt: z.string(),
    lastSeenAt: z.string(),
    openedAt: z.string().nullable(),
    acknowledgedAt: z.string().nullable(),
    acknowledgedBy: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    resolvedBy: z.string().nullable(),
    note: z.string().nullable(),
    evidence: z.record(z.string(), z.unknown()),
    locations: LeakLocalisation.optional(),
  })
  .openapi('Anomaly');

const AnomalyId = z.object({ id: Id('id', 'a1b2c3', 'An anomaly id') });

const listRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'listAnomalies',
  ...CONDITIONAL_GET,
  tags: ['anomalies'],
  summary: 'List anomalies',
  description:
    'Newest first (by start, then id). Without `status`, every anomaly but pending ones. `from`/`to` select anomalies active at some time in [from, to); `from` must be before `to` (400 otherwise).',
  request: {
    query: z.object({
      status: listOf(STATUSES, 'open,acknowledged'),
      severity: listOf(SEVERITIES, 'major,critical'),
      type: listOf(ANOMALY_TYPES, 'burst,night_flow_leak'),
      node: Id('node', 'd01-inlet-1', 'Only anomalies of this node', 'query').optional(),
      district: Id('district', 'd01', 'Only anomalies of this district', 'query').optional(),
      from: Time,
      to: Time,
      limit: Limit,
      cursor: Cursor,
    }),
  },
  responses: {
    200: tieredOk('A page of anomalies', { 'application/json': { schema: Page(Anomaly) } }, { link: true }),
    ...errorResponses,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getAnomaly',
  ...CONDITIONAL_GET,
  tags: ['anomalies'],
  summary: 'One anomaly',
  request: { params: AnomalyId },
  responses: {
    200: tieredOk('The anomaly', { 'application/json': { schema: Anomaly } }),
    ...errorResponses,
  },
});

const NoteBody = z
  .object({
    note: z.string().max(2000).optional().openapi({ example: 'Crew dispatched to the valve chamber' }),
  })
  .strict()
  .openapi('TransitionNote');

const transitionRoute = (action: 'acknowledge' | 'resolve') =>
  createRoute({
    method: 'post',
    path: `/{id}/${action}`,
    operationId: `${action}Anomaly`,
    tags: ['anomalies'],
    summary: action === 'acknowledge' ? 'Acknowledge an open anomaly' : 'Resolve an anomaly',
    description:
      action === 'acknowledge'
        ? 'open → acknowledged (operator role). Acknowledging an acknowledged anomaly changes nothing; a pending or resolved one is a 409.'
        : 'open or acknowledged → resolved (operator role). Resolving a resolved anomaly changes nothing; a pending one is a 409.',
    request: {
      params: AnomalyId,
      body: { required: false, content: { 'application/json': { schema: NoteBody } } },
    },
    responses: {
      200: plainOk('The anomaly after the transition', { 'application/json': { schema: Anomaly } }),
      ...errorResponses,
      ...forbiddenResponse,
      ...conflictResponse,
    },
  });

const split = (v: string | undefined) => (v ? [...new Set(v.split(','))] : undefined);

export function anomaliesRoutes(
  deps: RouteDeps & {
    /** GET /anomalies/stream, which this router's /{id} serves (routes/anomaly-stream.ts says why). */
    stream?: (c: Context<ApiEnv>) => Promise<Response>;
  },
) {
  const { stores, reader, maxAgeSeconds, stream } = deps;
  const app = newRouter();
  const fresh = { freshMs: 0, revalidateMs: 0 };

  app.openapi(listRoute, (c) => {
    const q = c.req.valid('query');
    const tenantId = c.get('tenantId');
    const after = q.cursor ? decodeCursor(q.cursor, ['number', 'string'] as const) : null;
    const filters = {
      statuses: split(q.status) ?? ['open', 'acknowledged', 'resolved'],
      severities: split(q.severity),
      types: split(q.type),
      nodeId: q.node,
      districtId: q.district,
      fromMs: q.from ? Date.parse(q.from) : undefined,
      toMs: q.to ? Date.parse(q.to) : undefined,
    };
    // As /nodes/{id}/history: an empty or inverted span is a mistake, not an empty answer.
    if (filters.fromMs !== undefined && filters.toMs !== undefined && filters.fromMs >= filters.toMs) {
      throw new ApiProblem(400, 'Invalid request', 'from: must be before `to`', {
        extra: { errors: [{ parameter: 'from', reason: 'must be before `to`' }] },
      });
    }
    const key = answerKeys.anomaliesPage(tenantId, [filters, q.limit, after]);
    return sendTiered(
      c,
      reader,
      {
        key,
        ...fresh,
        load: async () => {
          const rows = await stores.anomalies.list(tenantId, filters, q.limit + 1, after);
          const data = rows.slice(0, q.limit);
          const last = data[data.length - 1];
          return {
            data: data.map(listedPayload),
            next: rows.length > q.limit && last ? encodeCursor([last.startedUs, last.id]) : null,
          };
        },
        headers: (value) => {
          const next = (value as { next: string | null }).next;
          return next ? { Link: nextLink(c, next) } : undefined;
        },
      },
      'No anomalies',
      { maxAgeSeconds: 0 },
    ) as never;
  });

  app.openapi(getRoute, (c) => {
    const { id } = c.req.valid('param');
    if (id === 'stream' && stream) return stream(c) as never;
    const tenantId = c.get('tenantId');
    return sendTiered(
      c,
      reader,
      {
        key: answerKeys.anomaly(tenantId, id),
        ...fresh,
        load: async () => {
          const row = await stores.anomalies.find(tenantId, id);
          return row ? listedPayload(row) : null;
        },
      },
      `No anomaly ${id}`,
      { maxAgeSeconds },
    ) as never;
  });

  for (const action of ['acknowledge', 'resolve'] as const) {
    const route = transitionRoute(action);
    app.use(route.getRoutingPath(), requireRole('operator'));
    app.openapi(route, async (c) => {
      const { id } = c.req.valid('param');
      const body = (c.req.valid('json') ?? {}) as { note?: string };
      const tenantId = c.get('tenantId');
      const principal = c.get('principal');
      let row = await stores.anomalies.transition({
        action,
        tenantId,
        id,
        by: principalLabel(principal),
        note: body.note ?? null,
      });
      if (!row) {
        // The conditional update matched nothing: the current row says why. Repeating a transition
        // that already happened changes nothing; any other status is a conflict.
        row = await stores.anomalies.find(tenantId, id);
        if (!row) throw new ApiProblem(404, 'Not Found', `No anomaly ${id}`);
        if (row.status !== (action === 'acknowledge' ? 'acknowledged' : 'resolved')) {
          throw new ApiProblem(409, 'Conflict', `Cannot ${action} anomaly ${id}: it is ${row.status}.`, {
            extra: { currentStatus: row.status },
          });
        }
      }
      reader.invalidate(answerKeys.anomalies(tenantId));
      // Streams on every instance read the event the transition wrote (best effort: they also poll).
      deps.live.notify(tenantId).catch(() => {});
      deps.hot.del([keys.anomaliesRecent(tenantId)]).catch(() => {});
      c.header('Cache-Control', 'no-store');
      return c.json(listedPayload(row), 200);
    });
  }

  return app;
}
