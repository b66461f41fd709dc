import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { createLogger } from '../../../log.ts';
import type { ApiEnv } from '../../env.ts';
import { requestLog } from './index.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function appWith(options: { sink?: (line: string) => void; logged?: string[] }) {
  const logger = createLogger({ level: 'info', sink: (line) => options.logged?.push(line) });
  const app = new Hono<ApiEnv>();
  app.use('*', requestLog({ logger, sink: options.sink }));
  app.get('/api/v1/nodes/:id', (c) => {
    c.set('tier', 'memory');
    c.set('principal', {
      keyId: 'k3y1d0abc1',
      tenantId: 't',
      role: 'reader',
      name: 'n',
      rateLimitPerMinute: 1,
    });
    c.get('out')['X-Cache-Tier'] = 'memory';
    return c.json({ id: c.req.param('id'), requestId: c.get('requestId') });
  });
  app.get('/sealed', (c) => {
    c.set('sealed', true);
    return c.body('as sent', 200, { 'Content-Type': 'text/plain' });
  });
  return app;
}

test('a generated request id is answered, and one line is written to the sink in the logger shape', async () => {
  const lines: string[] = [];
  const res = await appWith({ sink: (line) => lines.push(line) }).request('/api/v1/nodes/n1');
  assert.equal(res.status, 200);
  const id = res.headers.get('x-request-id');
  assert.match(id ?? '', UUID);
  assert.equal((await res.json()).requestId, id);
  // The gathered headers and the API's security headers are applied on the way out.
  assert.equal(res.headers.get('x-cache-tier'), 'memory');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assert.deepEqual(
    { ...line, time: undefined, latencyMs: undefined },
    {
      severity: 'INFO',
      message: 'request',
      time: undefined,
      function: 'api',
      event: 'api.request',
      requestId: id,
      method: 'GET',
      route: '/api/v1/nodes/:id',
      status: 200,
      latencyMs: undefined,
      tier: 'memory',
      keyId: 'k3y1d0abc1',
    },
  );
  assert.ok(Number.isFinite(Date.parse(line.time)));
  assert.equal(typeof line.latencyMs, 'number');
});

test("the caller's request id is kept (at most 100 characters) and escaped in the line", async () => {
  const lines: string[] = [];
  const given = `"quoted" \\ ${'x'.repeat(120)}`;
  const res = await appWith({ sink: (line) => lines.push(line) }).request('/api/v1/nodes/n1', {
    headers: { 'x-request-id': given },
  });
  assert.equal(res.headers.get('x-request-id'), given.slice(0, 100));
  assert.equal(JSON.parse(lines[0]!).requestId, given.slice(0, 100));
});

test('without a sink the line goes through the logger, with the same fields', async () => {
  const logged: string[] = [];
  const res = await appWith({ logged }).request('/nowhere');
  assert.equal(res.status, 404);
  assert.equal(logged.length, 1);
  const line = JSON.parse(logged[0]!);
  assert.equal(line.event, 'api.request');
  assert.equal(line.message, 'request');
  assert.equal(line.status, 404);
  assert.equal(line.tier, 'none');
  assert.equal(line.method, 'GET');
  assert.equal(line.keyId, undefined);
  assert.equal(line.requestId, res.headers.get('x-request-id'));
});

test('a response sealed by the fast path is left as it was sent', async () => {
  const lines: string[] = [];
  const res = await appWith({ sink: (line) => lines.push(line) }).request('/sealed');
  assert.equal(await res.text(), 'as sent');
  assert.equal(res.headers.get('x-request-id'), null);
  assert.equal(res.headers.get('x-content-type-options'), null);
  assert.equal(lines.length, 1);
});
