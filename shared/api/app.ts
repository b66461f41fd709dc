/**
 * The HTTP API (Hono + @hono/zod-openapi). One app, two hosts: the functions framework in the
 * cloud (functions/api) and @hono/node-server locally (scripts/start.ts). Every route is declared
 * with its schema, so the OpenAPI document at /openapi.json is the contract, and /docs renders it.
 *
 * Request path: request id and log (security headers and compression on the way out) → CORS →
 * (/api) API key, rate limit, body limit → route (validation → tiered read) → problem+json on any error.
 */
import { randomUUID } from 'node:crypto';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { etag } from 'hono/etag';
import { HTTPException } from 'hono/http-exception';
import { authenticateRequest, KeyVerifier } from './auth/authenticate.ts';
import type { ApiDeps, RouteDeps } from './context.ts';
import { mountDocs } from './docs.ts';
import { finishHeaders, requestHeader } from './headers.ts';
import { methodsAllowed } from './methods.ts';
import { ApiProblem, problemResponse } from './problem.ts';
import { countRequest, MemoryRateLimiter } from './rate-limit.ts';
import { newRouter } from './router.ts';
import { adminKeysRoutes } from './routes/admin-keys.ts';
import { anomaliesRoutes } from './routes/anomalies.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { historyRoutes } from './routes/history.ts';
import { networkRoutes } from './routes/network.ts';
import { nodesRoutes } from './routes/nodes.ts';
import { predictionsRoutes } from './routes/predictions.ts';
import { qualityRoutes } from './routes/quality.ts';
import { statusRoutes } from './routes/status.ts';
import { type ApiSettings, DEFAULT_API_SETTINGS } from './settings.ts';
import { TieredReader } from './tiers.ts';

export const API_VERSION = '1.0.0';

/** The current time in ISO 8601, formatted at most once per millisecond (many requests share one). */
let isoMs = 0;
let isoText = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}
const TITLE = 'Water network monitoring API';

export function createApp(deps: ApiDeps) {
  const settings: ApiSettings = { ...DEFAULT_API_SETTINGS, ...deps.settings };
  const logger = deps.logger;
  const requestLogSink = deps.requestLogSink;
  const reader = new TieredReader({ hot: deps.cache, ttlSeconds: deps.cacheTtlSeconds, logger, settings });
  const verifier = new KeyVerifier({ keys: deps.stores.keys, ttlMs: settings.keyCacheMs, logger });
  const routeDeps: RouteDeps = {
    stores: deps.stores,
    hot: deps.cache,
    reader,
    settings,
    logger,
    verifier,
    maxAgeSeconds: Math.max(0, Math.floor(settings.memoryFreshMs / 1000)),
  };

  const app = newRouter();

  app.use('*', async function requestLog(c, next) {
    const t0 = performance.now();
    const given = requestHeader(c, 'x-request-id')?.slice(0, 100);
    const generated = !given;
    const requestId = given || randomUUID();
    c.set('requestId', requestId);
    const out: Record<string, string> = { 'X-Request-Id': requestId };
    c.set('out', out);
    await next();
    if (!c.get('sealed')) await finishHeaders(c, out);
    const latencyMs = Math.round((performance.now() - t0) * 100) / 100;
    const tier = c.get('tier') ?? 'none';
    const keyId = c.get('principal')?.keyId;
    if (requestLogSink) {
      // The logger's shape (severity, message, time, function, fields), without its generic merging.
      requestLogSink(
        `{"severity":"INFO","message":"request","time":"${isoNow()}","function":"api","event":"api.request","requestId":${generated ? `"${requestId}"` : JSON.stringify(requestId)},"method":"${c.req.method}","route":${JSON.stringify(c.req.routePath)},"status":${c.res.status},"latencyMs":${latencyMs},"tier":"${tier}"${keyId ? `,"keyId":"${keyId}"` : ''}}`,
      );
    } else {
      logger.info('request', {
        event: 'api.request',
        requestId,
        method: c.req.method,
        route: c.req.routePath,
        status: c.res.status,
        latencyMs,
        tier,
        keyId,
      });
    }
  });
  if (settings.corsOrigins.length > 0) {
    app.use(
      '*',
      cors({
        origin: settings.corsOrigins,
        allowMethods: ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Authorization', 'X-API-Key', 'Content-Type', 'If-None-Match', 'X-Request-Id'],
        exposeHeaders: [
          'ETag',
          'Link',
          'X-Cache-Tier',
          'X-Stale',
          'Server-Timing',
          'RateLimit-Limit',
          'RateLimit-Remaining',
          'RateLimit-Reset',
          'Retry-After',
          'X-Request-Id',
        ],
        maxAge: 600,
      }),
    );
  }
  const limitBody = bodyLimit({
    maxSize: settings.bodyLimitBytes,
    onError: (c) =>
      problemResponse(
        c,
        new ApiProblem(
          413,
          'Content Too Large',
          `Request bodies may be at most ${settings.bodyLimitBytes} bytes.`,
        ),
      ),
  });

  // Unauthenticated and cheap: no database, no cache.
  app.get('/health', (c) => c.json({ status: 'ok', version: API_VERSION }));

  // One gate for the API (a middleware hop each costs on the hot path): body limit, API key, rate limit.
  const limiter = deps.rateLimiter ?? new MemoryRateLimiter();
  app.use('/api/*', async function apiGate(c, next) {
    const principal = authenticateRequest(c, verifier);
    await countRequest(c, limiter, principal instanceof Promise ? await principal : principal);
    // Only requests that may carry a body: touching the body of a GET costs a full Request object.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    return limitBody(c, next);
  });

  const v1 = newRouter();
  v1.route('/status', statusRoutes(routeDeps));
  v1.route('/nodes', nodesRoutes(routeDeps));
  v1.route('/nodes', historyRoutes(routeDeps));
  v1.route('/network', networkRoutes(routeDeps));
  v1.route('/predictions', predictionsRoutes(routeDeps));
  v1.route('/quality', qualityRoutes(routeDeps));
  v1.route('/anomalies', anomaliesRoutes(routeDeps));
  v1.route('/dashboard', dashboardRoutes(routeDeps));
  v1.route('/admin/keys', adminKeysRoutes(routeDeps));
  app.route('/api/v1', v1);

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'wnm_<id>_<secret>',
    description: 'An API key: `Authorization: Bearer wnm_…` (or `X-API-Key: wnm_…`).',
  });
  app.use('/openapi.json', etag());
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: TITLE,
      version: API_VERSION,
      description:
        'Pre-computed metrics, anomalies, forecasts and water-loss figures of a water network, served cache-first. ' +
        'Every answer says which tier answered (`X-Cache-Tier`) and carries an `ETag`; errors are `application/problem+json`.',
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }],
  });
  mountDocs(app, { logger, title: TITLE });

  const allowedMethods = methodsAllowed(app);
  app.notFound((c) => {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length > 0) {
      return problemResponse(
        c,
        new ApiProblem(405, 'Method Not Allowed', `${c.req.method} is not allowed on ${c.req.path}.`, {
          headers: { Allow: allowed.join(', ') },
        }),
      );
    }
    return problemResponse(c, new ApiProblem(404, 'Not Found', `No route for ${c.req.method} ${c.req.path}`));
  });
  app.onError((err, c) => {
    if (err instanceof ApiProblem) return problemResponse(c, err);
    if (err instanceof HTTPException && err.status < 500) {
      return problemResponse(c, new ApiProblem(err.status as 400, err.message || 'Bad Request'));
    }
    logger.error('request failed', {
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

export type ApiApp = ReturnType<typeof createApp>;
