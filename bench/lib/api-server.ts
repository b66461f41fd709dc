/**
 * The API as the benchmark serves it: the real app (auth, rate limits, tiers) from configuration
 * (DATABASE_URL, TENANT_ID, LOG_LEVEL …) on @hono/node-server. Reports its port over IPC.
 */
import { serve } from '@hono/node-server';
import { createApp } from '../../shared/api/app.ts';
import { loadConfig } from '../../shared/config.ts';
import { apiDeps } from '../../shared/wiring/api.ts';

const app = createApp(await apiDeps(loadConfig()));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.send?.({ port: info.port }));
process.on('SIGTERM', () => process.exit(0));
// The benchmark asks for this process's CPU time (µs) between runs.
process.on('message', (m) => {
  if (m === 'cpu') {
    const u = process.cpuUsage();
    process.send?.({ cpu: u.user + u.system });
  }
});
