/**
 * The processing cycle on the Google Cloud services' emulators: the dispatcher publishes one
 * message per node to Pub/Sub, push subscriptions deliver them to the real aggregator function,
 * Firestore coordinates the fan-in, PostgreSQL and Redis (Upstash protocol) hold the results.
 * Faults: a poison message and a node that always fails are dead-lettered; the run ends partial
 * and the failing node's watermark does not move.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from '@upstash/redis';
import {
  createTestDatabase,
  deleteKeysWithPrefix,
  firestoreEmulatorHost,
  peerGate,
  pubsubEmulatorHost,
  type TestDatabase,
  uniquePrefix,
  uniqueProjectId,
  upstashPeer,
} from '../dev/peers/index.ts';
import { keys } from '../shared/domain/keys.ts';
import { type CloudStack, startCloudStack, waitFor } from './lib/cloud-stack.ts';

const FAILING_NODE = 'd01-pump-1';

describe(
  'the cycle on Pub/Sub and Firestore emulators',
  await peerGate('postgres', 'redis', 'pubsub', 'firestore'),
  () => {
    let db: TestDatabase;
    let stack: CloudStack;
    const prefix = uniquePrefix();
    const projectId = uniqueProjectId();

    before(async () => {
      db = await createTestDatabase();
      const upstash = upstashPeer();
      stack = await startCloudStack({
        projectId,
        env: {
          DATABASE_URL: db.url,
          PUBSUB_EMULATOR_HOST: pubsubEmulatorHost(),
          FIRESTORE_EMULATOR_HOST: firestoreEmulatorHost(),
          UPSTASH_REDIS_REST_URL: upstash.url,
          UPSTASH_REDIS_REST_TOKEN: upstash.token,
          REDIS_KEY_PREFIX: prefix,
          SIMULATOR_NODES: '12',
          SIMULATOR_SEED: '3',
          LOG_LEVEL: 'error',
        },
      });
    });

    after(async () => {
      await stack?.close();
      await db?.drop();
      await deleteKeysWithPrefix(prefix);
    });

    const runs = () =>
      db.sql<
        { id: string; status: string; nodes_total: number; nodes_done: number; failed_nodes: string[] }[]
      >`
      select id, status, nodes_total, nodes_done, failed_nodes from runs order by started_at`;

    test('a cycle fans out through Pub/Sub and fans in once, into PostgreSQL and Redis', async () => {
      await stack.dispatch();
      const [run] = await waitFor('the run to finish', async () => {
        const r = await runs();
        return r.length === 1 && r[0]!.status !== 'running' ? r : undefined;
      });
      assert.equal(run!.status, 'done');
      assert.equal(run!.nodes_done, run!.nodes_total);
      const applied = await db.sql<
        { n: number }[]
      >`select count(distinct node_id)::int4 as n from applied_batches`;
      assert.equal(applied[0]!.n, run!.nodes_total);
      const redis = new Redis(upstashPeer());
      const summary = await redis.get<{ nodes: { total: number }; lastRun: { id: string } }>(
        prefix + keys.dashboardSummary('default'),
      );
      assert.equal(summary?.nodes.total, run!.nodes_total);
      const latest = await redis.get<{ nodeId: string }>(prefix + keys.nodeLatest('default', 'd01-inlet-1'));
      assert.equal(latest?.nodeId, 'd01-inlet-1');
    });

    test('a node that keeps failing is dead-lettered: the run ends partial, its watermark holds', async () => {
      // A real failure inside PostgreSQL for one node: its transaction can never commit.
      await db.sql.unsafe(`
      create function fail_one_node() returns trigger language plpgsql as $$
      begin
        if new.node_id = '${FAILING_NODE}' then raise exception 'injected failure for %', new.node_id; end if;
        return new;
      end $$;
      create trigger fail_one_node before insert on applied_batches
        for each row execute function fail_one_node();`);
      const before = await db.sql<{ ms: number }[]>`
      select (extract(epoch from ingested_to) * 1000)::float8 as ms from node_watermarks where node_id = ${FAILING_NODE}`;
      await stack.dispatch();
      const all = await waitFor(
        'the second run to finish',
        async () => {
          const r = await runs();
          return r.length === 2 && r[1]!.status !== 'running' ? r : undefined;
        },
        90_000,
      );
      const run = all[1]!;
      assert.equal(run.status, 'partial');
      assert.deepEqual(run.failed_nodes, [FAILING_NODE]);
      assert.equal(run.nodes_done, run.nodes_total - 1);
      const afterRun = await db.sql<{ ms: number }[]>`
      select (extract(epoch from ingested_to) * 1000)::float8 as ms from node_watermarks where node_id = ${FAILING_NODE}`;
      assert.equal(afterRun[0]!.ms, before[0]!.ms, 'the failing node keeps its watermark');
      const others = await db.sql<{ n: number }[]>`
      select count(*)::int4 as n from node_watermarks where node_id <> ${FAILING_NODE} and ingested_to > to_timestamp(${before[0]!.ms} / 1000.0)`;
      assert.equal(others[0]!.n, run.nodes_total - 1, 'every other node moved on');
      await db.sql.unsafe('drop trigger fail_one_node on applied_batches');
    });

    test('a poison message goes straight to the dead-letter topic, with its reason', async () => {
      const dead = stack.pubsub.topic(process.env.TOPIC_DEAD_LETTER ?? 'wnm-dead-letter');
      const [watch] = await dead.createSubscription('watch-dead-letters');
      const received = new Promise<Record<string, string>>((resolve) => {
        watch.on('message', (m) => {
          m.ack();
          resolve(m.attributes);
        });
      });
      await stack.pubsub
        .topic('wnm-node-work')
        .publishMessage({ data: Buffer.from('{"v":1,"kind":"node"'), attributes: { kind: 'node' } });
      const attributes = await received;
      await watch.close();
      assert.match(attributes.poison ?? '', /not JSON/);
    });
  },
);
