import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { createLogger } from '../../../log.ts';
import type { ApiEnv } from '../../env.ts';
import { type RequestLines, requestLog } from './index.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function appWith(options: { sink?: (line: string) => void; logged?: string[]; lines?: RequestLines }) {
  const logger = createLogger({ level: 'info', sink: (line) => options.logged?.push(line) });
  const app = new Hono<ApiEnv>();
  app.use('*', requestLog({ logger, sink: options.sink, lines: options.lines }));
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
  app.get('/status/:code', (c) => c.body(null, Number(c.req.param('code')) as 204));
  app.get('/slow', async (c) => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    return c.body('slow');
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
    { ...line, time: undefined, latencyMs: undefined, httpRequest: undefined },
    {
      severity: 'INFO',
      message: 'request',
      time: undefined,
      function: 'api',
      event: 'api.request',
      sampled: true,
      requestId: id,
      method: 'GET',
      route: '/api/v1/nodes/:id',
      status: 200,
      latencyMs: undefined,
      tier: 'memory',
      keyId: 'k3y1d0abc1',
      httpRequest: undefined,
    },
  );
  assert.ok(Number.isFinite(Date.parse(line.time)));
  assert.equal(typeof line.latencyMs, 'number');
  // Cloud Logging's request fields (no trace context given: no trace fields).
  assert.deepEqual(
    { ...line.httpRequest, latency: undefined },
    {
      requestMethod: 'GET',
      requestUrl: 'http://localhost/api/v1/nodes/n1',
      status: 200,
      latency: undefined,
      remoteIp: 'unknown',
    },
  );
  assert.match(line.httpRequest.latency, /^\d+\.\d{5}s$/);
  assert.equal(line['logging.googleapis.com/trace'], undefined);
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

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

test("the caller's traceparent puts the request's line in its trace (tracing off: the caller's span)", async () => {
  const lines: string[] = [];
  const res = await appWith({ sink: (line) => lines.push(line) }).request('/api/v1/nodes/n1', {
    headers: {
      traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`,
      'user-agent': 'probe/1.0',
      'x-forwarded-for': '198.51.100.7, 203.0.113.9',
    },
  });
  assert.equal(res.status, 200);
  const line = JSON.parse(lines[0]!);
  assert.equal(line['logging.googleapis.com/trace'], TRACE_ID);
  assert.equal(line['logging.googleapis.com/spanId'], CALLER_SPAN);
  assert.equal(line['logging.googleapis.com/trace_sampled'], true);
  assert.equal(line.httpRequest.userAgent, 'probe/1.0');
  // Cloud Run's front end appends the caller's address: the last entry, never what the client sent.
  assert.equal(line.httpRequest.remoteIp, '203.0.113.9');
});

test('X-Cloud-Trace-Context is read when there is no traceparent (span id in decimal)', async () => {
  const lines: string[] = [];
  await appWith({ sink: (line) => lines.push(line) }).request('/api/v1/nodes/n1', {
    headers: { 'x-cloud-trace-context': `${TRACE_ID}/${BigInt(`0x${CALLER_SPAN}`)};o=0` },
  });
  const line = JSON.parse(lines[0]!);
  assert.equal(line['logging.googleapis.com/trace'], TRACE_ID);
  assert.equal(line['logging.googleapis.com/spanId'], CALLER_SPAN);
  assert.equal(line['logging.googleapis.com/trace_sampled'], false);
});

test('behind a real HTTP server the line carries the response size the host wrote', async () => {
  const lines: string[] = [];
  const app = appWith({ sink: (line) => lines.push(line) });
  const server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/sealed`);
    const body = await res.text();
    while (lines.length === 0) await new Promise((r) => setImmediate(r));
    const line = JSON.parse(lines[0]!);
    // Headers and body, as Cloud Logging counts a response's size.
    let head = 'HTTP/1.1 200 OK\r\n';
    res.headers.forEach((v, k) => {
      head += `${k}: ${v}\r\n`;
    });
    const headerBytes = Buffer.byteLength(`${head}\r\n`);
    assert.equal(body, 'as sent');
    assert.equal(line.httpRequest.responseSize, String(headerBytes + Buffer.byteLength(body)));
    assert.equal(line.httpRequest.requestUrl, `http://127.0.0.1:${port}/sealed`);
    assert.equal(line.httpRequest.status, 200);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('sampled: failed and slow requests always get a line, one in sampleEvery of the rest, marked sampled', async () => {
  const lines: string[] = [];
  const app = appWith({ sink: (line) => lines.push(line), lines: { sampleEvery: 4, slowMs: 20 } });
  const statuses: number[] = [];
  // Twelve quick successes (200, 204, 304): the 4th, 8th and 12th requests are the sample.
  for (let i = 0; i < 12; i++) {
    const res = await app.request(`/status/${[200, 204, 304][i % 3]}`);
    statuses.push(res.status);
    // Every request is still answered with its request id.
    assert.match(res.headers.get('x-request-id') ?? '', UUID);
  }
  assert.deepEqual(statuses, [200, 204, 304, 200, 204, 304, 200, 204, 304, 200, 204, 304]);
  const quick = lines.map((l) => JSON.parse(l));
  assert.deepEqual(
    quick.map((l) => [l.status, l.sampled]),
    [
      [200, true],
      [204, true],
      [304, true],
    ],
  );
  lines.length = 0;
  // Failures (a 4xx, a 5xx, a 404 of no route) and a slow success: each has its line; the 4th
  // request counted is the sample's.
  for (const path of ['/status/400', '/status/503', '/nowhere', '/slow']) await app.request(path);
  const rest = lines.map((l) => JSON.parse(l));
  assert.deepEqual(
    rest.map((l) => [l.status, l.sampled]),
    [
      [400, false],
      [503, false],
      [404, false],
      [200, true],
    ],
  );
  assert.ok(rest[3].latencyMs >= 20, `slow request logged with its latency (${rest[3].latencyMs} ms)`);
});

test('sampleEvery 0: only failed and slow requests get a line; 1: every request', async () => {
  const none: string[] = [];
  const quiet = appWith({ sink: (line) => none.push(line), lines: { sampleEvery: 0, slowMs: 20 } });
  for (let i = 0; i < 5; i++) await quiet.request('/status/200');
  await quiet.request('/slow');
  await quiet.request('/status/500');
  assert.deepEqual(
    none.map((l) => [JSON.parse(l).status, JSON.parse(l).sampled]),
    [
      [200, false],
      [500, false],
    ],
  );
  const all: string[] = [];
  const every = appWith({ sink: (line) => all.push(line), lines: { sampleEvery: 1, slowMs: 1000 } });
  for (let i = 0; i < 5; i++) await every.request('/status/200');
  assert.equal(all.length, 5);
  assert.ok(all.every((l) => JSON.parse(l).sampled === true));
});
