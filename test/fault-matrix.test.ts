/**
 * The fault matrix during a cycle: the cloud-shaped cycle (Pub/Sub emulator push with retry and
 * dead-letter policies, Firestore emulator fan-in, PostgreSQL, Redis behind the Upstash REST server)
 * with every peer behind its own fault proxy, analytics on. For each peer × {down, slow, cut
 * mid-stream}: dispatch, hold the deliveries, put the fault in place, let the aggregators run into
 * it, heal, let redelivery finish the run, then run one clean cycle. Each cell asserts
 * (a) the fault really happened (the proxy's refused/delayed/cut counts; for PostgreSQL down, failed
 *     deliveries counted by the push endpoint; for Redis down, hot-key writes given up as counted by
 *     shared/cycle/hot-keys.ts and its `cache.writes_failing` log line),
 * (b) PostgreSQL's state and every node's hot keys equal an undisturbed reference run's (one shared
 *     reference: the same network and cycle times on the in-process stack, undisturbed),
 * (c) no run is left `running`, and every reading is applied once (the state comparison: counts,
 *     sums and watermarks equal the reference's).
 *
 * Where a peer is not on the cycle's path while deliveries are held, the fault still hits what the
 * aggregator does with it: Pub/Sub is met by the finisher's rollup publish (push deliveries come from
 * the emulator itself, not through our client), Firestore by the fan-in counters and model registry.
 * All twelve cells are covered; none is skipped. Scope: faults during a cycle only (API traffic
 * under faults is test/api/faults.test.ts's). "Down" lasts until the code has met it (a refused
 * connection; for PostgreSQL also a failed delivery), then heals, so redelivery finishes the run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from '@upstash/redis';
import { createLocalStack, type LocalStack } from '../dev/local-stack.ts';
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
import { loadConfig } from '../shared/config.ts';
import { hotKeyWriteFailures } from '../shared/cycle/hot-keys.ts';
import { createLogger } from '../shared/log.ts';
import { differences, nodeKeyState, tableState } from './lib/checksums.ts';
import { waitFor } from './lib/cloud-stack.ts';
import { type FaultStack, type Peer, startFaultStack } from './lib/fault-stack.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 6, 10);
const settings = { SIMULATOR_NODES: '8', SIMULATOR_SEED: '23', LOG_LEVEL: 'info', ANALYTICS_ENABLED: 'true' };
const PEERS: Peer[] = ['postgres', 'redis', 'pubsub', 'firestore'];
const FAULTS = ['down', 'slow', 'cut'] as const;

describe(
  'the fault matrix during a cycle',
  await peerGate('postgres', 'redis', 'pubsub', 'firestore'),
  () => {
    let stack: FaultStack;
    let reference: LocalStack;
    let db: TestDatabase;
    let refDb: TestDatabase;
    const prefix = uniquePrefix();
    const refPrefix = uniquePrefix();
    const events: { event?: string }[] = [];
    let nodes: string[] = [];
    let cycle = 0;
    let dispatched = 0;
    const redis = new Redis(upstashPeer());

    before(async () => {
      db = await createTestDatabase();
      refDb = await createTestDatabase();
      const upstash = upstashPeer();
      stack = await startFaultStack({
        projectId: uniqueProjectId(),
        databaseUrl: db.url,
        upstash,
        pubsubHost: pubsubEmulatorHost(),
        firestoreHost: firestoreEmulatorHost(),
        prefix,
        settings,
        logger: createLogger({ level: 'info', sink: (line) => events.push(JSON.parse(line)) }),
        maxDeliveryAttempts: 10,
      });
      reference = await createLocalStack(
        loadConfig({
          ...settings,
          LOG_LEVEL: 'error',
          DATABASE_URL: refDb.url,
          UPSTASH_REDIS_REST_URL: upstash.url,
          UPSTASH_REDIS_REST_TOKEN: upstash.token,
          REDIS_KEY_PREFIX: refPrefix,
        }),
      );
      nodes = (await reference.dispatcher.source.network()).nodes.map((n) => n.id);
    });

    after(async () => {
      await stack?.close();
      await reference?.close();
      await db?.drop();
      await refDb?.drop();
      await deleteKeysWithPrefix(prefix);
      await deleteKeysWithPrefix(refPrefix);
    });

    const runs = () =>
      db.sql<{ status: string; window_to: Date }[]>`select status, window_to from runs order by window_to`;

    /** Waits until the run ending at `nowMs` is closed and no delivery is being handled. */
    const settled = (nowMs: number) =>
      waitFor(
        `the run ending ${new Date(nowMs).toISOString()} to close`,
        async () => {
          const r = (await runs()).find((x) => x.window_to.getTime() === nowMs);
          return r && r.status !== 'running' && stack.deliveries.inFlight === 0 ? r.status : undefined;
        },
        90_000,
      );

    /** One cycle on both sides: the disturbed one with `during` run while deliveries are held. */
    async function faultedCycle(during: () => Promise<void> | void, heal: () => Promise<void>) {
      const nowMs = T0 + 2 * HOUR + cycle * HOUR;
      cycle++;
      await reference.cycle(nowMs, T0);
      stack.hold();
      await stack.dispatch(nowMs, T0);
      dispatched++;
      await during();
      stack.open();
      await heal();
      const status = await settled(nowMs);
      // A clean cycle after the fault: repairs what Redis missed, applies what a failed node held.
      const next = nowMs + HOUR / 2;
      await reference.cycle(next);
      await stack.dispatch(next);
      dispatched++;
      await settled(next);
      return status;
    }

    /**
     * Watches (every millisecond: the proxy and the client share this event loop, so a request
     * takes several turns) for a live connection while deliveries are being handled, and cuts it;
     * twice, or once when the deliveries are over by then.
     */
    function cutWhileDelivering(peer: Peer) {
      const proxy = stack.proxies[peer];
      const deadline = Date.now() + 60_000;
      let cuts = 0;
      return new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (stack.deliveries.inFlight > 0 && proxy.open > 0 && proxy.cut() > 0) cuts++;
          if (cuts >= 2 || (cuts > 0 && stack.deliveries.inFlight === 0)) {
            clearInterval(timer);
            resolve();
          } else if (Date.now() > deadline) {
            clearInterval(timer);
            reject(new Error(`no live ${peer} connection to cut while deliveries ran`));
          }
        }, 1);
      });
    }

    async function assertSameAsReference() {
      const all = await runs();
      assert.equal(all.length, dispatched, 'every cycle opened one run');
      assert.deepEqual(
        all.filter((r) => !['done', 'partial', 'failed'].includes(r.status)),
        [],
        'no run left open',
      );
      assert.deepEqual(differences(await tableState(db.sql), await tableState(refDb.sql)), []);
      assert.deepEqual(
        differences(
          await nodeKeyState(redis, prefix, 'default', nodes),
          await nodeKeyState(redis, refPrefix, 'default', nodes),
        ),
        [],
      );
    }

    for (const peer of PEERS) {
      for (const fault of FAULTS) {
        test(`${peer} ${fault} during a cycle`, async () => {
          const proxy = stack.proxies[peer];
          const before = { ...proxy.stats };
          const failedBefore = stack.deliveries.failed;
          const givenUpBefore = hotKeyWriteFailures(stack.aggregator.cache).writes;
          if (fault === 'down') {
            await faultedCycle(
              () => void proxy.down(),
              async () => {
                // Down until the code has met it: a connection refused, and where the code counts
                // it, its own failure (PostgreSQL: a failed delivery; Redis: hot-key writes given
                // up), then back.
                await waitFor(`${peer} to refuse a connection`, async () =>
                  proxy.stats.refused > before.refused &&
                  (peer !== 'postgres' || stack.deliveries.failed > failedBefore) &&
                  (peer !== 'redis' || hotKeyWriteFailures(stack.aggregator.cache).writes > givenUpBefore)
                    ? true
                    : undefined,
                );
                proxy.heal();
              },
            );
            assert.ok(proxy.stats.refused > before.refused, 'connections were refused');
            if (peer === 'postgres') assert.ok(stack.deliveries.failed > failedBefore, 'deliveries failed');
            if (peer === 'redis') {
              const { writes } = hotKeyWriteFailures(stack.aggregator.cache);
              assert.ok(writes > givenUpBefore, 'hot-key writes were given up');
              assert.ok(
                events.some((e) => e.event === 'cache.writes_failing'),
                'the outage was logged',
              );
            }
          } else if (fault === 'slow') {
            await faultedCycle(
              () => proxy.latency(40),
              async () => {
                await waitFor(`${peer} traffic to be delayed`, async () =>
                  proxy.stats.delayed > before.delayed ? true : undefined,
                );
                await waitFor('the held deliveries to be handled', async () =>
                  stack.deliveries.inFlight === 0 ? true : undefined,
                );
                proxy.heal();
              },
            );
            assert.ok(proxy.stats.delayed > before.delayed, 'traffic was delayed');
          } else {
            // Cut the live connections while the aggregators are at work (twice).
            await faultedCycle(
              () => {},
              async () => {
                await cutWhileDelivering(peer);
              },
            );
            assert.ok(proxy.stats.cut > before.cut, 'live connections were cut');
          }
          await assertSameAsReference();
        });
      }
    }

    test('across the matrix no message was dead-lettered: every delivery was retried to success', () => {
      const count = (e: string) => events.filter((x) => x.event === e).length;
      assert.equal(count('message.dead_lettered'), 0, JSON.stringify(events.slice(-5)));
    });
  },
);
