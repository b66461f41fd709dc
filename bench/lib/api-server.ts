/**
 * The in-process row's server: the real app (auth, rate limits, tiers) from configuration
 * (DATABASE_URL, TENANT_ID, LOG_LEVEL …) on @hono/node-server — not the deployed host (the deployed
 * rows run the built bundle in the functions framework, see hosts.ts). Reports its port over IPC.
 */
import { serve } from '@hono/node-server';
import { createApp } from '../../shared/api/app.ts';
import { loadConfig } from '../../shared/config.ts';
import { apiDeps } from '../../shared/wiring/api.ts';

const app = createApp(await apiDeps(loadConfig()));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.send?.({ port: info.port }));
process.on('SIGTERM', () => process.exit(0));
