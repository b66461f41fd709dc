/**
 * The HTTP API (Hono + @hono/zod-openapi). One app, two hosts: the functions framework in the
 * cloud (functions/api) and @hono/node-server locally (scripts/start.ts). Every route is declared
 * with its schema, so the OpenAPI document at /openapi.json is the contract, and /docs renders it.
 */
import { randomUUID } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import { compress } from 'hono/compress';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { recentRuns } from '../adapters/postgres/runs.ts';
import type { ApiDeps, ApiEnv } from './context.ts';
import { ApiProblem, problemResponse } from './problem.ts';
import { nodesRoutes } from './routes/nodes.ts';

export const API_VERSION = '0.1.0';

export function createApp(deps: ApiDeps) {
  const app = new OpenAPIHono<ApiEnv>({
    // Validation errors in our problem format, naming the parameter and the reason.
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = result.error.issues.map((i) => ({ parameter: i.path.join('.'), reason: i.message }));
      const detail = issues.map((i) => `${i.parameter}: ${i.reason}`).join('; ');
      return problemResponse(
        c,
        new ApiProblem(400, 'Invalid request', detail, { extra: { errors: issues } }),
      );
    },
  });

  app.use('*', async (c, next) => {
    const requestId = c.req.header('x-request-id')?.slice(0, 100) || randomUUID();
    c.set('requestId', requestId);
    c.set('tenantId', deps.defaultTenantId);
    c.header('X-Request-Id', requestId);
    await next();
  });
  app.use('*', secureHeaders());
  app.use('*', compress({ threshold: 1024 }));

  app.get('/health', (c) => c.json({ status: 'ok', version: API_VERSION }));

  const v1 = new OpenAPIHono<ApiEnv>({ defaultHook: app.defaultHook });
  v1.route('/nodes', nodesRoutes(deps));
  v1.get('/status', async (c) => {
    const runs = await recentRuns(deps.sql, c.get('tenantId'), 10);
    return c.json({ runs, cache: deps.cache.name });
  });
  app.route('/api/v1', v1);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Water network monitoring API',
      version: API_VERSION,
      description: 'Pre-computed metrics, anomalies, forecasts and water-loss figures of a water network.',
    },
  });
  app.get('/docs', Scalar({ url: '/openapi.json', pageTitle: 'Water network monitoring API' }));

  app.notFound((c) =>
    problemResponse(c, new ApiProblem(404, 'Not Found', `No route for ${c.req.method} ${c.req.path}`)),
  );
  app.onError((err, c) => {
    if (err instanceof ApiProblem) return problemResponse(c, err);
    if (err instanceof HTTPException)
      return problemResponse(c, new ApiProblem(err.status as 400, err.message || 'Error'));
    deps.logger.error('request failed', {
      event: 'api.error',
      requestId: c.get('requestId'),
      path: c.req.path,
      err,
    });
    return problemResponse(
      c,
      new ApiProblem(500, 'Internal Server Error', 'The request could not be completed.'),
    );
  });
  return app;
}
