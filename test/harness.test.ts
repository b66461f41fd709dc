/**
 * Proves the test harness: the real client libraries work against the peers it provides.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { createClient } from 'redis';
import {
  createTestDatabase,
  createUpstashServer,
  deleteKeysWithPrefix,
  firestoreEmulatorHost,
  peerGate,
  pubsubEmulatorHost,
  redisUrl,
  resetFirestore,
  uniquePrefix,
  uniqueProjectId,
  upstashPeer,
} from '../dev/peers/index.ts';
import { withoutKeyLockingFlag } from '../dev/peers/upstash-server.ts';

test('the allow-key-locking flag is dropped from a Lua shebang, other flags kept', () => {
  assert.equal(withoutKeyLockingFlag('#!lua flags=allow-key-locking\nreturn 1'), '#!lua\nreturn 1');
  assert.equal(
    withoutKeyLockingFlag('#!lua flags=no-writes,allow-key-locking\nreturn 1'),
    '#!lua flags=no-writes\nreturn 1',
  );
  assert.equal(withoutKeyLockingFlag('#!lua flags=no-writes\nreturn 1'), undefined);
  assert.equal(withoutKeyLockingFlag('return 1'), undefined);
});

describe('Upstash REST server over the real Redis', await peerGate('redis'), () => {
  const prefix = uniquePrefix();
  const key = (name: string) => `${prefix}${name}`;
  let redis: Redis;

  before(() => {
    // The client's defaults: base64 response encoding, automatic JSON (de)serialisation.
    redis = new Redis({ ...upstashPeer(), retry: false });
  });
  after(() => deleteKeysWithPrefix(prefix));

  test('strings, hashes, expiry and mget round-trip, including non-ASCII text', async () => {
    assert.equal(await redis.set(key('s'), 'Zürich ✓ 水'), 'OK');
    assert.equal(await redis.get(key('s')), 'Zürich ✓ 水');
    assert.equal(await redis.get(key('absent')), null);

    await redis.set(key('json'), { flow: 12.5, unit: 'l/s' });
    assert.deepEqual(await redis.get(key('json')), { flow: 12.5, unit: 'l/s' });

    assert.equal(await redis.hset(key('h'), { a: 'one', b: 2 }), 2);
    assert.deepEqual(await redis.hgetall(key('h')), { a: 'one', b: 2 });

    assert.equal(await redis.expire(key('s'), 100), 1);
    const ttl = await redis.ttl(key('s'));
    assert.ok(ttl > 0 && ttl <= 100, `ttl ${ttl}`);
    assert.equal(await redis.ttl(key('json')), -1);

    assert.deepEqual(await redis.mget(key('s'), key('absent'), key('json')), [
      'Zürich ✓ 水',
      null,
      { flow: 12.5, unit: 'l/s' },
    ]);
  });

  test('the keys really are in Redis', async () => {
    await redis.set(key('direct'), 'seen');
    const client = createClient({ url: redisUrl() });
    await client.connect();
    try {
      assert.equal(await client.get(key('direct')), 'seen');
    } finally {
      client.destroy();
    }
  });

  test('a pipeline returns each result, and a failing command fails on its own', async () => {
    const results = await redis
      .pipeline()
      .set(key('p'), 'v')
      .incr(key('n'))
      .incr(key('n'))
      .get(key('p'))
      .hset(key('ph'), { x: 1 })
      .hgetall(key('ph'))
      .exec();
    assert.deepEqual(results, ['OK', 1, 2, 'v', 1, { x: 1 }]);

    await assert.rejects(redis.incr(key('ph')), /WRONGTYPE/);
    const mixed = await redis.pipeline().incr(key('ph')).get(key('p')).exec({ keepErrors: true });
    assert.match(String(mixed[0]?.error), /WRONGTYPE/);
    assert.equal(mixed[1]?.result, 'v');
  });

  test('multi-exec runs a transaction', async () => {
    const results = await redis.multi().set(key('m'), 1).incrby(key('m'), 4).get(key('m')).exec();
    assert.deepEqual(results, ['OK', 5, 5]);
  });

  test('@upstash/ratelimit sliding window allows N calls, then limits', async () => {
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(3, '60 s'),
      prefix: key('rl'),
      ephemeralCache: false,
    });
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await limiter.limit('client-a'));
    assert.deepEqual(
      outcomes.map((o) => o.success),
      [true, true, true, false, false],
    );
    assert.deepEqual(
      outcomes.slice(0, 3).map((o) => o.remaining),
      [2, 1, 0],
    );
    assert.equal((await limiter.limit('client-b')).success, true, 'another identifier has its own window');
  });

  test('a wrong token gets 401', async () => {
    const intruder = new Redis({ url: upstashPeer().url, token: 'wrong', retry: false });
    await assert.rejects(intruder.get(key('s')), /Unauthorized/);
    const res = await fetch(upstashPeer().url, { method: 'POST', body: '["PING"]' });
    assert.equal(res.status, 401);
  });

  test('a private server can be stopped and started again on the same port', async () => {
    const server = await createUpstashServer();
    try {
      const client = new Redis({ url: server.url, token: server.token, retry: false });
      await client.set(key('restart'), 'before');
      await server.stop();
      await assert.rejects(client.get(key('restart')));
      await server.start();
      assert.equal(server.url, `http://127.0.0.1:${server.port}`);
      assert.equal(await client.get(key('restart')), 'before');
    } finally {
      await server.close();
    }
  });

  test('responses are plain JSON without the base64 header', async () => {
    const { url, token } = upstashPeer();
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    assert.deepEqual(await (await post('/', ['SET', key('raw'), 42])).json(), { result: 'OK' });
    assert.deepEqual(await (await post('/', ['GET', key('raw')])).json(), { result: '42' });
    assert.deepEqual(await (await post('/', ['HSET', key('rawh'), 'f', 'v'])).json(), { result: 1 });
    const failed = await post('/', ['INCR', key('rawh')]);
    assert.equal(failed.status, 400);
    assert.match(((await failed.json()) as { error: string }).error, /WRONGTYPE/);
    assert.deepEqual(await (await post('/pipeline', [['INCR', key('raw')], ['NOPE']])).json(), [
      { result: 43 },
      { error: "ERR unknown command 'NOPE', with args beginning with: " },
    ]);
  });
});

describe('a fresh PostgreSQL database per test file', await peerGate('postgres'), () => {
  test('is isolated from another one and is really dropped', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    try {
      assert.notEqual(a.url, b.url);
      await a.sql`create table readings (node text primary key)`;
      await a.sql`insert into readings values ('n1')`;
      const [{ count }] = await a.sql<[{ count: number }]>`select count(*)::int as count from readings`;
      assert.equal(count, 1);
      const [{ exists }] = await b.sql<[{ exists: boolean }]>`
        select exists (select from pg_tables where tablename = 'readings') as exists`;
      assert.equal(exists, false);
    } finally {
      await b.drop();
    }

    const name = new URL(a.url).pathname.slice(1);
    // An open connection of the code under test must not stop the drop.
    const [{ current }] = await a.sql<[{ current: string }]>`select current_database() as current`;
    assert.equal(current, name);
    await a.drop();
    const admin = await createTestDatabase();
    try {
      const rows = await admin.sql`select 1 from pg_database where datname = ${name}`;
      assert.equal(rows.length, 0);
    } finally {
      await admin.drop();
    }
  });
});

describe('the Pub/Sub emulator', await peerGate('pubsub'), () => {
  test('delivers a published message with its attributes to a subscription', async () => {
    const pubsub = new PubSub({ projectId: uniqueProjectId(), apiEndpoint: pubsubEmulatorHost() });
    try {
      const [topic] = await pubsub.createTopic('node-work');
      const [subscription] = await topic.createSubscription('node-work-sub');
      const received = new Promise<{ data: string; attributes: Record<string, string> }>(
        (resolve, reject) => {
          subscription.on('error', reject);
          subscription.on('message', (message) => {
            message.ack();
            resolve({ data: message.data.toString('utf8'), attributes: message.attributes });
          });
        },
      );
      await topic.publishMessage({
        data: Buffer.from(JSON.stringify({ nodeId: 'n-17' })),
        attributes: { tenant: 'default', cycle: '2026-01-01T00:00:00Z' },
      });
      const message = await received;
      await subscription.close();
      assert.deepEqual(JSON.parse(message.data), { nodeId: 'n-17' });
      assert.deepEqual(message.attributes, { tenant: 'default', cycle: '2026-01-01T00:00:00Z' });
    } finally {
      await pubsub.close();
    }
  });
});

describe('the Firestore emulator', await peerGate('firestore'), () => {
  const projectId = uniqueProjectId();
  let db: Firestore;

  before(() => {
    db = new Firestore({ projectId, host: firestoreEmulatorHost(), ssl: false });
  });
  after(async () => {
    await resetFirestore(projectId);
    await db.terminate();
  });

  test('10 concurrent transactional increments end at 10, and a reset empties the project', async () => {
    const counter = db.collection('counters').doc('cycle');
    await counter.set({ n: 0 });
    // Contention aborts and retries transactions; allow more than the default 5 attempts each,
    // since what is proven here is that no update is lost.
    await Promise.all(
      Array.from({ length: 10 }, () =>
        db.runTransaction(
          async (tx) => {
            const snapshot = await tx.get(counter);
            tx.update(counter, { n: (snapshot.get('n') as number) + 1 });
          },
          { maxAttempts: 10 },
        ),
      ),
    );
    assert.equal((await counter.get()).get('n'), 10);

    await resetFirestore(projectId);
    assert.equal((await counter.get()).exists, false);
  });
});
