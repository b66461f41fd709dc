/**
 * /webhooks (admin): a tenant's webhook subscriptions — URL, event filter, signing secret (shown once,
 * stored encrypted) — and each one's delivery log, with replay. The deliveries themselves are made
 * by the webhooks function with its own identity (shared/webhooks/worker.ts), never by the API: a
 * replay only puts the delivery back in its queue. Targets are checked against the SSRF rules
 * (shared/webhooks/targets.ts) here and again at every delivery.
 */
import { randomBytes } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { EVENT_KINDS } from '../../anomaly/events.ts';
import { newSecret } from '../../webhooks/signing.ts';
import { checkTarget, TargetRefused } from '../../webhooks/targets.ts';
import { requireRole } from '../auth/authenticate.ts';
import type { RouteDeps } from '../context.ts';
import { ApiProblem } from '../problem.ts';
import { newRouter } from '../router.ts';
import { errorResponses, forbiddenResponse, Id, Problem, RATE_LIMIT_HEADERS } from '../schemas.ts';
import type { WebhookSettings } from '../settings.ts';

/** Subscriptions a tenant may have at once. */
export const MAX_SUBSCRIPTIONS = 20;

const Subscription = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(EVENT_KINDS)),
    description: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('WebhookSubscription');

const NewSubscription = z
  .object({
    url: z.string().max(2000).openapi({ example: 'https://hooks.example.com/wnm' }),
    events: z
      .array(z.enum(EVENT_KINDS))
      .min(1)
      .optional()
      .openapi({ description: 'Event kinds to send (default: all)', example: ['opened', 'resolved'] }),
    description: z.string().max(200).optional(),
  })
  .strict()
  .openapi('NewWebhookSubscription');

