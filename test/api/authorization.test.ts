/**
 * The authorization matrix: every endpoint × role × tenant → the expected status, over two tenants
 * whose networks were processed by real cycles. Another tenant's things are "not found" (never
 * "forbidden": existence does not leak), and lists never hold another tenant's items.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { peerGate } from '../../dev/peers/index.ts';
import type { Role } from '../../shared/api/auth/keys.ts';
import { type ApiWorld, createApiWorld, MAIN, OTHER, withKey } from './fixtures.ts';

interface Endpoint {
  method: 'GET' | 'POST';
  path: string;
  /** The least role allowed. */
  role: Role;
  body?: unknown;
}

const ROLES: Role[] = ['reader', 'operator', 'admin'];

describe('authorization matrix', await peerGate('postgres', 'redis'), () => {
  let w: ApiWorld;
  /** Endpoints over the main tenant's own things. */
  let own: Endpoint[];
  /** The same kinds of endpoints over the other tenant's things. */
  let foreign: Endpoint[];

  before(async () => {
    w = await createApiWorld({ redis: 'peer' });
    const ids = async (tenant: string) => {
      const nodes = tenant === MAIN ? w.mainNodes : w.otherNodes;
      const [district] = await w.db.sql<{ id: string }[]>`
        select id from districts where tenant_id = ${tenant} order by id limit 1`;
      const one = async (status: string) =>
        (
          await w.db.sql<{ id: string }[]>`
            select id from anomalies where tenant_id = ${tenant} and status = ${status} order by id limit 1`
        )[0]!.id;
      return {
        node: nodes.find((n) => n.includes('inlet')) ?? nodes[0]!,
        district: district!.id,
        acknowledged: await one('acknowledged'),
        resolved: await one('resolved'),
      };
    };
    const endpoints = (t: Awaited<ReturnType<typeof ids>>, scope: 'own' | 'foreign'): Endpoint[] => [
      ...(scope === 'own'
        ? ([
            { method: 'GET', path: '/api/v1/status', role: 'reader' },
            { method: 'GET', path: '/api/v1/nodes', role: 'reader' },
            { method: 'GET', path: '/api/v1/network/metrics?range=24h', role: 'reader' },
            { method: 'GET', path: '/api/v1/network/efficiency', role: 'reader' },
            { method: 'GET', path: '/api/v1/anomalies', role: 'reader' },
            { method: 'GET', path: '/api/v1/dashboard/summary', role: 'reader' },
            { method: 'GET', path: '/api/v1/admin/keys', role: 'admin' },
            {
              method: 'POST',
              path: '/api/v1/admin/keys',
              role: 'admin',
              body: { role: 'reader', name: 'matrix' },
            },
          ] as Endpoint[])
        : []),
      { method: 'GET', path: `/api/v1/nodes/${t.node}`, role: 'reader' },
      { method: 'GET', path: `/api/v1/nodes/${t.node}/metrics?range=24h`, role: 'reader' },
      { method: 'GET', path: `/api/v1/nodes/${t.node}/history?resolution=1h`, role: 'reader' },
      { method: 'GET', path: `/api/v1/nodes/${t.node}/readings`, role: 'reader' },
      { method: 'GET', path: `/api/v1/network/efficiency?district=${t.district}`, role: 'reader' },
      { method: 'GET', path: `/api/v1/predictions/${t.district}`, role: 'reader' },
      { method: 'GET', path: `/api/v1/quality/${t.node}`, role: 'reader' },
      { method: 'GET', path: `/api/v1/anomalies/${t.acknowledged}`, role: 'reader' },
      // Repeating a transition that already happened is a 200 that changes nothing.
      { method: 'POST', path: `/api/v1/anomalies/${t.acknowledged}/acknowledge`, role: 'operator', body: {} },
      { method: 'POST', path: `/api/v1/anomalies/${t.resolved}/resolve`, role: 'operator', body: {} },
    ];
    own = endpoints(await ids(MAIN), 'own');
    foreign = endpoints(await ids(OTHER), 'foreign');
  });
  after(() => w?.close());

  const call = (token: string | null, e: Endpoint) => {
    const init: RequestInit = {
      method: e.method,
      ...(e.body === undefined
        ? {}
        : { body: JSON.stringify(e.body), headers: { 'content-type': 'application/json' } }),
    };
    return w.app().request(e.path, token ? withKey(token, init) : init);
  };

  test('own tenant: allowed roles get 2xx, lesser roles 403', async () => {
    for (const e of own) {
      for (const role of ROLES) {
        const res = await call(w.tokens[role], e);
        const allowed = ROLES.indexOf(role) >= ROLES.indexOf(e.role);
        const expected = allowed ? (e.method === 'POST' && e.path.endsWith('/admin/keys') ? 201 : 200) : 403;
        assert.equal(res.status, expected, `${role} ${e.method} ${e.path}: ${await res.text()}`);
      }
    }
  });

  test('another tenant’s nodes, districts, forecasts and anomalies are 404 for every role (403 only where the role alone forbids)', async () => {
    for (const e of foreign) {
      for (const role of ROLES) {
        const res = await call(w.tokens[role], e);
        const allowed = ROLES.indexOf(role) >= ROLES.indexOf(e.role);
        assert.equal(res.status, allowed ? 404 : 403, `${role} of ${MAIN} ${e.method} ${e.path}`);
      }
    }
    // And the other way round, with the other tenant's keys on the main tenant's things.
    for (const e of own.filter((x) => /\/(nodes|predictions|quality|anomalies)\/[^/?]+/.test(x.path))) {
      const res = await call(w.otherTokens.operator, e);
      assert.equal(res.status, 404, `operator of ${OTHER} ${e.method} ${e.path}`);
    }
  });

  test('no key, a malformed key, an unknown key: 401 on every endpoint', async () => {
    const bogus = `wnm_${'a'.repeat(10)}_${'B'.repeat(43)}`;
    for (const e of [...own, ...foreign]) {
      for (const token of [null, 'not-a-key', bogus]) {
        const res = await call(token, e);
        assert.equal(res.status, 401, `${token} ${e.method} ${e.path}`);
      }
    }
    const wrongScheme = await w
      .app()
      .request('/api/v1/nodes', { headers: { authorization: `Basic ${w.tokens.admin}` } });
    assert.equal(wrongScheme.status, 401);
    const header = await w.app().request('/api/v1/nodes', { headers: { 'x-api-key': w.tokens.reader } });
    assert.equal(header.status, 200, 'X-API-Key works too');
  });

  test('lists and summaries only ever hold the caller’s tenant', async () => {
    for (const [tokens, nodes, tenant] of [
      [w.tokens, w.mainNodes, MAIN],
      [w.otherTokens, w.otherNodes, OTHER],
    ] as const) {
      const app = w.app();
      const list = (await (await app.request('/api/v1/nodes?limit=1000', withKey(tokens.reader))).json()) as {
        data: { id: string }[];
      };
      assert.deepEqual(
        list.data.map((n) => n.id),
        nodes,
      );
      const anomalies = (await (
        await app.request(
          '/api/v1/anomalies?limit=1000&status=open,acknowledged,resolved,pending',
          withKey(tokens.reader),
        )
      ).json()) as {
        data: { id: string; nodeId: string }[];
      };
      const [count] = await w.db.sql<
        { n: number }[]
      >`select count(*)::int4 as n from anomalies where tenant_id = ${tenant}`;
      assert.equal(anomalies.data.length, count!.n);
      assert.ok(anomalies.data.every((a) => nodes.includes(a.nodeId)));
      const dashboard = (await (
        await app.request('/api/v1/dashboard/summary', withKey(tokens.reader))
      ).json()) as {
        tenantId: string;
        nodes: { total: number };
      };
      assert.equal(dashboard.tenantId, tenant);
      assert.equal(dashboard.nodes.total, nodes.length);
      const keys = (await (await app.request('/api/v1/admin/keys', withKey(tokens.admin))).json()) as {
        data: { tenantId: string }[];
      };
      assert.ok(keys.data.length > 0 && keys.data.every((k) => k.tenantId === tenant));
      const efficiency = (await (
        await app.request('/api/v1/network/efficiency', withKey(tokens.reader))
      ).json()) as {
        districts: { districtId: string }[];
      };
      const districts = (
        await w.db.sql<{ id: string }[]>`select id from districts where tenant_id = ${tenant}`
      ).map((d) => d.id);
      assert.ok(efficiency.districts.every((d) => districts.includes(d.districtId)));
    }
  });
});
