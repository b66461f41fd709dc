/**
 * The HTTP API in the functions framework: the same Hono app that runs locally on
 * @hono/node-server. It loads no BigQuery or Pub/Sub client.
 */
import * as ff from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { createApp } from '../../shared/api/app.ts';
import { loadConfig } from '../../shared/config.ts';
import { once } from '../../shared/once.ts';
import { apiDeps } from '../../shared/wiring/api.ts';
import { tracingAfterFirstResponse } from '../../shared/wiring/telemetry.ts';

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

// The host's env ({ incoming, outgoing }) lets the app read Node's parsed request headers directly.
// Tracing (TRACING=cloud) starts once the first response has been sent: the cold start does not wait
// for the SDK, and requests answered while it loads are not traced.
const served = tracingAfterFirstResponse(
  config,
  'api',
  getRequestListener(async (request, env) => (await app()).fetch(request, env)),
);
export const api = served.listener;
export const tracing = served.tracing;

ff.http('api', api);
