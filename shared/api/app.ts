/**
 * The HTTP API (Hono + @hono/zod-openapi). One app, two hosts: the functions framework in the
 * cloud (functions/api) and @hono/node-server locally (scripts/start.ts). Every route is declared
 * with its schema, so the OpenAPI document at /openapi.json is the contract, and /docs renders it.
 *
 * Request path: request id and log (security headers and compression on the way out) → CORS →
 * (/api) unauthenticated limit, API key, rate limit, body limit → route (validation → tiered read) →
 * problem+json on any error. Everything before the route is the front (front.ts), run inside each
 * route's own handler so that a route is the one handler Hono matches: a memory hit is answered
 * without a promise.
 */
import type { Context } from 'hono';
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
import type { ApiEnv } from './env.ts';
import { type FrontStep, frontEveryRoute, honoStep } from './front.ts';
import {
  ApiResources,
  buildAllNow,
  mountLazyResources,
  READINGS_PATH,
  type ResourceDeps,
  type RouteMount,
} from './lazy-routes.ts';
import { methodsAllowed } from './methods.ts';
import { apiGate } from './middleware/api-gate/index.ts';
import { requestLog } from './middleware/request-log/index.ts';
import { unauthLimit } from './middleware/unauth-limit/index.ts';
import { ApiProblem, problemResponse, problemTypesMarkdown, RETRY_AFTER_SECONDS } from './problem.ts';
import { MemoryRateLimiter } from './rate-limit.ts';
import { RequestStats } from './request-stats.ts';
import { type ApiRouter, newRouter } from './router.ts';

import { type ApiSettings, DEFAULT_API_SETTINGS, DEFAULT_STREAM_SETTINGS } from './settings.ts';
import { apiTierBreakers, isUnavailable, TieredReader } from './tiers.ts';

export const API_VERSION = '1.0.0';

const TITLE = 'Water network monitoring API';

export interface CreateAppOptions {
  /**
   * `lazy` (the default): each resource's route module is imported and built on its first request
   * (lazy-routes.ts); `eager`: every router is built and mounted now, from modules already imported
   * (`await importAllRoutes()` first) — the reference the lazy app is tested against.
   */
  routes?: 'lazy' | 'eager';
}

export function createApp(deps: ApiDeps, options: CreateAppOptions = {}) {
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

  // Every route is registered here, then served behind the front (front.ts): request log and CORS for
  // every request, then for /api the unauthenticated limit and the API gate.
  const app = newRouter();
  const all: FrontStep<ApiEnv>[] = [
    requestLog({ logger, sink: deps.requestLogSink, stats: requestStats, lines: deps.requestLogLines }),
  ];
  if (settings.corsOrigins.length > 0) {
    all.push(
      honoStep(
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
      ),
    );
  }
  // One gate for the API (a step each costs on the hot path): body limit, API key, rate limit.
  const gate: FrontStep<ApiEnv>[] = [
    unauthLimit({ perMinute: settings.unauthenticatedPerMinute }),
    apiGate({
      verifier,
      tokens,
      limiter,
      bodyLimitBytes: settings.bodyLimitBytes,
      routeBodyLimits: { [READINGS_PATH]: settings.ingestMaxBytes },
    }),
  ];

  // Unauthenticated and cheap: no database, no cache.
  app.get('/health', (c) => c.json({ status: 'ok', version: API_VERSION }));

  const resourceDeps: ResourceDeps = {
    route: routeDeps,
    stream: { ...DEFAULT_STREAM_SETTINGS, ...deps.stream },
    webhooks: deps.webhooks,
  };
  const resources = new ApiResources(resourceDeps);
  const v1 = newRouter();
  if (options.routes === 'eager') mountRouters(v1, buildAllNow(resourceDeps));
  else mountLazyResources(v1, resources);
  app.route('/api/v1', v1);
  registerSecuritySchemes(app);

  app.use('/openapi.json', etag());
  if (options.routes === 'eager') {
    app.doc31('/openapi.json', DOCUMENT);
  } else {
    // The routers mounted as the eager app mounts them, on a router of their own: the same document.
    let document: Promise<unknown> | undefined;
    app.get('/openapi.json', async (c) => {
      document ??= resources.all().then(
        (mounts) => apiDocument(mounts),
        (err: unknown) => {
          document = undefined;
          throw err;
        },
      );
      return c.json(await document);
    });
  }
  mountDocs(app, { logger, title: TITLE });
  // The operator console: static files under /console (built by console/build.ts), reading /api/v1.
  mountConsole(app, {
    logger,
    ...(deps.consoleDir ? { dir: deps.consoleDir } : {}),
    ...(deps.consoleTiles ? { tiles: deps.consoleTiles } : {}),
  });

  const allowedMethods = methodsAllowed(app);
  const notFound = (c: Context<ApiEnv>): Response => {
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
  };
  const onError = (err: Error, c: Context<ApiEnv>): Response => {
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
  };
  return frontEveryRoute(app, { all, gate, gated: isApiPath, onError, notFound });
}

/** The paths behind the API gate: what `app.use('/api/*')` matched (/api itself and below it). */
const isApiPath = (path: string): boolean => path === '/api' || path.startsWith('/api/');

export type ApiApp = ReturnType<typeof createApp>;

/** The OpenAPI document's top level (its paths come from the routers). */
const DOCUMENT: Parameters<ApiRouter['getOpenAPI31Document']>[0] = {
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
};

/** Mounts every resource's routers under /api/v1, in order. */
function mountRouters(v1: ApiRouter, resources: RouteMount[][]): void {
  for (const mounts of resources) for (const { prefix, router } of mounts) v1.route(prefix, router);
}

/** The OpenAPI 3.1 document of these routers, as the app with every router mounted serves it. */
function apiDocument(resources: RouteMount[][]): unknown {
  const app = newRouter();
  const v1 = newRouter();
  mountRouters(v1, resources);
  app.route('/api/v1', v1);
  registerSecuritySchemes(app);
  return app.getOpenAPI31Document(DOCUMENT);
}

function registerSecuritySchemes(app: ApiRouter): void {
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
}
