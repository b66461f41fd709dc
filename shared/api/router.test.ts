import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRoute, z } from '@hono/zod-openapi';
import { fastGet, newRouter } from './router.ts';

const Params = z.object({ id: z.string().regex(/^[a-z0-9]+$/) });
const Query = z.object({ range: z.enum(['1h', '24h']).default('24h') });
const route = createRoute({
  method: 'get',
  path: '/things/{id}',
  request: { params: Params, query: Query },
  responses: { 200: { description: 'ok' } },
});

function app() {
  const calls: unknown[] = [];
  const a = newRouter();
  fastGet(a, route, { params: Params, query: Query }, (c, input) => {
    calls.push(input);
    return c.json(input);
  });
  return { a, calls };
}

test('fastGet: a repeated input is validated once and answered the same; refusals are never kept', async () => {
  const { a, calls } = app();
  const first = await a.request('/things/n1?range=1h');
  assert.deepEqual(await first.json(), { param: { id: 'n1' }, query: { range: '1h' } });
  const again = await a.request('/things/n1?range=1h');
  assert.deepEqual(await again.json(), { param: { id: 'n1' }, query: { range: '1h' } });
  assert.equal(calls[0], calls[1], 'the same validated (frozen) input');
  assert.ok(Object.isFrozen(calls[0]));
  // The default applies, and is kept apart from an explicit value.
  assert.deepEqual(await (await a.request('/things/n1')).json(), {
    param: { id: 'n1' },
    query: { range: '24h' },
  });
  // Refused every time, before and after valid inputs that look alike.
  for (let i = 0; i < 2; i++) {
    assert.equal((await a.request('/things/n1?range=7d')).status, 400);
    assert.equal((await a.request('/things/N1?range=1h')).status, 400);
    assert.equal((await a.request('/things/n1%001h?range=1h')).status, 400);
  }
});
