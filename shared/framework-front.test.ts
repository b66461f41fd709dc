/**
 * frontOfFramework against the functions framework's own server (getTestServer: the same Express app
 * and http.Server the framework's main serves): which requests reach the function through Express and
 * which are answered in front of it.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { bodylessRead, frontOfFramework } from './framework-front.ts';

/** What the function saw of each request. */
interface Seen {
  method: string;
  url: string;
  /** The framework's Express app ran (its execution-context middleware sets `executionId`). */
  viaExpress: boolean;
  rawBody: string | undefined;
}
const seen: Seen[] = [];
ff.http(
  'front-probe',
  frontOfFramework((req: IncomingMessage, res: ServerResponse) => {
    const r = req as IncomingMessage & { executionId?: string; rawBody?: Buffer };
    const s: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      viaExpress: typeof r.executionId === 'string',
      rawBody: r.rawBody?.toString('utf8'),
    };
    seen.push(s);
    const body = JSON.stringify(s);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }) as ff.HttpFunction,
);

const servers: Server[] = [];
async function start(): Promise<string> {
  const server = getTestServer('front-probe');
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
let base: string;
before(async () => {
  base = await start();
});
after(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

const last = () => seen[seen.length - 1]!;

test("a server's first request goes through the framework; its later GETs and HEADs are answered in front of Express", async () => {
  const first = await fetch(`${base}/api/v1/a?x=1`);
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { method: 'GET', url: '/api/v1/a?x=1', viaExpress: true });
  const second = await fetch(`${base}/api/v1/b`);
  assert.deepEqual(await second.json(), { method: 'GET', url: '/api/v1/b', viaExpress: false });
  const head = await fetch(`${base}/health`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.deepEqual(last(), { method: 'HEAD', url: '/health', viaExpress: false, rawBody: undefined });
  // Another server of the same function (tests start several): its own first request, then its front.
  const other = await start();
  assert.equal(((await (await fetch(`${other}/x`)).json()) as Seen).viaExpress, true);
  assert.equal(((await (await fetch(`${other}/x`)).json()) as Seen).viaExpress, false);
});

test('a request with a body still goes through the framework, whose parsers keep rawBody for the function', async () => {
  await fetch(`${base}/warm`);
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await fetch(`${base}/api/v1/readings`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: '{"n":1}',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(last(), { method, url: '/api/v1/readings', viaExpress: true, rawBody: '{"n":1}' });
  }
});

test("/favicon.ico and /robots.txt stay the framework's own 404s (the function is not called)", async () => {
  await fetch(`${base}/warm`);
  const before = seen.length;
  for (const path of ['/favicon.ico', '/robots.txt', '/favicon.ico/x']) {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 404, path);
    await res.arrayBuffer();
  }
  assert.equal(seen.length, before);
  // Paths that only start alike are the function's.
  assert.equal(((await (await fetch(`${base}/favicon.icon`)).json()) as Seen).viaExpress, false);
});

test('bodylessRead: GET and HEAD except the paths the framework answers', () => {
  const req = (method: string, url: string) => ({ method, url }) as IncomingMessage;
  assert.equal(bodylessRead(req('GET', '/api/v1/nodes')), true);
  assert.equal(bodylessRead(req('HEAD', '/')), true);
  assert.equal(bodylessRead(req('OPTIONS', '/api/v1/nodes')), false);
  assert.equal(bodylessRead(req('POST', '/api/v1/readings')), false);
  assert.equal(bodylessRead(req('GET', '/robots.txt?x')), false);
  assert.equal(bodylessRead(req('GET', '/FAVICON.ICO')), false);
});

test('a read whose function throws or rejects in front of Express is a 500, and the server serves on', async () => {
  ff.http(
    'front-failing',
    frontOfFramework((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/throw') throw new Error('thrown');
      if (req.url === '/reject') return Promise.reject(new Error('rejected'));
      if (req.url === '/late') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part');
        return Promise.reject(new Error('after the head'));
      }
      res.end('ok');
      return undefined;
    }) as ff.HttpFunction,
  );
  const server = getTestServer('front-failing');
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    assert.equal(await (await fetch(`${url}/first`)).text(), 'ok'); // through the framework: installs the front
    for (const path of ['/throw', '/reject']) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 500, path);
      await res.arrayBuffer();
    }
    // Head already sent: the connection is cut, the client sees an incomplete body, not a success.
    await assert.rejects(async () => (await fetch(`${url}/late`)).text());
    assert.equal(await (await fetch(`${url}/still`)).text(), 'ok');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings.filter((w) => w.includes('in front of the framework failed')).length, 3);
  } finally {
    process.off('warning', onWarning);
  }
});
