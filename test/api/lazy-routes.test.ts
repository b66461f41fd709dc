/**
 * Route modules load on first use (shared/api/lazy-routes.ts, issue 14's cold start), and nothing a
 * client sees changes: the app whose resources are stand-ins until their first request answers
 * exactly as the app with every router mounted at creation (`routes: 'eager'`, how the API was built
 * before) — the same /openapi.json bytes, and for every operation of the document the same status,
 * body and Allow / Content-Type for valid and invalid parameters, wrong methods, refused roles and
 * invalid bodies. And the generated manifest the stand-ins come from matches the routers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { peerGate } from '../../dev/peers/index.ts';
import { MANIFEST_FILE, routeManifest } from '../../scripts/route-manifest.ts';
import { createApp } from '../../shared/api/app.ts';
import { importAllRoutes, importedRouteModules } from '../../shared/api/lazy-routes.ts';
import { type ApiWorld, createApiWorld, withKey } from './fixtures.ts';

type App = ReturnType<typeof createApp>;
interface Doc {
  paths: Record<string, Record<string, unknown>>;
}

/** What a client sees of an answer, request-specific headers aside. */
async function seen(app: App, path: string, init: RequestInit) {
  const res = await app.request(path, init);
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    allow: res.headers.get('allow'),
    tier: res.headers.get('x-cache-tier'),
    etag: res.headers.get('etag'),
    // /status reports this instance's latencies and the probes' round trips: its shape is compared.
    body:
      path.startsWith('/api/v1/status') && res.status === 200
        ? Object.keys(await res.json()).join()
        : await res.text(),
  };
}

describe('route modules load on first use, with the same answers', await peerGate('postgres'), () => {
  let w: ApiWorld;
  before(async () => {
    w = await createApiWorld({ redis: 'none' });
  });
  after(() => w?.close());

  test('starting the app and answering /health imports no route module; a first request only its own', async () => {
    const app = w.app();
    assert.equal((await app.request('/health')).status, 200);
    assert.equal(importedRouteModules(), 0, 'route modules imported by /health');
    const res = await app.request(`/api/v1/nodes/${w.mainNodes[0]}`, withKey(w.tokens.reader));
    assert.equal(res.status, 200);
    assert.equal(importedRouteModules(), 1, 'only the nodes module');
  });

  test('the committed route manifest is what the routers give Hono', async () => {
    assert.equal(
      readFileSync(MANIFEST_FILE, 'utf8'),
      await routeManifest(),
      'shared/api/route-manifest.ts is out of date: run npm run routes:manifest',
    );
  });

  test('the lazy app answers every operation as the eager app does', async () => {
    await importAllRoutes();
    const eager = createApp(w.main.api, { routes: 'eager' });
    const lazy = w.app();
    const docEager = await eager.request('/openapi.json');
    const docLazy = await lazy.request('/openapi.json');
    const text = await docEager.text();
    assert.equal(await docLazy.text(), text, '/openapi.json differs');
    assert.equal(docLazy.headers.get('etag'), docEager.headers.get('etag'));
    const doc = JSON.parse(text) as Doc;

    const node = w.mainNodes[0]!;
    const values = (path: string, id: string) => path.replace(/\{id\}/g, id).replace(/\{deliveryId\}/g, '1');
    const requests: [string, RequestInit][] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      // The anomaly stream never ends (server-sent events): compared by its refusals only.
      if (path.endsWith('/stream')) continue;
      for (const method of Object.keys(item)) {
        const verb = method.toUpperCase();
        for (const id of [node, 'bad id!']) {
          const url = values(path, encodeURIComponent(id));
          if (verb === 'GET') {
            for (const query of ['', '?range=bad', '?limit=0x10']) {
              requests.push([url + query, withKey(w.tokens.reader)]);
            }
            requests.push([url, withKey(w.tokens.admin, { method: 'PUT' })]);
          } else {
            // Writes: refused roles, no body, invalid bodies (nothing valid is written).
            for (const token of [w.tokens.reader, w.tokens.admin]) {
              for (const body of [undefined, '{"note": 5}']) {
                const headers = { 'content-type': 'application/json' };
                requests.push([url, withKey(token, { method: verb, headers, ...(body ? { body } : {}) })]);
              }
            }
          }
        }
      }
    }
    requests.push(['/api/v1/no-such-resource', withKey(w.tokens.reader)]);
    requests.push([`/api/v1/nodes/${node}`, {}]);
    requests.push(['/api/v1/admin/keys/a/b', withKey(w.tokens.reader)]);
    requests.push(['/api/v1/readings/x', withKey(w.tokens.reader, { method: 'POST' })]);
    assert.ok(requests.length > 100, `only ${requests.length} requests`);

    const differences: string[] = [];
    const statuses = new Set<number>();
    for (const [path, init] of requests) {
      const a = await seen(eager, path, init);
      statuses.add(a.status);
      const b = await seen(lazy, path, init);
      try {
        assert.deepEqual(b, a);
      } catch {
        differences.push(`${init.method ?? 'GET'} ${path}: eager ${a.status} lazy ${b.status}`.slice(0, 300));
      }
    }
    assert.deepEqual(differences.slice(0, 5), [], `${differences.length} answers differ`);
    // The requests reached validation and the handlers (not only the gate).
    for (const s of [200, 400, 401, 403, 404, 405])
      assert.ok(statuses.has(s), `no ${s} among ${[...statuses]}`);
  });
});
