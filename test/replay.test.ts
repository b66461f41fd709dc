/**
 * At-least-once, out-of-order delivery: every message delivered three times in shuffled order
 * (even runs dispatched before the previous run was applied) leaves PostgreSQL and Redis exactly
 * as one ordered delivery does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from '@upstash/redis';
import {
  createTestDatabase,
  deleteKeysWithPrefix,
  peerGate,
  type TestDatabase,
  uniquePrefix,
  upstashPeer,
} from '../dev/peers/index.ts';
import { UpstashCache } from '../shared/adapters/cache/upstash.ts';
import { MemoryCoordinator } from '../shared/adapters/coordination/memory.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { loadConfig } from '../shared/config.ts';
import type { AggregatorDeps, DispatcherDeps } from '../shared/cycle/deps.ts';
import { dispatchCycle } from '../shared/cycle/dispatch/index.ts';
import { silentLogger } from '../shared/log.ts';
import { createSimulatorSource } from '../shared/simulator/index.ts';
import { cycleSettings, cycleStores } from '../shared/wiring/cycle.ts';
import { differences, nodeKeyState, tableState } from './lib/checksums.ts';

import { deliver, RecordingBus, shuffle } from './lib/delivery.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 4, 0, 0);
const CYCLES = [T0 + 2 * HOUR, T0 + 2.5 * HOUR, T0 + 3 * HOUR, T0 + 5 * HOUR];

interface Target {
  db: TestDatabase;
  prefix: string;
  bus: RecordingBus;
  sql: ReturnType<typeof connect>;
  dispatcher: DispatcherDeps;
  aggregator: AggregatorDeps;
}

async function target(): Promise<Target> {
  const db = await createTestDatabase();
  const sql = connect(db.url, { max: 4 });
  const { timescale } = await migrate(sql);
  const partitions = new PartitionManager(sql, timescale);
  const config = loadConfig({ SIMULATOR_NODES: '10', SIMULATOR_SEED: '11', LOG_LEVEL: 'error' });
  const settings = cycleSettings(config);
  const bus = new RecordingBus();
  const coordinator = new MemoryCoordinator();
  const prefix = uniquePrefix();
  const cache = new UpstashCache({ ...upstashPeer(), prefix });
  const base = { stores: cycleStores(sql, partitions), bus, coordinator, logger: silentLogger, settings };
  return {
    db,
    prefix,
    bus,
    sql,
    dispatcher: { ...base, source: createSimulatorSource({ seed: 11, nodes: 10 }) },
    aggregator: { ...base, cache },
  };
}

describe('replayed, shuffled delivery', await peerGate('postgres', 'redis'), () => {
  let ordered: Target;
  let replayed: Target;

  before(async () => {
    ordered = await target();
    replayed = await target();
  });
  after(async () => {
    for (const t of [ordered, replayed]) {
      await t?.sql.end();
      await t?.db.drop();
      if (t) await deleteKeysWithPrefix(t.prefix);
    }
  });

  test('three shuffled deliveries of every message leave the same PostgreSQL and Redis state', async () => {
    // Ordered: dispatch, deliver everything once in order, then the next cycle.
    for (const now of CYCLES) {
      const from = ordered.bus.published.length;
      await dispatchCycle(ordered.dispatcher, { nowMs: now, initialWatermarkMs: T0 });
      await deliver(
        ordered.aggregator,
        ordered.bus.published.slice(from).map((p) => p.message),
      );
    }
    // Replayed: every cycle dispatched before anything is applied (runs overlap), then every
    // message three times, shuffled.
    for (const now of CYCLES)
      await dispatchCycle(replayed.dispatcher, { nowMs: now, initialWatermarkMs: T0 });
    const all = replayed.bus.published.map((p) => p.message);
    await deliver(replayed.aggregator, shuffle([...all, ...all, ...all], 42));

    assert.deepEqual(differences(await tableState(replayed.db.sql), await tableState(ordered.db.sql)), []);
    const redis = new Redis(upstashPeer());
    const nodes = (await ordered.dispatcher.source.network()).nodes.map((n) => n.id);
    assert.deepEqual(
      differences(
        await nodeKeyState(redis, replayed.prefix, 'default', nodes),
        await nodeKeyState(redis, ordered.prefix, 'default', nodes),
      ),
      [],
    );
    // The overlapping runs really did carry the same readings more than once.
    const readingsOf = (m: { ts?: unknown[]; batches?: { ts: unknown[] }[] }): number =>
      (m.ts?.length ?? 0) + (m.batches ?? []).reduce((n, b) => n + b.ts.length, 0);
    const carried = (t: Target) =>
      t.bus.published.reduce((n, p) => n + readingsOf(JSON.parse(p.message.data.toString())), 0);
    assert.ok(
      carried(replayed) > carried(ordered),
      `${carried(replayed)} vs ${carried(ordered)} readings published`,
    );
  });
});
