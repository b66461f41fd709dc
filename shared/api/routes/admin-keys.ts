/**
 * /admin/keys: an admin manages the API keys of its own tenant (create, list, revoke). The same
 * operations for any tenant are in the CLI (`npm run keys`). A new key's token is shown once.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { requireRole } from '../auth/authenticate.ts';
import { createKey, ROLES } from '../auth/keys.ts';
import type { RouteDeps } from '../context.ts';
import { ApiProblem } from '../problem.ts';
import { newRouter } from '../router.ts';
import { errorResponses, forbiddenResponse, plainOk } from '../schemas.ts';

const ApiKey = z
  .object({
    id: z.string().openapi({ description: 'The key’s prefix: wnm_<id>_…' }),
    tenantId: z.string(),
    role: z.enum(ROLES),
    name: z.string(),
    rateLimitPerMinute: z.number(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApiKey');

const NewKey = z
  .object({
    role: z.enum(ROLES),
    name: z.string().min(1).max(100),
    rateLimitPerMinute: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict()
  .openapi('NewApiKey');

const KeyId = z.object({
  id: z
    .string()
    .regex(/^[a-z0-9]{8,16}$/, 'a key id: 8–16 lower-case letters and digits')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'k3y1d0abc1' }),
});

const json = <T extends z.ZodTypeAny>(description: string, schema: T) =>
  plainOk(description, { 'application/json': { schema } });

const createKeyRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'createApiKey',
  tags: ['admin'],
  summary: 'Create an API key (admin)',
  request: { body: { required: true, content: { 'application/json': { schema: NewKey } } } },
  responses: {
    201: json(
      'The key; `token` is shown only this once',
      z.object({ key: ApiKey, token: z.string().openapi({ example: 'wnm_k3y1d0abc1_…' }) }),
    ),
    ...errorResponses,
    ...forbiddenResponse,
  },
});

const listKeysRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'listApiKeys',
  tags: ['admin'],
  summary: 'List API keys (admin)',
  request: { query: z.object({ revoked: z.enum(['true', 'false']).default('false') }) },
  responses: {
    200: json('Keys of your tenant', z.object({ data: z.array(ApiKey) })),
    ...errorResponses,
    ...forbiddenResponse,
  },
});

const revokeKeyRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  operationId: 'revokeApiKey',
  tags: ['admin'],
  summary: 'Revoke an API key (admin)',
  description: 'Takes effect at once on this instance and within the key cache time on every other.',
  request: { params: KeyId },
  responses: { 200: json('The revoked key', ApiKey), ...errorResponses, ...forbiddenResponse },
});

export function adminKeysRoutes(deps: RouteDeps) {
  const { stores, verifier, settings } = deps;
  // Through PostgreSQL's breaker: while it is open these answer 503 at once (app.onError).
  const pg = <T>(fn: () => Promise<T>): Promise<T> => deps.reader.breakers.postgres.execute(fn);
  const app = newRouter();
  app.use('*', requireRole('admin'));
  // Key answers are never cached anywhere: a token is shown once, and lists must show revocations at once.

  app.openapi(createKeyRoute, async (c) => {
    const body = c.req.valid('json');
    const { record, token } = await pg(() =>
      createKey(stores.keys, {
        tenantId: c.get('tenantId'),
        role: body.role,
        name: body.name,
        rateLimitPerMinute: body.rateLimitPerMinute ?? settings.defaultRateLimitPerMinute,
      }),
    );
    c.header('Cache-Control', 'no-store');
    return c.json({ key: record, token }, 201);
  });

  app.openapi(listKeysRoute, async (c) => {
    const { revoked } = c.req.valid('query');
    const data = await pg(() =>
      stores.keys.list({ tenantId: c.get('tenantId'), includeRevoked: revoked === 'true' }),
    );
    c.header('Cache-Control', 'no-store');
    return c.json({ data }, 200);
  });

  app.openapi(revokeKeyRoute, async (c) => {
    const { id } = c.req.valid('param');
    const record = await pg(() => stores.keys.revoke(id, c.get('tenantId')));
    if (!record) throw new ApiProblem(404, 'Not Found', `No key ${id}`);
    // This instance stops accepting the key now; the others within their key cache time.
    verifier.forget(id);
    c.header('Cache-Control', 'no-store');
    return c.json(record, 200);
  });

  return app;
}
