/**
 * Background refreshes of the memory tier share their hot-cache reads (shared/api/tiers.ts, queueRefresh):
 * over the real Upstash protocol (the harness's REST server in front of the Redis peer), values that go stale
 * together are refreshed with one request, not one each, and what each refresh brings is what Redis holds —
 * a key Redis no longer has, or a batch whose read fails, is read from the PostgreSQL tier (a load function
 * here, as in shared/api/tiers.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Agent from 'undici/lib/dispatcher/agent.js';
import { createUpstashServer, deleteKeysWithPrefix, peerGate, uniquePrefix } from '../../dev/peers/index.ts';
import type { UpstashServer } from '../../dev/peers/upstash-server.ts';
import { UpstashCache } from '../../shared/adapters/cache/upstash.ts';
import { DEFAULT_API_SETTINGS } from '../../shared/api/settings.ts';
import { REFRESH_BATCH_MS, type ReadSpec, TieredReader } from '../../shared/api/tiers.ts';
import { createLogger } from '../../shared/log.ts';

const FRESH_MS = 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('background refreshes batched over the Upstash protocol', await peerGate('redis'), () => {
  let server: UpstashServer;
  const prefix = uniquePrefix();
  const agent = new Agent({ connections: 4 });
  let cache: UpstashCache;

  before(async () => {
    server = await createUpstashServer();
    cache = new UpstashCache({ url: server.url, token: server.token, prefix, dispatcher: agent });
  });
  after(async () => {
    await deleteKeysWithPrefix(prefix);
    await server?.close();
    await agent.close();
  });

  const newReader = () =>
    new TieredReader({
      hot: cache,
      ttlSeconds: 60,
      logger: createLogger({ level: 'error' }),
      settings: { ...DEFAULT_API_SETTINGS, memoryFreshMs: FRESH_MS, staleWhileRevalidateMs: 60_000 },
    });
  /** Read specs whose PostgreSQL loads are recorded in `loads` (one list per test). */
  const specs =
    (loads: string[]) =>
    (name: string): ReadSpec => ({
      key: `m:${name}`,
      hotKey: name,
      load: async () => {
        loads.push(name);
        return { from: 'postgres', name };
      },
    });

  test('40 values stale together: one request refreshes them all, each with what Redis now holds', async () => {
    const loads: string[] = [];
    const spec = specs(loads);
    const names = Array.from({ length: 40 }, (_, i) => `batch-${i}`);
    await cache.write(names.map((n) => ({ key: n, value: { v: 1, n }, ttlSeconds: 60 })));
    const r = newReader();
    for (const n of names) assert.equal((await r.read(spec(n)))!.tier, 'redis');
    await cache.write(names.map((n) => ({ key: n, value: { v: 2, n }, ttlSeconds: 60 })));
    await sleep(FRESH_MS + 10);

    const served = server.requestsServed;
    for (const n of names) {
      assert.equal(r.peek(spec(n))!.body, JSON.stringify({ v: 1, n }), 'the stale value answers meanwhile');
    }
    await sleep(REFRESH_BATCH_MS + 200);
    assert.equal(server.requestsServed - served, 1, 'one hot-cache request for the 40 refreshes');
    for (const n of names) assert.equal(r.peek(spec(n))!.body, JSON.stringify({ v: 2, n }));
    assert.deepEqual(loads, [], 'PostgreSQL was not asked');
  });

  test('a key Redis no longer holds is refreshed from PostgreSQL', async () => {
    const loads: string[] = [];
    const spec = specs(loads);
    await cache.write([
      { key: 'kept', value: { v: 1 }, ttlSeconds: 60 },
      { key: 'gone', value: { v: 1 }, ttlSeconds: 60 },
    ]);
    const r = newReader();
    await r.read(spec('kept'));
    await r.read(spec('gone'));
    await cache.del(['gone']);
    await sleep(FRESH_MS + 10);
    const served = server.requestsServed;
    r.peek(spec('kept'));
    r.peek(spec('gone'));
    await sleep(REFRESH_BATCH_MS + 200);
    assert.deepEqual(loads, ['gone']);
    assert.ok(server.requestsServed - served >= 1, 'the batch read reached Redis');
    assert.equal(r.peek(spec('gone'))!.body, JSON.stringify({ from: 'postgres', name: 'gone' }));
    assert.equal(r.peek(spec('kept'))!.body, JSON.stringify({ v: 1 }));
  });

  test('Redis away: the batch read fails, and each of its keys is refreshed from PostgreSQL', async () => {
    const loads: string[] = [];
    const spec = specs(loads);
    await cache.write([
      { key: 'a', value: { v: 1 }, ttlSeconds: 60 },
      { key: 'b', value: { v: 1 }, ttlSeconds: 60 },
    ]);
    const r = newReader();
    await r.read(spec('a'));
    await r.read(spec('b'));
    await sleep(FRESH_MS + 10);
    await server.stop();
    try {
      r.peek(spec('a'));
      r.peek(spec('b'));
      await sleep(REFRESH_BATCH_MS + 1500);
      assert.deepEqual(loads.sort(), ['a', 'b']);
      assert.equal(r.peek(spec('a'))!.body, JSON.stringify({ from: 'postgres', name: 'a' }));
    } finally {
      await server.start();
    }
  });

  test('a read that must wait for a queued refresh sends its batch at once', async () => {
    const spec = specs([]);
    await cache.write([{ key: 'waited', value: { v: 1 }, ttlSeconds: 60 }]);
    const r = new TieredReader({
      hot: cache,
      ttlSeconds: 60,
      logger: createLogger({ level: 'error' }),
      settings: { ...DEFAULT_API_SETTINGS, memoryFreshMs: FRESH_MS, staleWhileRevalidateMs: 60_000 },
    });
    await r.read(spec('waited'));
    await cache.write([{ key: 'waited', value: { v: 2 }, ttlSeconds: 60 }]);
    await sleep(FRESH_MS + 10);
    r.peek(spec('waited'));
    // A spec whose value is past its stale-while-revalidate window waits for the tiers below.
    const t0 = performance.now();
    const v = await r.read({ ...spec('waited'), freshMs: 0, revalidateMs: 0 });
    assert.ok(performance.now() - t0 < REFRESH_BATCH_MS, 'not held until the batch timer');
    assert.equal(v!.entry.body, JSON.stringify({ v: 2 }));
  });
});
