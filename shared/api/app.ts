/**
 * The HTTP API (Hono + @hono/zod-openapi). One app, two hosts: the functions framework in the
 * cloud (functions/api) and @hono/node-server locally (scripts/start.ts). Every route is declared
 * with its schema, so the OpenAPI document at /openapi.json is the contract, and /docs renders it.
 *
 * Request path: request id and log (security headers and compression on the way out) → CORS →
 * (/api) API key, rate limit, body limit → route (validation → tiered read) → problem+json on any error.
 */
import { cors } from 'hono/cors';
import { etag } from 'hono/etag';
import { HTTPException } from 'hono/http-exception';
import { embeddedLiveChannel } from '../adapters/cache/live.ts';
import { KeyVerifier } from './auth/authenticate.ts';
import { TokenVerifier } from './auth/tokens.ts';
import { isBreakerError } from './breakers.ts';
import { mountConsole } from './console.ts';
import type { ApiDeps, RouteDeps } from './context.ts';
import { mountDocs } from './docs.ts';
import { methodsAllowed } from './methods.ts';
import { apiGate } from './middleware/api-gate/index.ts';
import { requestLog } from './middleware/request-log/index.ts';
import { unauthLimit } from './middleware/unauth-limit/index.ts';
import { ApiProblem, problemResponse, problemTypesMarkdown, RETRY_AFTER_SECONDS } from './problem.ts';
import { MemoryRateLimiter } from './rate-limit.ts';
import { RequestStats } from './request-stats.ts';
import { newRouter } from './router.ts';
import { adminKeysRoutes } from './routes/admin-keys.ts';
import { anomaliesRoutes } from './routes/anomalies.ts';
import { anomalyStreamRoutes } from './routes/anomaly-stream.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { historyRoutes } from './routes/history.ts';
import { networkRoutes } from './routes/network.ts';
import { nodesRoutes } from './routes/nodes.ts';
import { patternsRoutes } from './routes/patterns.ts';
import { predictionsRoutes } from './routes/predictions.ts';
import { qualityRoutes } from './routes/quality.ts';
import { READINGS_PATH, readingsRoutes } from './routes/readings.ts';

import { reportsRoutes } from './routes/reports.ts';
import { statusRoutes } from './routes/status.ts';
import { webhooksRoutes } from './routes/webhooks.ts';
import { type ApiSettings, DEFAULT_API_SETTINGS, DEFAULT_STREAM_SETTINGS } from './settings.ts';
import { apiTierBreakers, isUnavailable, TieredReader } from './tiers.ts';

export const API_VERSION = '1.0.0';

const TITLE = 'Water network monitoring API';

