import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptsGzip, etagMatches } from './respond.ts';

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
