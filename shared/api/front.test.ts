/**
 * The front (front.ts) on a plain router: each route is the one handler Hono matches, so a request
 * whose steps and route answer without a promise is answered without one by `app.fetch`; the steps
 * run once per request, in order, the gate only on gated paths, before composed routes and the
 * not-found handler too; errors become responses the steps before them see, as in Hono's compose.
 * The whole API app behind it (keys, limits, 304, tenants): test/api/front.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Context } from 'hono';
import type { ApiEnv } from './env.ts';
import { afterNext, type FrontStep, frontEveryRoute, honoStep, runFront } from './front.ts';
import { newRouter } from './router.ts';

function built(seen: string[] = []) {
  const step =
    (name: string): FrontStep<ApiEnv> =>
    (c, next) => {
      seen.push(`${name}>`);
      if (c.req.header('x-refuse') === name) throw new Error(`refused by ${name}`);
      return afterNext(next(), () => {
        seen.push(`<${name}:${c.res.status}`);
      });
    };
  const inner = newRouter();
  inner.get('/health', (c) => c.text('ok'));
  inner.get('/api/v1/things/:id', (c) => c.json({ id: c.req.param('id') }));
  inner.get('/api/v1/slow', async (c) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return c.text('slow');
  });
  inner.get('/api/v1/fails', () => {
    throw new Error('route failed');
  });
  // A composed match: a middleware of the route's own, then the route.
  inner.use('/api/v1/composed', async (_c, next) => {
    seen.push('route-middleware');
    await next();
  });
  inner.get('/api/v1/composed', (c) => c.text('composed'));
  inner.get('/api/v1/falls-through', (_c, next) => next() as never);
  const app = frontEveryRoute<ApiEnv>(inner, {
    all: [step('log')],
    gate: [step('gate')],
    gated: (path) => path.startsWith('/api/'),
    onError: (err: Error, c: Context) => c.text(`error: ${err.message}`, 500),
    notFound: (c) => c.text(`no ${c.req.path}`, 404),
  });
  return { app, seen };
}

test('a route whose steps answer without a promise is answered by app.fetch as a Response', async () => {
  const { app, seen } = built();
  const res = app.fetch(new Request('http://localhost/api/v1/things/a1'));
  assert.ok(res instanceof Response, 'a Response, not a promise');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { id: 'a1' });
  assert.deepEqual(seen, ['log>', 'gate>', '<gate:200', '<log:200']);
});

test('the gate only on gated paths; a route that waits is answered through a promise, after the steps', async () => {
  const { app, seen } = built();
  const health = app.fetch(new Request('http://localhost/health'));
  assert.ok(health instanceof Response);
  assert.deepEqual(seen.splice(0), ['log>', '<log:200']);
  const slow = app.fetch(new Request('http://localhost/api/v1/slow'));
  assert.ok(slow instanceof Promise);
  assert.equal(await (await slow).text(), 'slow');
  assert.deepEqual(seen, ['log>', 'gate>', '<gate:200', '<log:200']);
});

test('the steps run once before a composed match, and once before the not-found handler', async () => {
  const { app, seen } = built();
  assert.equal(await (await app.request('/api/v1/composed')).text(), 'composed');
  assert.deepEqual(seen.splice(0), ['log>', 'gate>', 'route-middleware', '<gate:200', '<log:200']);
  const missing = await app.request('/api/v1/nowhere');
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), 'no /api/v1/nowhere');
  assert.deepEqual(seen.splice(0), ['log>', 'gate>', '<gate:404', '<log:404']);
  // A route that passes the request on reaches the not-found handler behind the same front.
  assert.equal((await app.request('/api/v1/falls-through')).status, 404);
  assert.deepEqual(seen.splice(0), ['log>', 'gate>', '<gate:404', '<log:404']);
  // Outside the gated paths, not-found requests skip the gate.
  assert.equal((await app.request('/elsewhere')).status, 404);
  assert.deepEqual(seen, ['log>', '<log:404']);
});

test('an error at a step or in the route is answered by the error handler, and the steps before see it', async () => {
  const { app, seen } = built();
  const refused = app.fetch(
    new Request('http://localhost/api/v1/things/a1', { headers: { 'x-refuse': 'gate' } }),
  );
  assert.ok(refused instanceof Response);
  assert.equal(refused.status, 500);
  assert.equal(await refused.text(), 'error: refused by gate');
  assert.deepEqual(seen.splice(0), ['log>', 'gate>', '<log:500']);
  const failed = await app.request('/api/v1/fails');
  assert.equal(await failed.text(), 'error: route failed');
  assert.deepEqual(seen, ['log>', 'gate>', '<gate:500', '<log:500']);
});

test('runFront: next() twice is refused; a Hono middleware step (always a promise) works as a step', async () => {
  const c = { res: undefined, finalized: false } as unknown as Context;
  assert.throws(
    () =>
      runFront(
        c,
        [
          (_c, next) => {
            next();
            next();
          },
        ],
        () => new Response('x'),
        (err) => {
          throw err;
        },
      ),
    /next\(\) called multiple times/,
  );
  const inner = newRouter();
  inner.get('/x', (c) => c.text('x'));
  const withHono = frontEveryRoute<ApiEnv>(inner, {
    all: [
      honoStep<ApiEnv>(async (c, next) => {
        await next();
        c.res.headers.set('x-after', 'yes');
      }),
    ],
    gate: [],
    gated: () => false,
    onError: (err: Error, c: Context) => c.text(err.message, 500),
    notFound: (c) => c.text('none', 404),
  });
  const res = withHono.fetch(new Request('http://localhost/x'));
  assert.ok(res instanceof Promise);
  assert.equal((await res).headers.get('x-after'), 'yes');
  assert.equal(await (await res).text(), 'x');
});