export function createApp(deps: ApiDeps) {
  const settings: ApiSettings = { ...DEFAULT_API_SETTINGS, ...deps.settings };
  const logger = deps.logger;
  const breakers = deps.breakers ?? apiTierBreakers(settings, logger);
  const reader = new TieredReader({
    hot: deps.cache,
    ttlSeconds: deps.cacheTtlSeconds,
    logger,
    settings,
    breakers,
  });
  const verifier = new KeyVerifier({
    keys: deps.stores.keys,
    ttlMs: settings.keyCacheMs,
    staleIfErrorMs: settings.keyStaleIfErrorMs,
    breaker: breakers.postgres,
    logger,
  });
  const requestStats = new RequestStats();
  const tokens =
    settings.tokenIssuers.length > 0
      ? new TokenVerifier({
          issuers: settings.tokenIssuers,
          cacheMs: settings.keyCacheMs,
          jwksCacheMaxAgeMs: settings.jwksCacheMaxAgeMs,
          jwksCooldownMs: settings.jwksCooldownMs,
          jwksTimeoutMs: settings.jwksTimeoutMs,
          defaultRateLimitPerMinute: settings.defaultRateLimitPerMinute,
        })
      : undefined;
  const limiter = deps.rateLimiter ?? new MemoryRateLimiter();
  const routeDeps: RouteDeps = {
    stores: deps.stores,
    hot: deps.cache,
    reader,
    settings,
    logger,
    verifier,
    maxAgeSeconds: Math.max(0, Math.floor(settings.memoryFreshMs / 1000)),
    requestStats,
    limiter,
    readingSink: deps.readingSink,

    live: deps.live ?? embeddedLiveChannel(),
  };

  const app = newRouter();

  app.use('*', requestLog({ logger, sink: deps.requestLogSink, stats: requestStats }));
  if (settings.corsOrigins.length > 0) {
    app.use(
      '*',
      cors({
        origin: settings.corsOrigins,
        allowMethods: ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'],
        allowHeaders: [
          'Authorization',
          'X-API-Key',
          'Content-Type',
          'If-None-Match',
          'X-Request-Id',
          'Last-Event-ID',
        ],
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
  // Unauthenticated and cheap: no database, no cache.
  app.get('/health', (c) => c.json({ status: 'ok', version: API_VERSION }));

  // One gate for the API (a middleware hop each costs on the hot path): body limit, API key, rate limit.
  app.use('/api/*', unauthLimit({ perMinute: settings.unauthenticatedPerMinute }));
  app.use(
    '/api/*',
    apiGate({
      verifier,
      tokens,
      limiter,
      bodyLimitBytes: settings.bodyLimitBytes,
      routeBodyLimits: { [READINGS_PATH]: settings.ingestMaxBytes },
    }),
  );

  const v1 = newRouter();
  v1.route('/status', statusRoutes(routeDeps));
  v1.route('/nodes', nodesRoutes(routeDeps));
  v1.route('/nodes', historyRoutes(routeDeps));
  v1.route('/network', networkRoutes(routeDeps));
  v1.route('/predictions', predictionsRoutes(routeDeps));
  v1.route('/quality', qualityRoutes(routeDeps));
  // Served by GET /anomalies/{id} for the id `stream` (see anomaly-stream.ts: the router stays a RegExpRouter).
  const stream = anomalyStreamRoutes({
    ...routeDeps,
    stream: { ...DEFAULT_STREAM_SETTINGS, ...deps.stream },
  });
  v1.route('/anomalies', stream.docs);
  v1.route('/anomalies', anomaliesRoutes({ ...routeDeps, stream: stream.handle }));
  v1.route('/dashboard', dashboardRoutes(routeDeps));
  v1.route('/admin/keys', adminKeysRoutes(routeDeps));
  v1.route('/readings', readingsRoutes(routeDeps));

  v1.route('/webhooks', webhooksRoutes({ ...routeDeps, webhooks: deps.webhooks }));

  v1.route('/', patternsRoutes(routeDeps));
  v1.route('/reports', reportsRoutes(routeDeps));
  app.route('/api/v1', v1);

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'wnm_<id>_<secret>',
    description: 'An API key: `Authorization: Bearer wnm_…` (or `X-API-Key: wnm_…`).',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'oidcToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A bearer token (JWT) of an OpenID Connect issuer the deployment trusts (API_TOKEN_ISSUERS): e.g. a Google identity token. ' +
      'It must carry an accepted audience and an unexpired `exp`, and be signed (RS/PS/ES/EdDSA) by a key of the issuer’s JWKS; ' +
      'its claims map to a tenant and a role. Refusals are 401 `invalid-token` or 403 `token-not-allowed` problems.',
  });
  app.use('/openapi.json', etag());
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: TITLE,
      version: API_VERSION,
      description:
        'Pre-computed metrics, anomalies, forecasts and water-loss figures of a water network, served cache-first. ' +
        'Every answer says which tier answered (`X-Cache-Tier`) and carries an `ETag`; errors are `application/problem+json`.\n\n' +
        problemTypesMarkdown(),
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }, { oidcToken: [] }],
  });
  mountDocs(app, { logger, title: TITLE });
  // The operator console: static files under /console (built by console/build.ts), reading /api/v1.
  mountConsole(app, {
    logger,
    ...(deps.consoleDir ? { dir: deps.consoleDir } : {}),
    ...(deps.consoleTiles ? { tiles: deps.consoleTiles } : {}),
  });

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
    // PostgreSQL unreachable, too slow, or skipped by its breaker (a write, a key list): a 503, and no
    // error line per request (the breaker logs the outage once).
    if (isUnavailable(err) || isBreakerError(err)) {
      return problemResponse(
        c,
        new ApiProblem(503, 'Service Unavailable', 'The database cannot be reached right now.', {
          headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
        }),
      );
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
