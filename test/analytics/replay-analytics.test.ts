/**
 * The analytics under at-least-once, out-of-order delivery: every message of four overlapping runs
 * delivered three times in shuffled order leaves the same data-quality counters and scores as one
 * ordered delivery, and the same anomalies but for one kind of difference that is the point of them:
 * a node whose hour of readings arrives late (the simulator delays 1 % of node-hours by 1–6 hours) IS
 * silent at the cycles before it arrives when runs come in order, while a replay that applies it in one
 * go already has it. (test/replay.test.ts checks the aggregates and served views of the same
 * scenario.) Sensor faults are injected often, so there are anomalies to compare.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../../dev/peers/index.ts';
import { MemoryCache } from '../../shared/adapters/cache/memory.ts';
import { MemoryCoordinator } from '../../shared/adapters/coordination/memory.ts';
import { MemoryModelRegistry } from '../../shared/adapters/coordination/model-registry.ts';
import { connect } from '../../shared/adapters/postgres/client.ts';
import { migrate } from '../../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../../shared/adapters/postgres/partitions.ts';
import { loadConfig } from '../../shared/config.ts';
import type { AggregatorDeps, DispatcherDeps } from '../../shared/cycle/deps.ts';
import { dispatchCycle } from '../../shared/cycle/dispatch/index.ts';
import { silentLogger } from '../../shared/log.ts';
import { createSimulatorSource } from '../../shared/simulator/index.ts';
import { cycleSettings, cycleStores } from '../../shared/wiring/cycle.ts';
import { differences } from '../lib/checksums.ts';
import { deliver, RecordingBus, shuffle } from '../lib/delivery.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 4, 0, 0);
const CYCLES = [T0 + 2 * HOUR, T0 + 2.5 * HOUR, T0 + 3 * HOUR, T0 + 5 * HOUR];
const SOURCE = {
  seed: 21,
  nodes: 10,
  eventRates: { flatline: 4, negativeFlow: 4, gap: 4, outOfRange: 2, lowChlorine: 4 },
};

interface Target {
  db: TestDatabase;
  bus: RecordingBus;
  sql: ReturnType<typeof connect>;
  dispatcher: DispatcherDeps;
  aggregator: AggregatorDeps;
}

async function target(): Promise<Target> {
  const db = await createTestDatabase();
  const sql = connect(db.url, { max: 4 });
  const { timescale } = await migrate(sql);
  const settings = cycleSettings(loadConfig({ LOG_LEVEL: 'error' }));
  const bus = new RecordingBus();
  const base = {
    stores: cycleStores(sql, new PartitionManager(sql, timescale)),
    bus,
    coordinator: new MemoryCoordinator(),
    logger: silentLogger,
    settings,
  };
  return {
    db,
    bus,
    sql,
    dispatcher: { ...base, source: createSimulatorSource(SOURCE) },
    aggregator: { ...base, cache: new MemoryCache(), models: new MemoryModelRegistry() },
  };
}

async function analyticsState(t: Target) {
  const sql = t.db.sql;
  return {
    quality_5m: await sql`select * from quality_5m order by node_id, bucket`,
    quality_1h: await sql`select * from quality_1h order by node_id, bucket`,
    quality_1d: await sql`select * from quality_1d order by node_id, bucket`,
    node_quality: await sql`select node_id, as_of, body from node_quality order by node_id`,
    anomalies: await sql`
      select id, node_id, district_id, subject, type, metric, severity, peak_severity, status, started_at,
        first_seen_at, last_seen_at, opened_at, resolved_at, resolved_by, ended_at, evidence, peak_evidence
      from anomalies order by id`,
  };
}

describe('analytics under replayed, shuffled delivery', await peerGate('postgres'), () => {
  let ordered: Target;
  let replayed: Target;

  before(async () => {
    ordered = await target();
    replayed = await target();
    for (const now of CYCLES) {
      const from = ordered.bus.published.length;
      await dispatchCycle(ordered.dispatcher, { nowMs: now, initialWatermarkMs: T0 });
      await deliver(
        ordered.aggregator,
        ordered.bus.published.slice(from).map((p) => p.message),
      );
    }
    for (const now of CYCLES)
      await dispatchCycle(replayed.dispatcher, { nowMs: now, initialWatermarkMs: T0 });
    const all = replayed.bus.published.map((p) => p.message);
    await deliver(replayed.aggregator, shuffle([...all, ...all, ...all], 42));
  });

  after(async () => {
    for (const t of [ordered, replayed]) {
      await t?.sql.end();
      await t?.db.drop();
    }
  });

  test('the same quality counters and scores as one ordered delivery', async () => {
    const a = await analyticsState(replayed);
    const b = await analyticsState(ordered);
    assert.ok(b.quality_5m.length > 0);
    const { anomalies: _a, ...quality } = a;
    const { anomalies: _b, ...expected } = b;
    assert.deepEqual(differences(quality, expected), []);
  });

  test('the same anomalies, but for silences that only an ordered delivery could see', async () => {
    const a = (await analyticsState(replayed)).anomalies;
    const b = (await analyticsState(ordered)).anomalies;
    assert.ok(b.length >= 4, 'the scenario opens anomalies');
    const byId = new Map(b.map((x) => [x.id as string, x]));
    for (const x of a)
      assert.deepEqual(differences(x, byId.get(x.id as string)), [], `${x.type} at ${x.node_id}`);
    const onlyOrdered = b.filter((x) => !a.some((y) => y.id === x.id));
    assert.ok(
      onlyOrdered.every((x) => x.type === 'silent' || x.type === 'gap'),
      JSON.stringify(onlyOrdered),
    );
  });
});
