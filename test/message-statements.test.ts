/**
 * Statements per multi-node message: the K nodes of one message share one transaction, and each kind
 * of statement their batches issue goes ONCE for the K of them (coalesced: reads as one LATERAL
 * statement, writes merged per kind into one), not K times; so do the views' refresh reads and window
 * writes after the commit. Counted on the wire (postgres.js's debug hook sees every query the
 * aggregator sends). The coalesced path writes exactly what one message per node writes, and a
 * failure of a coalesced statement still fails only its node. Real PostgreSQL and Redis (Upstash protocol).
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
import { toCloudEvent } from '../shared/adapters/bus/bus.ts';
import { UpstashCache } from '../shared/adapters/cache/upstash.ts';
import { MemoryCoordinator } from '../shared/adapters/coordination/memory.ts';
import { readBatchBuckets, readManyBatchBuckets } from '../shared/adapters/postgres/aggregates.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { readNodeState, readNodeStates } from '../shared/adapters/postgres/node-state.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { readManyNodeViewInputs, readNodeViewInputs } from '../shared/adapters/postgres/view-state.ts';
import { loadConfig } from '../shared/config.ts';
import type { AggregatorDeps, DispatcherDeps } from '../shared/cycle/deps.ts';
import { dispatchCycle } from '../shared/cycle/dispatch/index.ts';
import { handleAggregatorEvent } from '../shared/cycle/handlers.ts';
import type { Logger } from '../shared/log.ts';
import { createSimulatorSource } from '../shared/simulator/index.ts';
import { cycleSettings, cycleStores } from '../shared/wiring/cycle.ts';
import { deliver, RecordingBus } from './lib/delivery.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 4, 0, 0);
const CYCLES = [T0 + 2 * HOUR, T0 + 2.5 * HOUR];
const NODES = 16;

interface Target {
  db: TestDatabase;
  sql: postgres.Sql;
  prefix: string;
  bus: RecordingBus;
  dispatcher: DispatcherDeps;
  aggregator: AggregatorDeps;
  /** The statements the aggregator's pool sent while `counting`. */
  statements: string[];
  counting: boolean;
  /** What the aggregator logged at warn level (its events). */
  warned: string[];
}

const targets: Target[] = [];
async function target(nodesPerMessage: number): Promise<Target> {
  const db = await createTestDatabase();
  const setup = connect(db.url, { max: 2 });
  const { timescale } = await migrate(setup);
  await setup.end();
  const t = { db, statements: [] as string[], counting: false, warned: [] as string[] } as Target;
  // The aggregator's pool, every query it sends seen.
  t.sql = postgres(db.url, {
    max: 4,
    onnotice: () => {},
    debug: (_connection: number, query: string) => {
      if (t.counting) t.statements.push(query.replace(/\s+/g, ' ').trim().slice(0, 90));
    },
  });
  const partitions = new PartitionManager(t.sql, timescale);
  const config = loadConfig({ SIMULATOR_NODES: String(NODES), SIMULATOR_SEED: '5', LOG_LEVEL: 'error' });
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    error: () => {},
    warn: (message, fields) => {
      t.warned.push(String(fields?.event ?? message));
    },
    child: () => logger,
  };
  t.bus = new RecordingBus();
  t.prefix = uniquePrefix();
  const base = {
    stores: cycleStores(t.sql, partitions),
    bus: t.bus,
    coordinator: new MemoryCoordinator(),
    logger,
    settings: { ...cycleSettings(config), nodesPerMessage },
  };
  t.dispatcher = { ...base, source: createSimulatorSource({ seed: 5, nodes: NODES }) };
  t.aggregator = { ...base, cache: new UpstashCache({ ...upstashPeer(), prefix: t.prefix }) };
  targets.push(t);
  return t;
}

const cycle = async (t: Target, nowMs: number) => {
  const from = t.bus.published.length;
  await dispatchCycle(t.dispatcher, { nowMs, initialWatermarkMs: T0 });
  return t.bus.published
    .slice(from)
    .filter((p) => p.topic === t.dispatcher.settings.topics.nodeWork)
    .map((p) => p.message);
};

/** Every row the node batches and their refreshes write, exactly (write times left out). */
const TABLES: Record<string, string> = {
  agg_5m: 'node_id, metric, bucket',
  agg_1h: 'node_id, metric, bucket',
  agg_1d: 'node_id, metric, bucket',
  quality_5m: 'node_id, bucket',
  quality_1h: 'node_id, bucket',
  quality_1d: 'node_id, bucket',
  node_quality: 'node_id',
  node_latest: 'node_id',
  node_watermarks: 'node_id',
  node_windows: 'node_id',
  node_view_state: 'node_id',
  anomalies: 'id',
};
async function written(sql: postgres.Sql) {
  const out: Record<string, unknown[]> = {};
  for (const [table, order] of Object.entries(TABLES)) {
    out[table] = [...(await sql.unsafe(`select * from ${table} order by ${order}`))];
  }
  out.applied_batches = [
    ...(await sql`
      select run_id, node_id, part, readings, rejected, min_ts, max_ts from applied_batches
      order by run_id, node_id, part`),
  ];
  return out;
}

