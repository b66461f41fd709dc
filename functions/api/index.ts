/**
 * The HTTP API in the functions framework: the same Hono app that runs locally on
 * @hono/node-server. It loads no BigQuery or Pub/Sub client.
 *
 * The framework's per-request Node `domain` is replaced by a plain request scope (shared/request-domains.ts):
 * with a real domain every promise of the process is tagged and given a destroy hook, which cost more
 * CPU per cached read than the rest of the app (bench:api, `--cpu-prof`; 720 → 444 µs per cached read as deployed, load 9). Errors still end
 * as problems: Hono's onError answers whatever a route throws (problem+json 500), and anything thrown
 * outside the app (it failed to start) is answered here with the same 500 problem.
 *
 * Reads (GET, HEAD) are answered in front of the framework's Express app, on the framework's own server
 * (shared/framework-front.ts): Express's per-request middleware cost a bare Hono app in this host about
 * twice its CPU on @hono/node-server; requests with a body still go through the framework.
 */
import * as ff from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { type ApiApp, createApp } from '../../shared/api/app.ts';
import { ApiProblem, problemAsResponse } from '../../shared/api/problem.ts';
import { loadConfig } from '../../shared/config.ts';
import { frontOfFramework } from '../../shared/framework-front.ts';
import { createLogger } from '../../shared/log.ts';
import { once } from '../../shared/once.ts';
import { withoutRequestDomains } from '../../shared/request-domains.ts';
import { apiDeps } from '../../shared/wiring/api.ts';
import { tracingAfterFirstResponse } from '../../shared/wiring/telemetry.ts';

// No Node Domain per request at all (shared/request-domains.ts, as the aggregator): the first Domain
// the framework constructed turned on an async hook that every promise of the process then paid for.
withoutRequestDomains();
const config = loadConfig();
const app = once(async () => {
  const deps = await apiDeps(config);
  if (config.API_DEV_MODE) {
    // Local development only (off in the cloud): print an admin key of the default tenant.
    const { ensureDevKey } = await import('../../shared/api/auth/dev-key.ts');
    const { token } = await ensureDevKey(deps.stores.keys, { tenantId: config.TENANT_ID });
    deps.logger.warn(`API_DEV_MODE: development admin key ${token}`, { event: 'api.dev_key' });
  }
  return createApp(deps);
});
const hostLogger = createLogger({ level: config.LOG_LEVEL, base: { function: 'api' } });

// The host's env ({ incoming, outgoing }) lets the app read Node's parsed request headers directly.
const failed = (request: Request, err: unknown) => {
  hostLogger.error('request failed outside the app', { event: 'api.host_error', err });
  return problemAsResponse(
    new ApiProblem(500, 'Internal Server Error', 'The request could not be completed.'),
    new URL(request.url).pathname,
  );
};
/** The app once it has started: requests then go straight to it (no promise of ours per request). */
let ready: ApiApp | undefined;
const listener = getRequestListener((request, env) => {
  if (ready) return ready.fetch(request, env);
  return app().then(
    (started) => {
      ready = started;
      return started.fetch(request, env);
    },
    (err: unknown) => failed(request, err),
  );
});

// Tracing (TRACING=cloud) starts once the first response has been sent: the cold start does not wait
// for the SDK, and requests answered while it loads are not traced.
const served = tracingAfterFirstResponse(config, 'api', listener);
export const tracing = served.tracing;

/** The HTTP function: the app; reads (GET, HEAD) answered in front of the framework's Express app. */
export const api: ff.HttpFunction = frontOfFramework(served.listener);

ff.http('api', api);
