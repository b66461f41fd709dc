/**
 * The read path when tiers go down, with real peers: Redis behind a private Upstash server this test
 * stops, and PostgreSQL behind a TCP proxy this test closes (connections reset, new ones refused —
 * what the API sees when the database goes away).
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { peerGate } from '../../dev/peers/index.ts';
import { postgresApiStores } from '../../shared/adapters/postgres/api-stores.ts';
import { connect } from '../../shared/adapters/postgres/client.ts';
import { type ApiWorld, createApiWorld, withKey } from './fixtures.ts';

/** A TCP proxy to PostgreSQL that can be taken down and brought back on the same port. */
async function startProxy(target: { host: string; port: number }) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = 0;
  const up = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = tcpConnect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  await up();
  return {
    get port() {
      return port;
    },
    up,
    async down() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    },
  };
}

describe('tiers going down', await peerGate('postgres', 'redis'), () => {
  let w: ApiWorld;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let apiSql: ReturnType<typeof connect>;

  before(async () => {
    w = await createApiWorld({ redis: 'private' });
    const url = new URL(w.db.url);
    proxy = await startProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.host = `127.0.0.1:${proxy.port}`;
    apiSql = connect(url.toString(), { max: 2 });
  });
  after(async () => {
    await apiSql?.end({ timeout: 1 }).catch(() => {});
    await proxy?.down();
    await w?.close();
  });

  // Every request asks the tiers below memory, so outages show at once; a short breaker cool-down.
  const revalidateAlways = { memoryFreshMs: 0, staleWhileRevalidateMs: 0, breakerCooldownMs: 100 };

  test('Redis stopped: PostgreSQL answers, then Redis answers again once it is back', async () => {
    const node = w.mainNodes[0]!;
    const path = `/api/v1/nodes/${node}/metrics?range=24h`;
    const app = w.app(revalidateAlways);
    const before = await app.request(path, withKey(w.tokens.reader));
    assert.equal(before.headers.get('x-cache-tier'), 'redis');
    const body = await before.text();

    await w.upstash!.stop();
    try {
      const res = await app.request(path, withKey(w.tokens.reader));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-cache-tier'), 'postgres');
      assert.match(res.headers.get('server-timing') ?? '', /redis;desc="error".*postgres;desc="hit"/);
      assert.equal(res.headers.get('x-stale'), null);
      assert.deepEqual(await res.json(), JSON.parse(body), 'the same value (jsonb orders keys its own way)');
      const status = (await (await app.request('/api/v1/status', withKey(w.tokens.reader))).json()) as {
        status: string;
        tiers: { hot: { ok: boolean }; postgres: { ok: boolean } };
      };
      assert.equal(status.status, 'degraded');
      assert.equal(status.tiers.hot.ok, false);
      assert.equal(status.tiers.postgres.ok, true);
    } finally {
      await w.upstash!.start();
    }
    const back = await app.request(path, withKey(w.tokens.reader));
    assert.equal(back.headers.get('x-cache-tier'), 'redis');
  });

  test('PostgreSQL down: Redis answers what it holds, memory answers the rest marked stale, 503 for the never-seen', async () => {
    const app = w.app(revalidateAlways, { stores: postgresApiStores(apiSql) });
    const node = w.mainNodes[1]!;
    const metrics = `/api/v1/nodes/${node}/metrics?range=24h`;
    const history = `/api/v1/nodes/${node}/history?resolution=1h`;
    const anomalies = '/api/v1/anomalies?status=open';
    const seen = new Map<string, string>();
    for (const path of [metrics, history, anomalies]) {
      const res = await app.request(path, withKey(w.tokens.reader));
      assert.equal(res.status, 200, path);
      seen.set(path, await res.text());
    }

    await proxy.down();
    try {
      const fromRedis = await app.request(metrics, withKey(w.tokens.reader));
      assert.equal(fromRedis.status, 200);
      assert.equal(fromRedis.headers.get('x-cache-tier'), 'redis');
      assert.equal(fromRedis.headers.get('x-stale'), null);

      for (const path of [history, anomalies]) {
        const res = await app.request(path, withKey(w.tokens.reader));
        assert.equal(res.status, 200, path);
        assert.equal(res.headers.get('x-cache-tier'), 'memory');
        assert.equal(res.headers.get('x-stale'), 'true');
        assert.match(res.headers.get('warning') ?? '', /^110 /);
        assert.equal(res.headers.get('cache-control'), 'private, no-cache');
        assert.equal(await res.text(), seen.get(path));
      }

      const never = await app.request(
        `/api/v1/nodes/${node}/history?resolution=1d`,
        withKey(w.tokens.reader),
      );
      assert.equal(never.status, 503);
      assert.ok(Number(never.headers.get('retry-after')) > 0);
      assert.equal(never.headers.get('content-type'), 'application/problem+json');

      const status = (await (await app.request('/api/v1/status', withKey(w.tokens.reader))).json()) as {
        status: string;
        tiers: { postgres: { ok: boolean } };
        stale: boolean;
      };
      assert.equal(status.status, 'degraded');
      assert.equal(status.tiers.postgres.ok, false);
    } finally {
      await proxy.up();
    }
    // PostgreSQL's breaker skips it until its cool-down ends and a probe succeeds: poll, bounded.
    let recovered = await app.request(history, withKey(w.tokens.reader));
    for (const deadline = Date.now() + 10_000; recovered.headers.get('x-cache-tier') !== 'postgres'; ) {
      assert.ok(Date.now() < deadline, 'PostgreSQL answers again after its cool-down');
      await new Promise((r) => setTimeout(r, 50));
      recovered = await app.request(history, withKey(w.tokens.reader));
    }
    assert.equal(recovered.headers.get('x-stale'), null);
  });

  test('PostgreSQL and Redis down: memory answers stale, and only what nothing holds is a 503', async () => {
    const app = w.app(revalidateAlways, { stores: postgresApiStores(apiSql) });
    const node = w.mainNodes[2]!;
    const metrics = `/api/v1/nodes/${node}/metrics?range=6h`;
    const warmed = await app.request(metrics, withKey(w.tokens.reader));
    assert.equal(warmed.status, 200);
    const body = await warmed.text();

    await proxy.down();
    await w.upstash!.stop();
    try {
      const stale = await app.request(metrics, withKey(w.tokens.reader));
      assert.equal(stale.status, 200);
      assert.equal(stale.headers.get('x-cache-tier'), 'memory');
      assert.equal(stale.headers.get('x-stale'), 'true');
      assert.equal(await stale.text(), body);

      for (const path of [`/api/v1/nodes/${w.mainNodes[3]}/metrics?range=6h`, '/api/v1/dashboard/summary']) {
        const res = await app.request(path, withKey(w.tokens.reader));
        assert.equal(res.status, 503, path);
        assert.ok(Number(res.headers.get('retry-after')) > 0);
        const problem = (await res.json()) as { status: number; title: string };
        assert.equal(problem.status, 503);
      }
      const status = await app.request('/api/v1/status', withKey(w.tokens.reader));
      assert.equal(status.status, 200, '/status still answers');
      assert.equal(((await status.json()) as { status: string }).status, 'down');
    } finally {
      await w.upstash!.start();
      await proxy.up();
    }
  });

  test('a key never verified cannot be checked while PostgreSQL is down: 503, not 401', async () => {
    const app = w.app(revalidateAlways, { stores: postgresApiStores(apiSql) });
    await proxy.down();
    try {
      const res = await app.request('/api/v1/nodes', withKey(w.tokens.operator));
      assert.equal(res.status, 503);
      assert.ok(res.headers.get('retry-after'));
    } finally {
      await proxy.up();
    }
  });
});
