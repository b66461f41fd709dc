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
import { startFunctionTracing } from '../../shared/wiring/telemetry.ts';

const config = loadConfig();
// Started beside the first request, not before it: requests that arrive while the SDK loads are not
// traced (TRACING=cloud), and the cold start does not wait for it.
export const tracing = startFunctionTracing(config, 'api');
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
export const api = getRequestListener(async (request, env) => (await app()).fetch(request, env));

ff.http('api', api);
