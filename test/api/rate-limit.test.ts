/**
 * The leased rate limiter (shared/api/rate-limit.ts) against the real Upstash-protocol server over
 * Redis, time driven by an injected clock: one instance admits exactly its limit, N instances
 * together never more (and at most the documented bound less), the sliding window weighs the last
 * minute, most requests are decided without Redis, a Redis outage falls back to counting locally —
 * and connections to Upstash are reused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from '@upstash/redis';
import {
  createUpstashServer,
  deleteKeysWithPrefix,
  peerGate,
  type UpstashServer,
  uniquePrefix,
} from '../../dev/peers/index.ts';
import { useKeepAliveAgent } from '../../shared/adapters/cache/http-agent.ts';
import { UpstashCache } from '../../shared/adapters/cache/upstash.ts';
import { UpstashRateLeases } from '../../shared/adapters/cache/upstash-rate-leases.ts';
import {
  LeasedRateLimiter,
  MemoryRateLimiter,
  type RateDecision,
  WINDOW_MS,
} from '../../shared/api/rate-limit.ts';

/** A clock the test moves; starts at the beginning of a minute. */
function clock(startMs = Math.floor(Date.UTC(2026, 5, 1) / WINDOW_MS) * WINDOW_MS) {
  let t = startMs;
  return {
    now: () => t,
    set: (ms: number) => {
      t = ms;
    },
    start: startMs,
  };
}

/** Polls until `check` holds (no fixed sleep). */
async function until(check: () => Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setImmediate(r));
  }
}

/** Requests `count` times, spreading them over the instances as `pick` says; counts admissions. */
async function drive(
  instances: LeasedRateLimiter[],
  id: string,
  limit: number,
  count: number,
  pick: (i: number) => number = (i) => i % instances.length,
) {
  let admitted = 0;
  let synchronous = 0;
  for (let i = 0; i < count; i++) {
    const d = instances[pick(i)]!.limit(id, limit);
    if (!(d instanceof Promise)) synchronous++;
    if ((await d).allowed) admitted++;
  }
  await Promise.all(instances.map((l) => l.settled()));
  return { admitted, synchronous };
}

