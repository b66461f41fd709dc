/**
 * The API gate (shared/api/middleware/api-gate) with keys verified against a real PostgreSQL: a live
 * key passes with its principal and RateLimit-* headers, a key over its limit gets a 429, bodies are
 * bounded only for requests that may carry one, a revoked key is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { createTestDatabase, peerGate, type TestDatabase } from '../../dev/peers/index.ts';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import { migrate } from '../../shared/adapters/postgres/migrations.ts';
import { KeyVerifier } from '../../shared/api/auth/authenticate.ts';
import { createKey } from '../../shared/api/auth/keys.ts';
import type { ApiEnv } from '../../shared/api/env.ts';
import { apiGate } from '../../shared/api/middleware/api-gate/index.ts';
import { ApiProblem, problemResponse } from '../../shared/api/problem.ts';
import { MemoryRateLimiter } from '../../shared/api/rate-limit.ts';
import { createLogger } from '../../shared/log.ts';

describe('the API gate with keys in PostgreSQL', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let keys: ReturnType<typeof postgresKeyStore>;

  before(async () => {
    db = await createTestDatabase();
    await migrate(db.sql);
    keys = postgresKeyStore(db.sql);
  });
  after(async () => {
    await db?.drop();
  });

  const newKey = async (rateLimitPerMinute: number) =>
    createKey(keys, { tenantId: 'gate', role: 'reader', name: 'gate test', rateLimitPerMinute });

  function gated() {
    const verifier = new KeyVerifier({ keys, ttlMs: 30_000, logger: createLogger({ level: 'error' }) });
    const app = new Hono<ApiEnv>();
    // What the request log does for the gate: the header record it adds RateLimit-* to.
    app.use('*', async (c, next) => {
      const out: Record<string, string> = {};
      c.set('out', out);
      await next();
      for (const [k, v] of Object.entries(out)) c.res.headers.set(k, v);
    });
    app.use('/api/*', apiGate({ verifier, limiter: new MemoryRateLimiter(), bodyLimitBytes: 64 }));
    app.get('/api/who', (c) =>
      c.json({ tenantId: c.get('tenantId'), keyId: c.get('principal').keyId, role: c.get('principal').role }),
    );
    app.post('/api/echo', async (c) => c.text(await c.req.text()));
    app.onError((err, c) =>
      err instanceof ApiProblem ? problemResponse(c, err) : c.text('unexpected', 500),
    );
    return { app, verifier };
  }

  test('a live key passes: its principal and tenant on the context, RateLimit-* on the answer', async () => {
    const { record, token } = await newKey(10);
    const { app } = gated();
    const res = await app.request('/api/who', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { tenantId: 'gate', keyId: record.id, role: 'reader' });
    assert.equal(res.headers.get('ratelimit-limit'), '10');
    assert.equal(res.headers.get('ratelimit-remaining'), '9');
    const again = await app.request('/api/who', { headers: { 'x-api-key': token } });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('ratelimit-remaining'), '8');
  });

  test('over its limit a key gets 429 with Retry-After; another key is counted apart', async () => {
    const { token } = await newKey(2);
    const other = await newKey(2);
    const { app } = gated();
    const ask = (t: string) => app.request('/api/who', { headers: { authorization: `Bearer ${t}` } });
    assert.deepEqual([(await ask(token)).status, (await ask(token)).status], [200, 200]);
    const refused = await ask(token);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal((await ask(other.token)).status, 200);
  });

  test('bodies are bounded for requests that may carry one', async () => {
    const { token } = await newKey(100);
    const { app } = gated();
    const auth = { authorization: `Bearer ${token}` };
    const small = await app.request('/api/echo', { method: 'POST', headers: auth, body: 'small' });
    assert.equal(small.status, 200);
    assert.equal(await small.text(), 'small');
    const large = await app.request('/api/echo', { method: 'POST', headers: auth, body: 'x'.repeat(65) });
    assert.equal(large.status, 413);
    assert.equal(large.headers.get('content-type'), 'application/problem+json');
  });

  test('a revoked key is refused once the instance forgets it; an unknown one is refused', async () => {
    const { record, token } = await newKey(100);
    const { app, verifier } = gated();
    const ask = () => app.request('/api/who', { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await ask()).status, 200);
    await keys.revoke(record.id);
    verifier.forget(record.id);
    assert.equal((await ask()).status, 401);
    const unknown = `wnm_zzzzzzzzzz_${'A'.repeat(43)}`;
    const res = await app.request('/api/who', { headers: { authorization: `Bearer ${unknown}` } });
    assert.equal(res.status, 401);
  });
});