const Attempt = z.object({
  attempt: z.number().int(),
  at: z.string(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
});

const Delivery = z
  .object({
    id: z.string(),
    subscriptionId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    status: z.enum(['pending', 'delivered', 'dead']),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
    attemptLog: z.array(Attempt),
  })
  .openapi('WebhookDelivery');

const SubId = z.object({ id: Id('id', 'wh_3f9a0c1d2e4b', 'A webhook subscription id') });
const DeliveryParams = z.object({
  id: Id('id', 'wh_3f9a0c1d2e4b', 'A webhook subscription id'),
  deliveryId: Id('deliveryId', 'dlv_0a1b2c3d4e5f60718293a4b5', 'A delivery id'),
});

const json = <T extends z.ZodTypeAny>(description: string, schema: T) => ({
  description,
  headers: RATE_LIMIT_HEADERS,
  content: { 'application/json': { schema } },
});

const createHook = createRoute({
  method: 'post',
  path: '/',
  operationId: 'createWebhook',
  tags: ['webhooks'],
  summary: 'Subscribe a URL to anomaly events (admin)',
  description:
    'Each delivery is a POST of JSON `{id, type, at, anomaly}` with `Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` and `Webhook-Id` (the event id, for de-duplication: delivery is at least once). A non-2xx answer (redirects are not followed) is retried with exponential backoff, then the delivery is dead-lettered. The URL must be HTTPS to a public address: private, loopback, link-local, metadata and CGNAT addresses are refused (400).',
  request: { body: { required: true, content: { 'application/json': { schema: NewSubscription } } } },
  responses: {
    201: json(
      'The subscription; `secret` is shown only this once',
      z.object({ subscription: Subscription, secret: z.string().openapi({ example: 'whsec_…' }) }),
    ),
    ...errorResponses,
    ...forbiddenResponse,
    409: {
      description: `The tenant has ${MAX_SUBSCRIPTIONS} subscriptions already`,
      content: { 'application/problem+json': { schema: Problem } },
    },
  },
});

const listHooks = createRoute({
  method: 'get',
  path: '/',
  operationId: 'listWebhooks',
  tags: ['webhooks'],
  summary: 'List webhook subscriptions (admin)',
  responses: {
    200: json('Subscriptions of your tenant', z.object({ data: z.array(Subscription) })),
    ...errorResponses,
    ...forbiddenResponse,
  },
});

const deleteHook = createRoute({
  method: 'delete',
  path: '/{id}',
  operationId: 'deleteWebhook',
  tags: ['webhooks'],
  summary: 'Delete a webhook subscription (admin)',
  description: 'Nothing more is sent to it; its delivery log stays readable.',
  request: { params: SubId },
  responses: {
    204: { description: 'Deleted', headers: RATE_LIMIT_HEADERS },
    ...errorResponses,
    ...forbiddenResponse,
  },
});

const listDeliveries = createRoute({
  method: 'get',
  path: '/{id}/deliveries',
  operationId: 'listWebhookDeliveries',
  tags: ['webhooks'],
  summary: 'The delivery log of a subscription (admin)',
  description: 'Newest first, each delivery with its attempts (status code or error, duration).',
  request: {
    params: SubId,
    query: z.object({
      limit: z
        .string()
        .regex(/^[0-9]{1,3}$/, 'a decimal integer from 1 to 200')
        .optional()
        .transform((s) => (s === undefined ? 50 : Number(s)))
        .pipe(z.number().int().min(1).max(200)),
    }),
  },
  responses: {
    200: json('Deliveries', z.object({ data: z.array(Delivery) })),
    ...errorResponses,
    ...forbiddenResponse,
  },
});

const replayDelivery = createRoute({
  method: 'post',
  path: '/{id}/deliveries/{deliveryId}/replay',
  operationId: 'replayWebhookDelivery',
  tags: ['webhooks'],
  summary: 'Send a delivery again (admin)',
  description:
    'Queues the delivery again with a fresh budget of attempts; it goes out with the next fan-out (within a minute).',
  request: { params: DeliveryParams },
  responses: { 202: json('The queued delivery', Delivery), ...errorResponses, ...forbiddenResponse },
});

export function webhooksRoutes(deps: RouteDeps & { webhooks: WebhookSettings | undefined }) {
  const { stores } = deps;
  const pg = <T>(fn: () => Promise<T>): Promise<T> => deps.reader.breakers.postgres.execute(fn);
  const settings = () => {
    if (!deps.webhooks) {
      throw new ApiProblem(503, 'Service Unavailable', 'Webhooks are not configured (WEBHOOK_SECRET_KEY).');
    }
    return deps.webhooks;
  };
  const app = newRouter();
  app.use('*', requireRole('admin'));
  app.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  });

  app.openapi(createHook, async (c) => {
    const { box, policy } = settings();
    const body = c.req.valid('json');
    const tenantId = c.get('tenantId');
    try {
      await checkTarget(body.url, policy);
    } catch (err) {
      if (!(err instanceof TargetRefused)) throw err;
      throw new ApiProblem(400, 'Invalid request', `url: ${err.message}`, {
        extra: { errors: [{ parameter: 'url', reason: err.message }] },
      });
    }
    const existing = await pg(() => stores.webhooks.list(tenantId));
    if (existing.length >= MAX_SUBSCRIPTIONS) {
      throw new ApiProblem(409, 'Conflict', `A tenant may have ${MAX_SUBSCRIPTIONS} webhook subscriptions.`);
    }
    const secret = newSecret();
    const subscription = await pg(() =>
      stores.webhooks.create({
        id: `wh_${randomBytes(8).toString('hex')}`,
        tenantId,
        url: body.url,
        events: body.events ? [...new Set(body.events)] : [...EVENT_KINDS],
        description: body.description ?? null,
        secretEnc: box.seal(secret),
      }),
    );
    const { tenantId: _t, ...shown } = subscription;
    return c.json({ subscription: shown, secret }, 201);
  });

  app.openapi(listHooks, async (c) => {
    const rows = await pg(() => stores.webhooks.list(c.get('tenantId')));
    return c.json({ data: rows.map(({ tenantId: _t, ...r }) => r) }, 200);
  });

  app.openapi(deleteHook, async (c) => {
    const { id } = c.req.valid('param');
    const removed = await pg(() => stores.webhooks.remove(c.get('tenantId'), id));
    if (!removed) throw new ApiProblem(404, 'Not Found', `No webhook ${id}`);
    return c.body(null, 204);
  });

  app.openapi(listDeliveries, async (c) => {
    const { id } = c.req.valid('param');
    const { limit } = c.req.valid('query');
    const tenantId = c.get('tenantId');
    const sub = await pg(() => stores.webhooks.find(tenantId, id));
    const data = await pg(() => stores.webhooks.deliveries(tenantId, id, limit));
    if (!sub && data.length === 0) throw new ApiProblem(404, 'Not Found', `No webhook ${id}`);
    return c.json({ data }, 200);
  });

  app.openapi(replayDelivery, async (c) => {
    const { id, deliveryId } = c.req.valid('param');
    const row = await pg(() => stores.webhooks.requeue(c.get('tenantId'), id, deliveryId));
    if (!row) throw new ApiProblem(404, 'Not Found', `No delivery ${deliveryId} of a live webhook ${id}`);
    return c.json(row, 202);
  });

  return app;
}
