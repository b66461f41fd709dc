/**
 * The Upstash hot cache over the real protocol (the harness's REST server in front of the Redis peer):
 * values round-trip byte for byte, errors keep @upstash/redis's types, and commands travel through
 * the given undici Agent (upstash-requester.ts), not the global `fetch`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errors } from '@upstash/redis';
import Agent from 'undici/lib/dispatcher/agent.js';
import { createUpstashServer, deleteKeysWithPrefix, peerGate, uniquePrefix } from '../dev/peers/index.ts';
import type { UpstashServer } from '../dev/peers/upstash-server.ts';
import { CacheError } from '../shared/adapters/cache/cache.ts';
import { UpstashCache } from '../shared/adapters/cache/upstash.ts';

describe('UpstashCache over the Upstash protocol', await peerGate('redis'), () => {
  let server: UpstashServer;
  const prefix = uniquePrefix();
  const agent = new Agent({ connections: 4 });
  let cache: UpstashCache;
  const realFetch = globalThis.fetch;
  let fetches = 0;

  before(async () => {
    server = await createUpstashServer();
    cache = new UpstashCache({ url: server.url, token: server.token, prefix, dispatcher: agent });
    globalThis.fetch = (...args: Parameters<typeof fetch>) => {
      fetches++;
      return realFetch(...args);
    };
  });
  after(async () => {
    globalThis.fetch = realFetch;
    await deleteKeysWithPrefix(prefix);
    await server?.close();
    await agent.close();
  });

  test('values round-trip byte for byte, through the Agent and not fetch', async () => {
    const served = server.requestsServed;
    const text = JSON.stringify({
      name: 'Zone Ñ — tank “B” 💧',
      values: [1.5, -0, null],
      nested: { a: '\\"' },
    });
    await cache.write([
      { key: 'a', value: JSON.parse(text), ttlSeconds: 60 },
      { key: 'b', value: { n: 2 }, ttlSeconds: 60 },
    ]);
    assert.equal(await cache.getRaw('a'), text);
    assert.equal(await cache.getRaw('b'), '{"n":2}');
    assert.equal(await cache.getRaw('missing'), null);
    await cache.del(['a']);
    assert.equal(await cache.getRaw('a'), null);
    assert.ok(server.requestsServed >= served + 6, 'every command reached the server');
    assert.equal(fetches, 0, 'no command went through the global fetch');
  });

  test('a write over 1 MiB goes as several pipelines of at most 1 MiB, every key written', async () => {
    const served = server.requestsServed;
    // 40 values of ~100 KiB: ~4 MiB in all (the rollup's patterns at 10,000 nodes are ~12 MiB).
    const entries = Array.from({ length: 40 }, (_, i) => ({
      key: `big:${i}`,
      value: { i, pad: 'x'.repeat(100_000) },
      ttlSeconds: 60,
    }));
    await cache.write(entries);
    const requests = server.requestsServed - served;
    assert.ok(requests >= 4, `${requests} pipelines for ~4 MiB (at most 1 MiB each)`);
    assert.ok(requests <= 5, `${requests} pipelines: values are packed up to 1 MiB`);
    for (const e of entries) assert.equal(await cache.getRaw(e.key), JSON.stringify(e.value));
  });

  test("a command the server refuses is an UpstashError with the server's message", async () => {
    await cache.write([{ key: 'text', value: { not: 'a number' }, ttlSeconds: 60 }]);
    await assert.rejects(cache.redis.incr(`${prefix}text`), (err: unknown) => {
      assert.ok(err instanceof errors.UpstashError);
      assert.match(err.message, /not an integer/i);
      assert.match(err.message, /command was: \["incr"/);
      return true;
    });
  });

  test('the server away: a CacheError after the retry; back: answers again', async () => {
    await cache.write([{ key: 'c', value: { c: 1 }, ttlSeconds: 60 }]);
    await server.stop();
    await assert.rejects(cache.getRaw('c'), CacheError);
    await server.start();
    assert.equal(await cache.getRaw('c'), '{"c":1}');
  });
});
