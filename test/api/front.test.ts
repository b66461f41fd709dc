/**
 * The cached read as deployed keys, limits and tiers it (real PostgreSQL, Redis through the Upstash
 * protocol): the route is the one handler Hono matches (shared/api/front.ts), so a memory hit with a
 * verified key and leased tokens is answered by `app.fetch` as a Response, not a promise — and every
 * gate still applies on that path: 401 without a key, 429 over the key's limit, 304 on If-None-Match,
 * each tenant its own entries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { peerGate } from '../../dev/peers/index.ts';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import { createKey } from '../../shared/api/auth/keys.ts';
import { type ApiWorld, createApiWorld, withKey } from './fixtures.ts';

type App = ReturnType<ApiWorld['app']>;

/** `app.fetch` as the host calls it: the value itself, promise or not. */
const fetchNow = (app: App, path: string, init: RequestInit = {}) =>
  app.fetch(new Request(`http://localhost${path}`, init));

describe('a memory hit behind every gate, without a promise', await peerGate('postgres', 'redis'), () => {
  let w: ApiWorld;
  before(async () => {
    w = await createApiWorld({ redis: 'peer' });
  });
  after(() => w?.close());

  const metrics = (node: string) => `/api/v1/nodes/${node}/metrics?range=24h`;

  test('a memory hit is answered as a Response, with the front headers; a miss through a promise', async () => {
    const app = w.app();
    const path = metrics(w.mainNodes[0]!);
    const first = fetchNow(app, path, withKey(w.tokens.reader));
    assert.ok(first instanceof Promise, 'the first read waits for the key, the lease and the tiers');
    assert.equal((await first).status, 200);
    const hit = fetchNow(app, path, withKey(w.tokens.reader));
    assert.ok(hit instanceof Response, 'a memory hit is a Response, not a promise');
    assert.equal(hit.status, 200);
    assert.equal(hit.headers.get('x-cache-tier'), 'memory');
    assert.match(hit.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(hit.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(Number(hit.headers.get('ratelimit-remaining')) > 0);
    assert.equal((await hit.json()).nodeId, w.mainNodes[0]);
  });

  test('without a key, or with a wrong one, the same path is a 401 problem', async () => {
    const app = w.app();
    const path = metrics(w.mainNodes[0]!);
    assert.equal((await app.request(path, withKey(w.tokens.reader))).status, 200);
    for (const init of [{}, withKey(`${w.tokens.reader.slice(0, -4)}xxxx`)]) {
      const res = await app.request(path, init);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.ok(res.headers.get('x-request-id'), 'the request log ran');
      assert.equal(res.headers.get('x-cache-tier'), null);
    }
  });

  test('a 404 under /api still needs a key (the gate runs before the not-found handler)', async () => {
    const app = w.app();
    assert.equal((await app.request('/api/v1/nowhere')).status, 401);
    assert.equal((await app.request('/api/v1/nowhere', withKey(w.tokens.reader))).status, 404);
    const wrongMethod = await app.request(metrics(w.mainNodes[0]!), {
      ...withKey(w.tokens.reader),
      method: 'DELETE',
    });
    assert.equal(wrongMethod.status, 405);
    assert.ok(wrongMethod.headers.get('x-request-id'));
  });

  test('over its limit a key gets 429 on a memory hit; another key is counted apart', async () => {
    const app = w.app();
    const { token } = await createKey(postgresKeyStore(w.db.sql), {
      tenantId: 'default',
      role: 'reader',
      name: 'front limit test',
      rateLimitPerMinute: 3,
    });
    const path = metrics(w.mainNodes[1]!);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await app.request(path, withKey(token))).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.deepEqual(statuses.slice(3), [429, 429]);
    const refused = await app.request(path, withKey(token));
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(refused.headers.get('ratelimit-remaining'), '0');
    // The entry is in memory (the first read put it there): the other key is answered from it.
    const other = fetchNow(app, path, withKey(w.tokens.reader));
    const res = other instanceof Promise ? await other : other;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache-tier'), 'memory');
  });

  test('If-None-Match with the ETag: a 304 without a promise, with the same headers and no body', async () => {
    const app = w.app();
    const path = metrics(w.mainNodes[2]!);
    await app.request(path, withKey(w.tokens.reader));
    const full = await app.request(path, withKey(w.tokens.reader));
    const etag = full.headers.get('etag')!;
    assert.ok(etag);
    const notModified = fetchNow(app, path, withKey(w.tokens.reader, { headers: { 'if-none-match': etag } }));
    assert.ok(notModified instanceof Response);
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('etag'), etag);
    assert.equal(await notModified.text(), '');
    const changed = fetchNow(
      app,
      path,
      withKey(w.tokens.reader, { headers: { 'if-none-match': '"other"' } }),
    );
    assert.equal((changed instanceof Promise ? await changed : changed).status, 200);
  });

  test("a tenant never gets another tenant's memory entry", async () => {
    const app = w.app();
    const path = metrics(w.mainNodes[0]!);
    await app.request(path, withKey(w.tokens.reader));
    const hit = fetchNow(app, path, withKey(w.tokens.reader));
    assert.ok(hit instanceof Response && hit.status === 200);
    // The other tenant asks for the same URL: its own (absent) node, not the cached answer.
    const other = await app.request(path, withKey(w.otherTokens.reader));
    assert.equal(other.status, 404);
    assert.equal(other.headers.get('content-type'), 'application/problem+json');
    // And its own node is its own answer.
    const own = await app.request(metrics(w.otherNodes[0]!), withKey(w.otherTokens.reader));
    assert.equal(own.status, 200);
    assert.equal((await own.json()).nodeId, w.otherNodes[0]);
  });
});
