import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickEncoding } from './console.ts';
import { RequestStats } from './request-stats.ts';

test('request figures: percentiles within the sketch accuracy, reads per tier and their share', () => {
  const stats = new RequestStats();
  assert.equal(stats.figures().latencyMs.p50, null);
  for (let i = 1; i <= 1000; i++)
    stats.record(i / 10, i % 4 === 0 ? 'postgres' : i % 4 === 1 ? 'redis' : 'memory');
  stats.record(500, 'none'); // a write or /status: timed, not a data read
  const f = stats.figures();
  assert.equal(f.requests, 1001);
  assert.ok(Math.abs(f.latencyMs.p50! - 50) <= 1, String(f.latencyMs.p50));
  assert.ok(Math.abs(f.latencyMs.p99! - 99.1) <= 1.5, String(f.latencyMs.p99));
  assert.equal(f.latencyMs.max, 500);
  assert.deepEqual(f.byTier, { memory: 500, redis: 250, postgres: 250 });
  assert.deepEqual(f.hitRatio, { memory: 0.5, redis: 0.25, postgres: 0.25 });
});

test('the console is sent brotli, else gzip, else plain; q=0 refuses an encoding', () => {
  const both = ['br', 'gzip'];
  assert.equal(pickEncoding('gzip, deflate, br, zstd', both), 'br');
  assert.equal(pickEncoding('gzip', both), 'gzip');
  assert.equal(pickEncoding('br;q=0, gzip', both), 'gzip');
  assert.equal(pickEncoding('*', both), 'br');
  assert.equal(pickEncoding('identity', both), null);
  assert.equal(pickEncoding(undefined, both), null);
});
