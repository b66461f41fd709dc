/**
 * The baseline: a bare Hono app on @hono/node-server answering the benchmarked paths with the same
 * bytes the API returns, from memory (no auth, no rate limit, no tiers, no validation).
 * argv[2]: a JSON file { metrics: { nodeId: body }, dashboard: body }. Reports its port over IPC.
 * bare-function.ts serves the same app in the functions framework.
 */
import { readFileSync } from 'node:fs';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

export interface BareBodies {
  metrics: Record<string, string>;
  dashboard: string;
}

export function bareApp(bodies: BareBodies): Hono {
  const type = { 'Content-Type': 'application/json; charset=utf-8' };
  const app = new Hono();
  app.get('/api/v1/nodes/:id/metrics', (c) => {
    const body = bodies.metrics[c.req.param('id')];
    return body === undefined ? c.notFound() : c.body(body, 200, type);
  });
  app.get('/api/v1/dashboard/summary', (c) => c.body(bodies.dashboard, 200, type));
  return app;
}

if (import.meta.main) {
  const app = bareApp(JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as BareBodies);
  serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => process.send?.({ port: info.port }));
  process.on('SIGTERM', () => process.exit(0));
}
