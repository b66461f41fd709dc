import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { CachedEntry, OFF_LOOP_GZIP_BYTES } from './cached-entry.ts';
import type { ApiEnv } from './env.ts';
import { acceptsGzip, etagMatches, sendEntry } from './respond.ts';

test('If-None-Match matches strong and weak forms, lists and *', () => {
  const etag = '"abc"';
  assert.ok(etagMatches('"abc"', etag));
  assert.ok(etagMatches('W/"abc"', etag));
  assert.ok(etagMatches('"x", W/"abc" , "y"', etag));
  assert.ok(etagMatches('*', etag));
  assert.ok(!etagMatches('"abcd"', etag));
  assert.ok(!etagMatches('abc', etag));
});

test('gzip is used only when accepted with q > 0', () => {
  assert.ok(acceptsGzip('gzip'));
  assert.ok(acceptsGzip('br, gzip;q=0.5, deflate'));
  assert.ok(!acceptsGzip(undefined));
  assert.ok(!acceptsGzip('br, deflate'));
  assert.ok(!acceptsGzip('gzip;q=0'));
  assert.ok(!acceptsGzip('br, gzip; q=0.0'));
});

test('a cached entry is sent as its stored UTF-8 bytes: the same body, length and ETag as the text', async () => {
  const text = '{"name":"Zürich Süd — Ventil ✓","n":1}';
  const entry = new CachedEntry(text, Date.now());
  assert.equal(entry.body, text);
  assert.equal(entry.bytes, Buffer.byteLength(text));
  assert.equal(entry.etag, `"${createHash('sha1').update(text).digest('base64url')}"`);
  assert.equal(entry.raw.byteOffset, 0);
  assert.equal(entry.raw.buffer.byteLength, entry.bytes, 'its own buffer, not a slice of a pool');
  const app = new Hono<ApiEnv>();
  app.get('/x', (c) => {
    c.set('out', {});
    return sendEntry(c, entry, { maxAgeSeconds: 15 });
  });
  const res = await app.request('/x');
  assert.equal(res.status, 200);
  assert.equal(await res.text(), text);
  assert.equal(res.headers.get('etag'), entry.etag);
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  try {
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const over = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
    assert.equal(over.headers.get('content-length'), String(entry.bytes));
    assert.equal(await over.text(), text);
  } finally {
    server.close();
  }
});

/** A JSON body of about `bytes` bytes, like a history answer's points. */
const jsonOf = (bytes: number) => {
  const points: string[] = [];
  for (let i = 0, length = 0; length < bytes; i++) {
    points.push(JSON.stringify({ t: i, mean: (i * 7919) % 1000 }));
    length += points.at(-1)!.length + 1;
  }
  return `{"points":[${points.join(',')}]}`;
};

test('a small body is gzipped in place; a large one on the thread pool, once, while the event loop turns', async () => {
  const small = new CachedEntry(jsonOf(2000), Date.now());
  const inPlace = small.gzip();
  assert.ok(inPlace instanceof Uint8Array, 'under the threshold: the bytes at once');
  assert.equal(small.gzip(), inPlace, 'computed once');

  const text = jsonOf(4 * OFF_LOOP_GZIP_BYTES);
  const large = new CachedEntry(text, Date.now());
  let turned = false;
  setImmediate(() => {
    turned = true;
  });
  const pending = large.gzip();
  assert.ok(pending instanceof Promise, 'over the threshold: compressed off the event loop');
  assert.equal(large.gzip(), pending, 'requests asking meanwhile share the one compression');
  const bytes = await pending;
  assert.ok(turned, 'the event loop ran other callbacks while the body was compressed');
  assert.equal(gunzipSync(bytes).toString('utf8'), text);
  assert.equal(large.gzip(), bytes, 'then kept: later answers send the stored bytes at once');
});

test('a large entry goes out gzipped (same ETag) to a client that accepts it, and as it is to one that does not', async () => {
  const text = jsonOf(2 * OFF_LOOP_GZIP_BYTES);
  const entry = new CachedEntry(text, Date.now());
  const app = new Hono<ApiEnv>();
  app.get('/x', (c) => {
    c.set('out', {});
    return sendEntry(c, entry, { maxAgeSeconds: 15 });
  });
  const [a, b] = await Promise.all([
    app.request('/x', { headers: { 'accept-encoding': 'gzip' } }),
    app.request('/x', { headers: { 'accept-encoding': 'gzip, br' } }),
  ]);
  for (const res of [a, b]) {
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(res.headers.get('etag'), entry.etag);
    assert.equal(gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8'), text);
  }
  const plain = await app.request('/x');
  assert.equal(plain.headers.get('content-encoding'), null);
  assert.equal(await plain.text(), text);
});
