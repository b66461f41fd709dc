/**
 * The tier logic over the embedded hot cache (shared/adapters/cache/memory.ts): freshness,
 * stale-while-revalidate, stale-if-error, shared loads. The PostgreSQL tier is a load function here;
 * test/api/tiers.test.ts takes real PostgreSQL and Redis down.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryCache } from '../adapters/cache/memory.ts';
import { createLogger } from '../log.ts';
import { type ApiSettings, DEFAULT_API_SETTINGS } from './settings.ts';
import { TieredReader, TiersUnavailable } from './tiers.ts';

const down = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

function reader(settings: Partial<ApiSettings> = {}) {
  const hot = new MemoryCache();
  return {
    hot,
    reader: new TieredReader({
      hot,
      ttlSeconds: 60,
      logger: createLogger({ level: 'error' }),
      settings: { ...DEFAULT_API_SETTINGS, ...settings },
    }),
  };
}

test('a miss loads once, fills memory and the hot cache; then memory answers with the same ETag', async () => {
  const { hot, reader: r } = reader();
  let loads = 0;
  const spec = { key: 'k', hotKey: 'k', load: async () => ({ n: ++loads }) };
  const [a, b] = await Promise.all([r.read(spec), r.read(spec)]);
  assert.equal(loads, 1, 'concurrent misses share one load');
  assert.equal(a!.tier, 'postgres');
  assert.equal(b!.entry, a!.entry);
  assert.equal(await hot.getRaw('k'), '{"n":1}');
  const c = await r.read(spec);
  assert.equal(c!.tier, 'memory');
  assert.equal(c!.entry.etag, a!.entry.etag);
});

test('stale-while-revalidate answers at once and refreshes in the background', async () => {
  const { reader: r } = reader({ memoryFreshMs: 0, staleWhileRevalidateMs: 60_000 });
  let n = 0;
  const spec = { key: 'k', load: async () => ({ n: ++n }) };
  await r.read(spec);
  const stale = await r.read(spec);
  assert.equal(stale!.tier, 'memory');
  assert.equal(stale!.entry.body, '{"n":1}');
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal((await r.read(spec))!.entry.body, '{"n":2}', 'the background refresh landed');
});

test('tiers down: the memory value answers marked stale; with none, TiersUnavailable', async () => {
  const { reader: r } = reader({ memoryFreshMs: 0, staleWhileRevalidateMs: 0 });
  let up = true;
  const spec = { key: 'k', load: async () => (up ? { ok: 1 } : Promise.reject(down())) };
  await r.read(spec);
  up = false;
  const v = await r.read(spec);
  assert.equal(v!.stale, true);
  assert.equal(v!.entry.body, '{"ok":1}');
  await assert.rejects(r.read({ key: 'other', load: spec.load }), TiersUnavailable);
  await assert.rejects(
    r.read({ key: 'bug', load: async () => Promise.reject(new TypeError('bug')) }),
    TypeError,
  );
});

test('not found is not cached, and invalidation drops a prefix', async () => {
  const { reader: r } = reader();
  let value: unknown = null;
  const spec = { key: 't:a:x', load: async () => value };
  assert.equal(await r.read(spec), null);
  value = { v: 1 };
  assert.equal((await r.read(spec))!.tier, 'postgres');
  value = { v: 2 };
  r.invalidate('t:a:');
  assert.equal((await r.read(spec))!.entry.body, '{"v":2}');
});

test('a value re-read unchanged keeps its ETag and gzip bytes; a changed one gets new ones', async () => {
  const { reader: r } = reader({ memoryFreshMs: 0, staleWhileRevalidateMs: 0 });
  let value = { list: 'x'.repeat(2_000) };
  const spec = { key: 'k', load: async () => value, headers: () => ({ link: '</next>; rel="next"' }) };
  const first = (await r.read(spec))!.entry;
  const firstGzip = first.gzip();
  const again = (await r.read(spec))!.entry;
  assert.notEqual(again, first, 'read from the tier below again (fresh for 0 ms)');
  assert.ok(again.storedAt >= first.storedAt);
  assert.equal(again.etag, first.etag);
  assert.equal(again.gzip(), firstGzip, 'the same gzip bytes, not compressed again');
  assert.deepEqual(again.headers, first.headers);
  value = { list: 'y'.repeat(2_000) };
  const changed = (await r.read(spec))!.entry;
  assert.notEqual(changed.etag, first.etag);
  assert.notEqual(changed.gzip(), firstGzip);
  assert.equal(changed.body, JSON.stringify(value));
});
