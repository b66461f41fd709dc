/**
 * What the gate answers before it needs a key store: requests without a usable key. Requests with
 * keys (verified against PostgreSQL), rate limits and body limits: test/api/api-gate.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { createLogger } from '../../../log.ts';
import { KeyVerifier } from '../../auth/authenticate.ts';
import type { ApiEnv } from '../../env.ts';
import { ApiProblem, problemResponse } from '../../problem.ts';
import { MemoryRateLimiter } from '../../rate-limit.ts';
import { apiGate } from './index.ts';

function gated() {
  const asked: string[] = [];
  // No key store stands behind it: each request here is refused before a key id could be looked up.
  const keys = {
    findLive: async (id: string): Promise<never> => {
      asked.push(id);
      throw new Error('the gate asked the key store');
    },
  };
  const verifier = new KeyVerifier({ keys, ttlMs: 30_000, logger: createLogger({ level: 'error' }) });
  const app = new Hono<ApiEnv>();
  app.use('*', async (c, next) => {
    c.set('out', {});
    await next();
  });
  app.use('/api/*', apiGate({ verifier, limiter: new MemoryRateLimiter(), bodyLimitBytes: 16 }));
  app.get('/api/v1/ping', (c) => c.text('pong'));
  app.onError((err, c) => (err instanceof ApiProblem ? problemResponse(c, err) : c.text('unexpected', 500)));
  return { app, asked };
}

for (const [what, headers] of [
  ['no key', {}],
  ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
  ['a malformed key', { authorization: 'Bearer wnm_short_secret' }],
  ['a malformed X-API-Key', { 'x-api-key': 'not-a-key' }],
  ['a JWT while no token issuer is configured', { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln' }],
] as const) {
  test(`${what}: 401 problem with a Bearer challenge, and no key store asked`, async () => {
    const { app, asked } = gated();
    const res = await app.request('/api/v1/ping', { headers });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="water-network-api"');
    assert.equal((await res.json()).status, 401);
    assert.deepEqual(asked, []);
  });
}

test('a body too large is refused only after the key (401 first, not 413)', async () => {
  const { app } = gated();
  const res = await app.request('/api/v1/ping', { method: 'POST', body: 'x'.repeat(100) });
  assert.equal(res.status, 401);
});

test('paths outside /api are not gated', async () => {
  const { app } = gated();
  const res = await app.request('/elsewhere');
  assert.equal(res.status, 404);
});
