/**
 * The API under faults, with real peers behind the fault proxy (dev/fault-proxy.ts): PostgreSQL, and
 * Redis behind the Upstash REST server. Each test asserts that the fault happened (the proxy counts
 * refused and cut connections; the breaker logs its transition), that every request completes (a
 * 10 s hang detector, not a timing assertion) with a correct, stale-marked or 503 answer, that a dead
 * tier is skipped (Server-Timing says "skipped"), that the outage is logged once, not per request,
 * and that everything answers 200 from the recovered tier afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FaultProxy, startFaultProxy } from '../../dev/fault-proxy.ts';
import { peerGate, upstashPeer } from '../../dev/peers/index.ts';
import { UpstashCache } from '../../shared/adapters/cache/upstash.ts';
import { postgresApiStores } from '../../shared/adapters/postgres/api-stores.ts';
import { connect, type Sql } from '../../shared/adapters/postgres/client.ts';
import { type ApiSettings, DEFAULT_API_SETTINGS } from '../../shared/api/settings.ts';
import { apiTierBreakers } from '../../shared/api/tiers.ts';
import { createLogger } from '../../shared/log.ts';
import { createRateLimiter } from '../../shared/wiring/api.ts';
import { type ApiWorld, createApiWorld, withKey } from './fixtures.ts';

const HANG_MS = 10_000;

interface Line {
  severity: string;
  event?: string;
  tier?: string;
}

/** Polls `probe` until it returns something, within a bounded deadline. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the API under faults', await peerGate('postgres', 'redis'), () => {
  let w: ApiWorld;
  let pgProxy: FaultProxy;
  let redisProxy: FaultProxy;
  const pools: Sql[] = [];

  before(async () => {
    w = await createApiWorld({ redis: 'peer' });
    const pg = new URL(w.db.url);
    pgProxy = await startFaultProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    const upstash = new URL(upstashPeer().url);
    redisProxy = await startFaultProxy({ host: upstash.hostname, port: Number(upstash.port) });
  });
  after(async () => {
    for (const sql of pools) await sql.end({ timeout: 1 }).catch(() => {});
    await pgProxy?.close();
    await redisProxy?.close();
    await w?.close();
  });

  /**
   * An app whose PostgreSQL and Redis are reached through the proxies, with the deployed timeouts,
   * its own breakers (short cool-down), the Upstash rate limiter, and its log lines captured.
   */
  async function faultyApp(overrides: Partial<ApiSettings> = {}) {
    const lines: Line[] = [];
    const logger = createLogger({ level: 'info', sink: (l) => lines.push(JSON.parse(l) as Line) });
    const pg = new URL(w.db.url);
    pg.host = `127.0.0.1:${pgProxy.port}`;
    const sql = connect(pg.toString(), { max: 2, connectTimeoutMs: 1000, statementTimeoutMs: 500 });
    pools.push(sql);
    const redis = { url: `http://127.0.0.1:${redisProxy.port}`, token: upstashPeer().token };
    const prefix = w.main.config.REDIS_KEY_PREFIX;
    const settings = {
      // Every request asks the tiers below memory, and re-verifies its key: outages show at once.
      memoryFreshMs: 0,
      staleWhileRevalidateMs: 0,
      keyCacheMs: 1,
      breakerCooldownMs: 300,
      ...overrides,
    };
    const breakers = apiTierBreakers({ ...DEFAULT_API_SETTINGS, ...settings }, logger);
    const app = w.app(settings, {
      stores: postgresApiStores(sql),
      cache: new UpstashCache({ ...redis, prefix }),
      logger,
      breakers,
      rateLimiter: await createRateLimiter({ ...w.main.config, upstash: redis }, logger, breakers.redis),
    });
    /** A request that must complete: a hang fails the test instead of stalling it. */
    const answer = async (
      path: string,
      token = w.tokens.reader,
      init: RequestInit = {},
    ): Promise<Response> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          app.request(path, withKey(token, init)),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${path} hung for ${HANG_MS} ms`)), HANG_MS);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    };
    // The access log (api.request, INFO) has a line per request by design; what is counted here is
    // everything else at WARNING or above.
    const warnings = () => lines.filter((l) => l.severity !== 'INFO' && l.severity !== 'DEBUG');
    const events = (event: string) => lines.filter((l) => l.event === event);
    return { answer, warnings, events };
  }

  test('PostgreSQL down: Redis answers, memory answers stale, PostgreSQL-only reads a fast 503, keys keep working; all recover', async () => {
    const { answer, warnings, events } = await faultyApp();
    const node = w.mainNodes[4]!;
    const metrics = `/api/v1/nodes/${node}/metrics?range=24h`;
    const history = `/api/v1/nodes/${node}/history?resolution=1h`;
    const anomalies = '/api/v1/anomalies?status=open';
    const neverSeen = `/api/v1/nodes/${node}/history?resolution=1d`;
    const seen = new Map<string, string>();
    for (const path of [metrics, history, anomalies, '/api/v1/status']) {
      const res = await answer(path);
      assert.equal(res.status, 200, path);
      seen.set(path, await res.text());
    }
    assert.equal((await answer('/api/v1/admin/keys', w.tokens.admin)).status, 200);
    assert.ok(pgProxy.open > 0, 'the pool holds live connections through the proxy');

    const refusedBefore = pgProxy.stats.refused;
    const cut = pgProxy.down();
    assert.ok(cut > 0, 'live PostgreSQL connections were cut');
    try {
      for (let round = 0; round < 8; round++) {
        const fromRedis = await answer(metrics);
        assert.equal(fromRedis.status, 200);
        assert.equal(fromRedis.headers.get('x-cache-tier'), 'redis');
        assert.equal(fromRedis.headers.get('x-stale'), null);

        for (const path of [history, anomalies]) {
          const res = await answer(path);
          assert.equal(res.status, 200, path);
          assert.equal(res.headers.get('x-cache-tier'), 'memory');
          assert.equal(res.headers.get('x-stale'), 'true');
          assert.equal(await res.text(), seen.get(path));
        }

        const never = await answer(neverSeen);
        assert.equal(never.status, 503);
        assert.equal(never.headers.get('content-type'), 'application/problem+json');
        assert.ok(Number(never.headers.get('retry-after')) > 0);

        const status = (await (await answer('/api/v1/status')).json()) as {
          status: string;
          stale: boolean;
          tiers: { postgres: { ok: boolean }; hot: { ok: boolean } };
        };
        assert.equal(status.status, 'degraded');
        assert.equal(status.stale, true);
        assert.equal(status.tiers.postgres.ok, false);
        assert.equal(status.tiers.hot.ok, true);
      }
      assert.ok(pgProxy.stats.refused > refusedBefore, 'new PostgreSQL connections were refused');

      // The breaker is open: PostgreSQL is not even asked (between probes, one per cool-down).
      await until('a read that skips PostgreSQL', async () => {
        const res = await answer(history);
        assert.equal(res.headers.get('x-stale'), 'true');
        return /postgres;desc="skipped"/.test(res.headers.get('server-timing') ?? '') ? true : undefined;
      });
      // A write (the admin key, verified before, still works): a 503, not a 500.
      const create = await answer('/api/v1/admin/keys', w.tokens.admin, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'reader', name: 'during the outage' }),
      });
      assert.equal(create.status, 503);
      assert.ok(Number(create.headers.get('retry-after')) > 0);
      // A key never verified cannot be checked: 503 with Retry-After, not 401.
      const unknownKey = await answer('/api/v1/nodes', w.tokens.operator);
      assert.equal(unknownKey.status, 503);
      assert.ok(unknownKey.headers.get('retry-after'));

      const opened = events('api.tier_open');
      assert.deepEqual(
        opened.map((l) => l.tier),
        ['postgres'],
        'one line for the outage',
      );
      assert.deepEqual(warnings(), opened, 'nothing else logged per request');
    } finally {
      pgProxy.heal();
    }

    await until('PostgreSQL answering again', async () => {
      const res = await answer(history);
      return res.headers.get('x-cache-tier') === 'postgres' ? true : undefined;
    });
    for (const path of [metrics, history, anomalies, neverSeen, '/api/v1/status', '/api/v1/nodes']) {
      const res = await answer(path, path === '/api/v1/nodes' ? w.tokens.operator : w.tokens.reader);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('x-stale'), null, path);
    }
    const status = (await (await answer('/api/v1/status')).json()) as {
      tiers: { postgres: { ok: boolean } };
    };
    assert.equal(status.tiers.postgres.ok, true);
    assert.deepEqual(
      events('api.tier_closed').map((l) => l.tier),
      ['postgres'],
    );
  });

  test('keys verified before an outage work for a bounded time only (stale-if-error of the key cache)', async () => {
    // Trusted 2 s past their last verification while PostgreSQL cannot be asked.
    const { answer } = await faultyApp({ keyStaleIfErrorMs: 2000 });
    const metrics = `/api/v1/nodes/${w.mainNodes[10]}/metrics?range=24h`;
    assert.equal((await answer(metrics)).status, 200);
    const refusedBefore = pgProxy.stats.refused;
    pgProxy.down();
    try {
      const during = await answer(metrics);
      assert.equal(during.status, 200, 'the key verified before still works');
      assert.equal(during.headers.get('x-cache-tier'), 'redis');
      const expired = await until('the key to fall out of its stale-if-error time', async () => {
        const res = await answer(metrics);
        return res.status === 200 ? undefined : res;
      });
      assert.equal(expired.status, 503);
      assert.ok(Number(expired.headers.get('retry-after')) > 0);
      assert.equal(expired.headers.get('content-type'), 'application/problem+json');
      assert.ok(pgProxy.stats.refused > refusedBefore, 'PostgreSQL connections were refused');
    } finally {
      pgProxy.heal();
    }
    await until('the key to be verified again', async () =>
      (await answer(metrics)).status === 200 ? true : undefined,
    );
  });

  test('PostgreSQL slow: reads are abandoned at their deadline, then skipped; stale or 503, never a hang', async () => {
    const { answer, warnings, events } = await faultyApp();
    const node = w.mainNodes[9]!;
    const history = `/api/v1/nodes/${node}/history?resolution=1h`;
    const neverSeen = `/api/v1/nodes/${node}/history?resolution=1d`;
    const warmed = await answer(history);
    assert.equal(warmed.status, 200);
    const body = await warmed.text();

    // Twice the deadline of a read (connect 1000 + statement 500 ms), each way.
    const delayedBefore = pgProxy.stats.delayed;
    pgProxy.latency(3000);
    try {
      for (let round = 0; round < 4; round++) {
        const stale = await answer(history);
        assert.equal(stale.status, 200);
        assert.equal(stale.headers.get('x-stale'), 'true');
        assert.equal(await stale.text(), body);
        const never = await answer(neverSeen);
        assert.equal(never.status, 503);
        assert.ok(Number(never.headers.get('retry-after')) > 0);
      }
      assert.ok(pgProxy.stats.delayed > delayedBefore, 'PostgreSQL traffic was held back');
      await until('a read that skips PostgreSQL', async () => {
        const res = await answer(history);
        return /postgres;desc="skipped"/.test(res.headers.get('server-timing') ?? '') ? true : undefined;
      });
      const opened = events('api.tier_open') as (Line & { err?: { name: string } })[];
      assert.deepEqual(
        opened.map((l) => [l.tier, l.err?.name]),
        [['postgres', 'TierTimeout']],
      );
      assert.deepEqual(warnings(), opened);
    } finally {
      pgProxy.heal();
    }
    // Chunks already held back still arrive late; then PostgreSQL answers again.
    await until(
      'PostgreSQL answering again',
      async () => ((await answer(history)).headers.get('x-cache-tier') === 'postgres' ? true : undefined),
      20_000,
    );
    assert.equal((await answer(neverSeen)).status, 200);
  });

  test('Redis down under traffic: PostgreSQL answers every request, and the outage is one log line', async () => {
    const { answer, warnings, events } = await faultyApp();
    const paths = w.mainNodes.slice(5, 9).map((node) => `/api/v1/nodes/${node}/metrics?range=24h`);
    for (const path of paths) {
      const res = await answer(path);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-cache-tier'), 'redis');
    }

    redisProxy.down();
    try {
      for (let round = 0; round < 10; round++) {
        for (const path of paths) {
          const res = await answer(path);
          assert.equal(res.status, 200, path);
          assert.equal(res.headers.get('x-cache-tier'), 'postgres');
          assert.equal(res.headers.get('x-stale'), null);
        }
      }
      assert.ok(redisProxy.stats.refused > 0, 'connections to Redis were refused');
      await until('a read that skips Redis', async () => {
        const res = await answer(paths[0]!);
        assert.equal(res.status, 200);
        const timing = res.headers.get('server-timing') ?? '';
        return /redis;desc="skipped".*postgres;desc="hit"/.test(timing) ? true : undefined;
      });
      const opened = events('api.tier_open');
      assert.deepEqual(
        opened.map((l) => l.tier),
        ['redis'],
        'one line for the outage',
      );
      assert.deepEqual(warnings(), opened, 'nothing else logged per request');
    } finally {
      redisProxy.heal();
    }

    await until('Redis answering again', async () => {
      const res = await answer(paths[0]!);
      assert.equal(res.status, 200);
      return res.headers.get('x-cache-tier') === 'redis' ? true : undefined;
    });
    assert.deepEqual(
      events('api.tier_closed').map((l) => l.tier),
      ['redis'],
    );
  });
});
