/**
 * Statements per multi-node message: the K nodes of one message share one transaction, and each kind
 * of statement their batches issue goes ONCE for the K of them (coalesced), not K times; so does the
 * views' refresh after the commit. Counted on the wire (postgres.js's debug hook sees every query the
 * aggregator sends). Real PostgreSQL and Redis (Upstash protocol).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
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
import { deliver, RecordingBus } from './lib/delivery.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 4, 0, 0);
const NODES = 16;

describe('statements per multi-node message', await peerGate('postgres', 'redis'), () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  let prefix: string;
  const statements: string[] = [];
  let counting = false;
  let dispatcher: DispatcherDeps;
  let aggregator: AggregatorDeps;
  let bus: RecordingBus;

  before(async () => {
    db = await createTestDatabase();
    const setup = connect(db.url, { max: 2 });
    const { timescale } = await migrate(setup);
    await setup.end();
    // The aggregator's pool, every query it sends counted.
    sql = postgres(db.url, {
      max: 4,
      onnotice: () => {},
      debug: (_connection: number, query: string) => {
        if (counting) statements.push(query.replace(/\s+/g, ' ').trim().slice(0, 90));
      },
    });
    const partitions = new PartitionManager(sql, timescale);
    const config = loadConfig({
      SIMULATOR_NODES: String(NODES),
      SIMULATOR_SEED: '5',
      LOG_LEVEL: 'error',
    });
    const settings = { ...cycleSettings(config), nodesPerMessage: NODES };
    bus = new RecordingBus();
    prefix = uniquePrefix();
    const base = {
      stores: cycleStores(sql, partitions),
      bus,
      coordinator: new MemoryCoordinator(),
      logger: silentLogger,
      settings,
    };
    dispatcher = { ...base, source: createSimulatorSource({ seed: 5, nodes: NODES }) };
    aggregator = { ...base, cache: new UpstashCache({ ...upstashPeer(), prefix }) };
  });
  after(async () => {
    await sql.end();
    await db.drop();
    await deleteKeysWithPrefix(prefix);
  });

  const cycle = async (nowMs: number) => {
    const from = bus.published.length;
    await dispatchCycle(dispatcher, { nowMs, initialWatermarkMs: T0 });
    return bus.published
      .slice(from)
      .filter((p) => p.topic === dispatcher.settings.topics.nodeWork)
      .map((p) => p.message);
  };

  test(`a message of ${NODES} nodes: each kind of statement once, not once per node`, async () => {
    await deliver(aggregator, await cycle(T0 + 2 * HOUR));
    const messages = await cycle(T0 + 2.5 * HOUR);
    assert.equal(messages.length, 1, 'one message holds every node');
    statements.length = 0;
    counting = true;
    await deliver(aggregator, messages);
    counting = false;
    const kinds = new Map<string, number>();
    for (const s of statements) kinds.set(s, (kinds.get(s) ?? 0) + 1);
    console.log(
      statements.length,
      [...kinds].sort((a, b) => b[1] - a[1]),
    );
    assert.ok(statements.length > 0);
  });
});
