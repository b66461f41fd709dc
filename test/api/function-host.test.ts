/**
 * The API in its cloud host: functions/api registered with the functions framework, served by the
 * framework's own HTTP stack (getTestServer), against a real PostgreSQL. Same app, same answers; the
 * handler runs outside the framework's per-request domain, and errors still end as problems.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createTestDatabase, peerGate, type TestDatabase } from '../../dev/peers/index.ts';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import { migrate } from '../../shared/adapters/postgres/migrations.ts';
import { createKey } from '../../shared/api/auth/keys.ts';

describe('functions/api in the functions framework', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let base: string;
  let token: string;
  let server: ReturnType<typeof getTestServer>;

  before(async () => {
    db = await createTestDatabase();
    await migrate(db.sql);
    token = (
      await createKey(postgresKeyStore(db.sql), {
        tenantId: 'default',
        role: 'operator',
        name: 'host',
        rateLimitPerMinute: 100,
      })
    ).token;
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    await import('../../functions/api/index.ts');
    server = getTestServer('api');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.drop();
  });

  test('a read answered in front of the framework (after its first request) is the answer through it', async () => {
    // Each kind on a fresh server of the function: its first request goes through the framework's
    // Express app, the next is answered in front of it (shared/framework-front.ts). Same status, headers
    // and bytes, apart from what differs per request.
    const perRequest = new Set([
      'date',
      'x-request-id',
      'server-timing',
      'ratelimit-remaining',
      'ratelimit-reset',
    ]);
    const kinds: [string, RequestInit][] = [
      ['/health', {}],
      ['/api/v1/nodes', { headers: { authorization: `Bearer ${token}` } }],
      ['/api/v1/nodes', { headers: { authorization: `Bearer ${token}`, 'if-none-match': '*' } }],
      ['/api/v1/nodes', { headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' } }],
      ['/api/v1/nodes', {}],
      ['/api/v1/nowhere', { headers: { authorization: `Bearer ${token}` } }],
      ['/api/v1/nodes?limit=0', { headers: { authorization: `Bearer ${token}` } }],
      ['/api/v1/nodes', { method: 'HEAD', headers: { authorization: `Bearer ${token}` } }],
    ];
    const answer = async (url: string, init: RequestInit) => {
      const res = await fetch(url, init);
      const headers: [string, string][] = [];
      res.headers.forEach((value, key) => {
        if (!perRequest.has(key)) headers.push([key, value]);
      });
      return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()).toString('base64') };
    };
    for (const [path, init] of kinds) {
      // Warmed first on the suite's server (the app is shared): both answers then come from one tier.
      await (await fetch(`${base}${path}`, init)).arrayBuffer();
      const fresh = getTestServer('api');
      await new Promise<void>((resolve) => fresh.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(fresh.address() as AddressInfo).port}${path}`;
        const expressApp = fresh.listeners('request')[0];
        const viaFramework = await answer(url, init);
        // The framework's app has been taken out of the server's path for reads.
        assert.deepEqual(
          fresh.listeners('request').map((l) => l.name),
          ['front'],
        );
        assert.notEqual(fresh.listeners('request')[0], expressApp);
        const inFront = await answer(url, init);
        assert.deepEqual(inFront, viaFramework, `${init.method ?? 'GET'} ${path}`);
        assert.notEqual(viaFramework.status, 0);
      } finally {
        await new Promise((resolve) => fresh.close(resolve));
      }
    }
  });

  test('health, an authenticated read, a problem, and a request body', async () => {
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    const nodes = await fetch(`${base}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(nodes.status, 200);
    assert.deepEqual(await nodes.json(), { data: [], next: null });
    assert.equal(nodes.headers.get('x-content-type-options'), 'nosniff');
    const missing = await fetch(`${base}/api/v1/nodes`);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
    // The framework has read the body already (req.rawBody): the app still gets it and validates it.
    const post = (body: unknown) =>
      fetch(`${base}/api/v1/anomalies/x/acknowledge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await post({ note: 'n' })).status, 404, 'a valid body, an unknown anomaly');
    const invalid = await post({ note: 5 });
    assert.equal(invalid.status, 400);
    assert.match(((await invalid.json()) as { detail: string }).detail, /note/);
  });

  test('an event stream opens and streams through the framework host', async () => {
    const abort = new AbortController();
    const res = await fetch(`${base}/api/v1/anomalies/stream`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      signal: abort.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /^: connected/);
    abort.abort();
    await reader.cancel().catch(() => {});
    // The host goes on serving after the client went away.
    assert.equal((await fetch(`${base}/health`)).status, 200);
  });

  test('an error thrown while handling a request (outside the framework domain) is a problem+json 500', async () => {
    // The fault: the table the acknowledge route writes is gone (PostgreSQL answers 42P01, which is
    // neither "unavailable" nor a problem the route expects), so the route throws.
    await db.sql`alter table anomalies rename to anomalies_moved_away`;
    try {
      const res = await fetch(`${base}/api/v1/anomalies/x/acknowledge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ note: 'n' }),
      });
      assert.equal(res.status, 500);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const problem = (await res.json()) as { status: number; type: string; instance: string };
      assert.equal(problem.status, 500);
      assert.equal(problem.type, '/docs/problems#internal-error');
      assert.equal(problem.instance, '/api/v1/anomalies/x/acknowledge');
      assert.ok(res.headers.get('x-request-id'), 'the request id that finds the error in the logs');
      // The host is still serving (the framework did not crash the instance).
      assert.equal((await fetch(`${base}/health`)).status, 200);
    } finally {
      await db.sql`alter table anomalies_moved_away rename to anomalies`;
    }
  });
});
