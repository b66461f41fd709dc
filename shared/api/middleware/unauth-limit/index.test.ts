import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import type { ApiEnv } from '../../env.ts';
import { ApiProblem, problemResponse } from '../../problem.ts';
import { clientAddress, unauthLimit } from './index.ts';

function app(perMinute: number) {
  const seen: string[] = [];
  const a = new Hono<ApiEnv>();
  a.use('*', async (c, next) => {
    c.set('out', {});
    await next();
  });
  a.use('/api/*', unauthLimit({ perMinute }));
  // Stands in for the API gate: a request with the right key passes, any other gets a 401.
  a.get('/api/v1/ping', (c) => {
    seen.push(c.req.header('x-forwarded-for') ?? '');
    if (c.req.header('authorization') !== 'Bearer good') throw new ApiProblem(401, 'Unauthorized');
    return c.text('pong');
  });
  a.onError((err, c) => (err instanceof ApiProblem ? problemResponse(c, err) : c.text('unexpected', 500)));
  return { a, seen };
}

const get = (a: Hono<ApiEnv>, ip: string, auth?: string) =>
  a.request('/api/v1/ping', {
    headers: { 'x-forwarded-for': ip, ...(auth ? { authorization: auth } : {}) },
  });

test('after N 401s an address gets 429 with Retry-After before reaching the key check; others are not affected', async () => {
  const { a, seen } = app(3);
  for (let i = 0; i < 3; i++) assert.equal((await get(a, '203.0.113.7')).status, 401);
  const limited = await get(a, '203.0.113.7');
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.equal(limited.headers.get('content-type'), 'application/problem+json');
  assert.equal(seen.length, 3, 'the fourth request never reached the key check');
  // Another address, and a client with a good key from a fresh address, are served.
  assert.equal((await get(a, '198.51.100.1')).status, 401);
  assert.equal((await get(a, '198.51.100.2', 'Bearer good')).status, 200);
});

test('authenticated requests are not counted', async () => {
  const { a } = app(2);
  for (let i = 0; i < 10; i++) assert.equal((await get(a, '192.0.2.9', 'Bearer good')).status, 200);
});

test('the client is the entry the front end appended, not what the client put first', () => {
  assert.equal(clientAddress('6.6.6.6, 203.0.113.7', 1), '203.0.113.7');
  assert.equal(clientAddress('203.0.113.7', 1), '203.0.113.7');
  assert.equal(clientAddress('1.1.1.1, 203.0.113.7, 35.191.0.1', 2), '203.0.113.7');
  assert.equal(clientAddress(undefined, 1), 'unknown');
  // Spoofed first entries don't dodge the limit: the appended address is the same.
  assert.equal(clientAddress('9.9.9.9, 203.0.113.7', 1), clientAddress('8.8.8.8, 203.0.113.7', 1));
});
