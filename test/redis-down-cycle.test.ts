/**
 * Redis (behind the Upstash REST server) gone for a whole cycle, analytics on: the hot-key writes
 * really fail, yet no node fails, the run ends `done`, PostgreSQL ends as an undisturbed run's, and
 * once Redis is back the next cycle rewrites the hot keys as the undisturbed run has them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from '@upstash/redis';
import { createLocalStack, type LocalStack } from '../dev/local-stack.ts';
import {
  createTestDatabase,
  createUpstashServer,
  deleteKeysWithPrefix,
  peerGate,
  type TestDatabase,
  type UpstashServer,
  uniquePrefix,
  upstashPeer,
} from '../dev/peers/index.ts';
import { loadConfig } from '../shared/config.ts';
import { hotKeyWriteFailures } from '../shared/cycle/hot-keys.ts';
import { createLogger } from '../shared/log.ts';
import { differences, tableState } from './lib/checksums.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 6, 6);
const settings = {
  SIMULATOR_NODES: '12',
  SIMULATOR_SEED: '31',
  LOG_LEVEL: 'warning',
  ANALYTICS_ENABLED: 'true',
};

interface Side {
  db: TestDatabase;
  prefix: string;
  stack: LocalStack;
  events: { severity: string; event?: string }[];
}

async function side(upstash: { url: string; token: string }): Promise<Side> {
  const db = await createTestDatabase();
  const prefix = uniquePrefix();
  const events: Side['events'] = [];
  const logger = createLogger({ level: 'info', sink: (line) => events.push(JSON.parse(line)) });
  const config = loadConfig({
    ...settings,
    DATABASE_URL: db.url,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    REDIS_KEY_PREFIX: prefix,
  });
  return { db, prefix, stack: await createLocalStack(config, logger), events };
}

const count = (s: Side, event: string) => s.events.filter((e) => e.event === event).length;

describe('Redis unreachable during a cycle', await peerGate('postgres', 'redis'), () => {
  let server: UpstashServer;
  let disturbed: Side;
  let undisturbed: Side;

  before(async () => {
    server = await createUpstashServer();
    disturbed = await side({ url: server.url, token: server.token });
    undisturbed = await side(upstashPeer());
  });
  after(async () => {
    for (const s of [disturbed, undisturbed]) {
      await s?.stack.close();
      await s?.db.drop();
      if (s) await deleteKeysWithPrefix(s.prefix);
    }
    await server?.close();
  });

  test('no node fails, the run ends done, PostgreSQL is intact and the next cycle repairs the keys', async () => {
    const redis = new Redis(upstashPeer());
    const nodes = (await disturbed.stack.dispatcher.source.network()).nodes.map((n) => n.id);
    // Every node's served keys (pumps without readings have metadata only).
    const names = [
      'metadata',
      'latest',
      'metrics:1h',
      'metrics:24h',
      'metrics:7d',
      'metrics:30d',
      'timeseries:7d',
    ];
    const keysOf = (s: Side) =>
      redis.mget<unknown[]>(
        ...nodes.flatMap((id) => names.map((k) => `${s.prefix}t:default:node:${id}:${k}`)),
      );
    for (const s of [disturbed, undisturbed]) await s.stack.cycle(T0 + 2 * HOUR, T0);
    assert.deepEqual(hotKeyWriteFailures(disturbed.stack.aggregator.cache), { writes: 0, keys: 0 });

    // Redis goes away for the whole of the next cycle.
    await server.stop();
    await assert.rejects(fetch(server.url, { method: 'POST', body: '["PING"]' }), 'the server refuses');
    for (const s of [disturbed, undisturbed]) await s.stack.cycle(T0 + 3 * HOUR);

    // The fault really happened: every node's pipeline and the rollup's were given up.
    const failed = hotKeyWriteFailures(disturbed.stack.aggregator.cache);
    assert.equal(failed.writes, nodes.length + 1, JSON.stringify(failed));
    // Yet nothing failed, one warning said so, and every run closed done.
    assert.equal(count(disturbed, 'node.failed'), 0);
    assert.equal(count(disturbed, 'message.dead_lettered'), 0);
    assert.equal(count(disturbed, 'cache.writes_failing'), 1);
    const statuses = async (s: Side) =>
      (await s.db.sql<{ status: string }[]>`select status from runs order by window_to`).map((r) => r.status);
    assert.deepEqual(await statuses(disturbed), ['done', 'done']);
    assert.deepEqual(
      differences(await tableState(disturbed.db.sql), await tableState(undisturbed.db.sql)),
      [],
    );
    // The keys Redis missed are the previous cycle's still (or absent).
    const latest = (s: Side) =>
      redis.mget<unknown[]>(...nodes.map((id) => `${s.prefix}t:default:node:${id}:latest`));
    assert.notDeepEqual(differences(await latest(disturbed), await latest(undisturbed)), []);

    // Redis back: the next cycle's refresh rewrites every node's keys, and the writes work again.
    await server.start();
    for (const s of [disturbed, undisturbed]) await s.stack.cycle(T0 + 3.5 * HOUR);
    assert.equal(hotKeyWriteFailures(disturbed.stack.aggregator.cache).writes, failed.writes);
    assert.equal(count(disturbed, 'cache.writes_recovered'), 1);
    assert.deepEqual(await statuses(disturbed), ['done', 'done', 'done']);
    const repaired = await keysOf(disturbed);
    assert.ok(repaired.filter((v) => v !== null).length > nodes.length, 'keys beyond metadata');
    assert.deepEqual(differences(repaired, await keysOf(undisturbed)), []);
    assert.deepEqual(
      differences(await tableState(disturbed.db.sql), await tableState(undisturbed.db.sql)),
      [],
    );
    const dashboard = await redis.keys(`${disturbed.prefix}t:default:network:*`);
    assert.ok(dashboard.length > 0, 'the rollup rewrote the network keys');
  });
});