describe('leased rate limits on the Upstash protocol over Redis', await peerGate('redis'), () => {
  const prefix = uniquePrefix();
  let server: UpstashServer;
  let redis: Redis;

  before(async () => {
    server = await createUpstashServer();
    useKeepAliveAgent({ connections: 16 });
    redis = new Redis({ url: server.url, token: server.token, retry: false, enableTelemetry: false });
  });
  after(async () => {
    await server?.close();
    await deleteKeysWithPrefix(prefix);
  });

  const instance = (now: () => number, blockFraction?: number) =>
    new LeasedRateLimiter({
      shared: new UpstashRateLeases(redis, prefix),
      now,
      ...(blockFraction === undefined ? {} : { blockFraction }),
    });

  test('one instance admits exactly its limit in a fresh window', async () => {
    const c = clock();
    const limiter = instance(c.now);
    assert.equal(limiter.name, 'upstash');
    const { admitted } = await drive([limiter], 'solo', 500, 700);
    assert.equal(admitted, 500);
    // A lease per block of 10 (2 % of 500; smaller near the limit), not one per request.
    assert.ok(limiter.sharedLeases <= 100, `${limiter.sharedLeases} leases for 700 requests`);
  });

  test('N instances together never exceed the limit, and fall short by at most (N − 1) × 2 × block', async () => {
    for (const n of [2, 3, 5]) {
      const c = clock();
      const limit = 1000;
      const block = Math.ceil(limit * 0.02);
      const instances = Array.from({ length: n }, () => instance(c.now));
      // Round robin, then a skewed mix (one instance takes most of the traffic).
      const rr = await drive(instances, `rr${n}`, limit, 2 * limit);
      assert.ok(rr.admitted <= limit, `${n} instances admitted ${rr.admitted} > ${limit}`);
      assert.ok(rr.admitted >= limit - (n - 1) * 2 * block, `${n} instances admitted only ${rr.admitted}`);
      let seed = 7;
      const skewed = await drive(instances, `skew${n}`, limit, 2 * limit, () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % 4 === 0 ? seed % n : 0;
      });
      assert.ok(skewed.admitted <= limit, `${n} instances (skewed) admitted ${skewed.admitted}`);
      assert.ok(skewed.admitted >= limit - (n - 1) * 2 * block, `skewed: only ${skewed.admitted}`);
    }
  });

  test('most requests are decided without waiting on Redis (leases fetched ahead)', async () => {
    const c = clock();
    const instances = [instance(c.now), instance(c.now)];
    const { admitted, synchronous } = await drive(instances, 'ahead', 10_000, 4000);
    assert.equal(admitted, 4000);
    // Each instance's first request of the minute waits for a lease; after that, a request waits
    // only when this tight loop spends half a block faster than Redis answers.
    assert.ok(synchronous >= 4000 * 0.99, `${synchronous} of 4000 answered synchronously`);
  });

  test('the sliding window: the last minute weighs on this one as the window still covers it', async () => {
    const c = clock();
    const limiter = instance(c.now);
    assert.equal((await drive([limiter], 'slide', 100, 100)).admitted, 100);
    // A quarter into the next minute, 75 % of the last minute's 100 still count.
    c.set(c.start + WINDOW_MS + WINDOW_MS / 4);
    assert.equal((await drive([limiter], 'slide', 100, 100)).admitted, 25);
    // Another instance sees the same count.
    c.set(c.start + WINDOW_MS + WINDOW_MS / 2);
    const other = instance(c.now);
    // Half the last minute (50) + the 25 taken: 25 left.
    assert.equal((await drive([other], 'slide', 100, 100)).admitted, 25);
  });

  test('tokens leased and not spent in a minute are given back: the next minute is not charged for them', async () => {
    const c = clock();
    // Blocks of 20 (a fifth of 100): one request leaves 19 unspent.
    const limiter = instance(c.now, 0.2);
    assert.equal((await drive([limiter], 'unspent', 100, 1)).admitted, 1);
    c.set(c.start + WINDOW_MS);
    const next = await drive([limiter], 'unspent', 100, 200);
    await until(
      async () =>
        Number(await redis.get(`${prefix}ratelease:100:unspent:${Math.floor(c.start / WINDOW_MS)}`)) === 1,
    );
    // At the minute's start the last minute weighs fully: 100 − 1 (not 100 − 20).
    assert.ok(next.admitted >= 99 - 1, `${next.admitted} admitted`);
  });

  test('refusals carry the limit, nothing remaining, and the time to the window end', async () => {
    const c = clock();
    const limiter = instance(c.now);
    await drive([limiter], 'refused', 3, 3);
    c.set(c.start + 20_000);
    const d: RateDecision = await limiter.limit('refused', 3);
    assert.deepEqual(d, { allowed: false, limit: 3, remaining: 0, resetMs: 40_000 });
  });

  test('Redis down: each instance limits alone (local counter), and goes back to Redis after', async () => {
    const c = clock();
    const limiter = instance(c.now);
    await server.stop();
    try {
      const { admitted } = await drive([limiter], 'outage', 50, 80);
      assert.equal(admitted, 50, 'the local counter holds the limit');
      assert.ok(limiter.localFallbacks > 0, 'the leases failed on Redis (the outage took effect)');
    } finally {
      await server.start();
    }
    const fallbacks = limiter.localFallbacks;
    c.set(c.start + 3 * WINDOW_MS);
    assert.equal((await drive([limiter], 'outage', 50, 60)).admitted, 50);
    assert.equal(limiter.localFallbacks, fallbacks, 'leased from Redis again');
    assert.ok(Number(await redis.get(`${prefix}ratelease:50:outage:${Math.floor(c.now() / WINDOW_MS)}`)) > 0);
  });

  test('connections to Upstash are reused (keep-alive agent), even with a 1 s server keep-alive', async () => {
    const cache = new UpstashCache({ url: server.url, token: server.token, prefix });
    await cache.write([{ key: 'k', value: { a: 1 }, ttlSeconds: 60 }]);
    const before = server.connectionsAccepted;
    for (let i = 0; i < 200; i++) assert.equal(await cache.getRaw('k'), '{"a":1}');
    await Promise.all(Array.from({ length: 8 }, () => cache.getRaw('k')));
    const opened = server.connectionsAccepted - before;
    assert.ok(opened <= 8, `${opened} connections opened for 208 requests`);
  });
});

describe('the in-process limiter', () => {
  test('exact: the limit, then refusals; counted per key; a new window starts afresh', async () => {
    const c = clock();
    const limiter = new MemoryRateLimiter({ now: c.now });
    assert.equal(limiter.name, 'memory');
    const results: boolean[] = [];
    for (let i = 0; i < 5; i++) results.push((await limiter.limit('a', 3)).allowed);
    assert.deepEqual(results, [true, true, true, false, false]);
    assert.equal((await limiter.limit('b', 3)).allowed, true);
    // Two minutes on, the old counts no longer weigh.
    c.set(c.start + 2 * WINDOW_MS);
    const first = await limiter.limit('a', 3);
    assert.deepEqual([first.allowed, first.remaining], [true, 2]);
    // After its first request of a minute, a key is decided synchronously.
    assert.ok(!(limiter.limit('a', 3) instanceof Promise));
  });

  test('the whole limit leased at once, and what is left unspent given back at the minute’s end', async () => {
    const c = clock();
    const limiter = new MemoryRateLimiter({ now: c.now });
    assert.equal((await drive([limiter], 'k', 1000, 10)).admitted, 10);
    c.set(c.start + WINDOW_MS);
    // The last minute's 10 weigh fully at this minute's start: 990 left, not 0.
    assert.equal((await drive([limiter], 'k', 1000, 2000)).admitted, 990);
  });
});
