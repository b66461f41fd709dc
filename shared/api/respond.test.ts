import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { ApiEnv } from './env.ts';
import { acceptsGzip, etagMatches, sendEntry } from './respond.ts';
import { CachedEntry } from './tiers.ts';

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