const watermarks = async (t: Target) =>
  new Map(
    (
      await t.sql<{ node_id: string; ms: number }[]>`
        select node_id, (extract(epoch from ingested_to) * 1000)::float8 as ms from node_watermarks`
    ).map((r) => [r.node_id, r.ms]),
  );

describe('statements per multi-node message', await peerGate('postgres', 'redis'), () => {
  let single: Target;
  before(async () => {
    // The reference: one message per node.
    single = await target(1);
    for (const now of CYCLES) await deliver(single.aggregator, await cycle(single, now));
  });
  after(async () => {
    for (const t of targets) {
      await t.sql.end();
      await t.db.drop();
      await deleteKeysWithPrefix(t.prefix);
    }
  });

  test(`a message of ${NODES} nodes: each kind of statement at most a few times, not once per node`, async () => {
    const t = await target(NODES);
    await deliver(t.aggregator, await cycle(t, CYCLES[0]!));
    const messages = await cycle(t, CYCLES[1]!);
    assert.equal(messages.length, 1, 'one message holds every node');
    t.counting = true;
    await deliver(t.aggregator, messages);
    t.counting = false;
    const kinds = new Map<string, number>();
    for (const s of t.statements) kinds.set(s, (kinds.get(s) ?? 0) + 1);
    const most = [...kinds].sort((a, b) => b[1] - a[1]);
    // Per node before: its node-state read, its bucket read, its combined write, its view read and
    // its window write (84 statements for the message); coalesced, a kind goes once per statement text.
    assert.ok(t.statements.length <= NODES, `${t.statements.length} statements: ${JSON.stringify(most)}`);
    assert.ok(most[0]![1] <= 4, `a kind sent per node: ${JSON.stringify(most[0])}`);
    for (const [node, ms] of await watermarks(t)) assert.equal(ms, CYCLES[1], node);
  });

  test('the coalesced path writes exactly what one message per node writes', async () => {
    const t = await target(NODES);
    for (const now of CYCLES) {
      const messages = await cycle(t, now);
      assert.deepEqual(
        messages.map((m) => m.attributes.nodes),
        [String(NODES)],
      );
      await deliver(t.aggregator, messages);
    }
    assert.deepEqual(await written(t.sql), await written(single.sql));
    assert.deepEqual(t.warned, [], 'no group fell back to one transaction per node');
  });

  test('a failing statement of one node: its message falls back node by node, the others are applied', async () => {
    const t = await target(NODES);
    await deliver(t.aggregator, await cycle(t, CYCLES[0]!));
    const [message] = await cycle(t, CYCLES[1]!);
    const bad = (await t.sql<{ node_id: string }[]>`select node_id from node_latest order by node_id`)[3]!
      .node_id;
    // A fault in the database: any write of the bad node's latest values fails.
    await t.sql.unsafe(`
      create function fail_latest() returns trigger language plpgsql as $$
      begin
        if new.node_id = '${bad}' then raise exception 'injected fault for %', new.node_id; end if;
        return new;
      end $$;
      create trigger fail_latest before insert or update on node_latest
        for each row execute function fail_latest();`);
    await assert.rejects(
      handleAggregatorEvent(t.aggregator, toCloudEvent('p', 'x', message!, 'm1', new Date(), 1)),
      (err: Error) =>
        err.message.includes(`1 of ${NODES} node batches (${bad}) failed`) &&
        /injected fault/.test(String((err.cause as Error)?.message)),
    );
    assert.deepEqual(t.warned.slice(0, 1), ['nodes.group_failed'], 'the joint transaction failed');
    const marks = await watermarks(t);
    for (const [node, ms] of marks) assert.equal(ms, node === bad ? CYCLES[0] : CYCLES[1], node);
    // The fault gone, the redelivery applies the bad node only; the state is the reference's.
    await t.sql`drop trigger fail_latest on node_latest`;
    await handleAggregatorEvent(t.aggregator, toCloudEvent('p', 'x', message!, 'm2', new Date(), 2));
    assert.equal((await watermarks(t)).get(bad), CYCLES[1]);
    assert.deepEqual(await written(t.sql), await written(single.sql));
  });

  test('a failing window write of one node after the commit: the others are written, it fails alone', async () => {
    const t = await target(NODES);
    await deliver(t.aggregator, await cycle(t, CYCLES[0]!));
    const [message] = await cycle(t, CYCLES[1]!);
    const bad = (await t.sql<{ node_id: string }[]>`select node_id from node_windows order by node_id`)[5]!
      .node_id;
    await t.sql.unsafe(`
      create function fail_windows() returns trigger language plpgsql as $$
      begin
        if new.node_id = '${bad}' then raise exception 'injected fault for %', new.node_id; end if;
        return new;
      end $$;
      create trigger fail_windows before insert or update on node_windows
        for each row execute function fail_windows();`);
    t.counting = true;
    await assert.rejects(
      handleAggregatorEvent(t.aggregator, toCloudEvent('p', 'x', message!, 'm1', new Date(), 1)),
      (err: Error) =>
        err.message.includes(`1 of ${NODES} node batches (${bad}) failed`) &&
        /injected fault/.test(String((err.cause as Error)?.message)),
    );
    t.counting = false;
    // The joint window write failed (the fault), then each node's ran alone.
    const windowWrites = t.statements.filter((s) => s.startsWith('insert into node_windows'));
    assert.ok(windowWrites.length > 2, JSON.stringify(windowWrites));
    const asOf = new Map(
      (
        await t.sql<{ node_id: string; ms: number }[]>`
        select node_id, (extract(epoch from as_of) * 1000)::float8 as ms from node_windows`
      ).map((r) => [r.node_id, r.ms]),
    );
    const before = (await written(single.sql)).node_windows as { node_id: string; as_of: Date }[];
    for (const row of before) {
      if (row.node_id === bad) assert.notEqual(asOf.get(bad), row.as_of.getTime(), 'its row is the old one');
      else assert.equal(asOf.get(row.node_id), row.as_of.getTime(), row.node_id);
    }
    await t.sql`drop trigger fail_windows on node_windows`;
    await handleAggregatorEvent(t.aggregator, toCloudEvent('p', 'x', message!, 'm2', new Date(), 2));
    assert.deepEqual(await written(t.sql), await written(single.sql));
  });

  test('coalesced reads give each node exactly the rows its own statement gives, whatever each asks', async () => {
    const sql = single.sql;
    const nodes = (await sql<{ node_id: string }[]>`select node_id from node_latest order by node_id`).map(
      (r) => r.node_id,
    );
    const at = CYCLES[1]!;
    const m5 = (k: number) => at - (k + 1) * 300_000;
    // Each node its own buckets, bounds and windows (some none, some beyond what is stored).
    const buckets = nodes.map((nodeId, i) => ({
      nodeId,
      bucketsMs: {
        agg_5m: Array.from({ length: i % 4 }, (_, k) => m5(k * 2 + (i % 3))),
        agg_1h: i % 2 ? [at - HOUR - (at % HOUR), at - (at % HOUR)] : [],
        agg_1d: i % 3 ? [at - (at % (24 * HOUR))] : [],
      },
    }));
    const one = await Promise.all(buckets.map((b) => readBatchBuckets(sql, b.nodeId, b.bucketsMs)));
    assert.deepEqual(await readManyBatchBuckets(sql, buckets), one);
    assert.ok(one.some((b) => b.agg_5m.length > 0) && one.some((b) => b.agg_1h.length > 0));

    const views = nodes.map((nodeId, i) => {
      const asOf = at - (i % 5) * 600_000;
      const dayMs = asOf - (asOf % (24 * HOUR)) - (i % 2) * 24 * HOUR;
      return {
        nodeId,
        bounds: {
          m5FromMs: asOf - HOUR * (1 + (i % 3)),
          h1FromMs: asOf - 7 * 24 * HOUR,
          // Inside the stored hours: a node with its state reads fewer hourly rows than one without.
          h1FullFromMs: asOf - HOUR - (i % 4) * 600_000,
          d1FromMs: asOf - 30 * 24 * HOUR,
          dayMs,
        },
      };
    });
    const viewsOne = await Promise.all(views.map((v) => readNodeViewInputs(sql, v.nodeId, v.bounds)));
    assert.deepEqual(await readManyNodeViewInputs(sql, views), viewsOne);
    assert.ok(
      viewsOne.some((v) => v.settled) && viewsOne.some((v) => !v.settled),
      'with and without a state',
    );
    assert.ok(
      viewsOne.some(
        (v, i) => !v.settled && v.rows['1h'].some((r) => r.bucketMs < views[i]!.bounds.h1FullFromMs),
      ),
      'without a state, hourly rows from further back',
    );

    const specs = nodes.map((nodeId, i) => ({
      nodeId,
      quality: {
        buckets: {
          m5: Array.from({ length: i % 3 }, (_, k) => m5(k + i)),
          h1: i % 2 ? [at - (at % HOUR)] : [],
          d1: [at - (at % (24 * HOUR))],
        },
        windowFrom: { m5: at - (i % 4) * 600_000, h1: at - 24 * HOUR, d1: at - 7 * 24 * HOUR },
      },
      history: {
        metrics: [0, 1, 2].slice(0, 1 + (i % 3)),
        fromMs: at - HOUR * (1 + (i % 2)),
        toMs: at - (i % 3) * 300_000,
        baselineMetrics: i % 2 ? [0] : [],
        baselineHoursMs: i % 2 ? [at - 2 * HOUR - (at % HOUR)] : [],
      },
      anomaliesSinceMs: at - (i % 2) * 24 * HOUR,
    }));
    const statesOne = await Promise.all(specs.map((spec) => readNodeState(sql, spec)));
    assert.deepEqual(await readNodeStates(sql, specs), statesOne);
    assert.ok(statesOne.some((s) => s.fiveMinute.length > 0 && s.quality.buckets.m5.size > 0));
  });
});
