/**
 * Several node batches per work message (NODES_PER_MESSAGE): the aggregator applies them in one
 * transaction. The state they leave equals one message per node's; one node out of order in a group
 * does not hold the others back (they are applied, the message is redelivered, and the redelivery
 * applies it once its earlier batch is in); a dead-lettered or poison multi-node message marks failed
 * only the nodes it did not apply, and the run ends partial. Real PostgreSQL and Redis (Upstash protocol).
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
import type { OutgoingMessage } from '../shared/adapters/bus/bus.ts';
import { toCloudEvent } from '../shared/adapters/bus/bus.ts';
import { UpstashCache } from '../shared/adapters/cache/upstash.ts';
import { MemoryCoordinator } from '../shared/adapters/coordination/memory.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { loadConfig } from '../shared/config.ts';
import { BatchOutOfOrderError } from '../shared/cycle/aggregate/index.ts';
import type { AggregatorDeps, DispatcherDeps } from '../shared/cycle/deps.ts';
import { dispatchCycle } from '../shared/cycle/dispatch/index.ts';
import { handleAggregatorEvent } from '../shared/cycle/handlers.ts';
import {
  decodeReadings,
  encodeNodeWork,
  type NodesWorkMessage,
  type NodeWorkMessage,
} from '../shared/cycle/messages.ts';
import { silentLogger } from '../shared/log.ts';
import { createSimulatorSource } from '../shared/simulator/index.ts';
import { cycleSettings, cycleStores } from '../shared/wiring/cycle.ts';
import { differences, nodeKeyState, tableState } from './lib/checksums.ts';
import { deliver, RecordingBus } from './lib/delivery.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 4, 0, 0);
const FIRST = T0 + 2 * HOUR;
const SECOND = T0 + 2.5 * HOUR;

interface Target {
  db: TestDatabase;
  prefix: string;
  bus: RecordingBus;
  coordinator: MemoryCoordinator;
  sql: ReturnType<typeof connect>;
  dispatcher: DispatcherDeps;
  aggregator: AggregatorDeps;
}

const targets: Target[] = [];
async function target(nodesPerMessage: number): Promise<Target> {
  const db = await createTestDatabase();
  const sql = connect(db.url, { max: 4 });
  const { timescale } = await migrate(sql);
  const partitions = new PartitionManager(sql, timescale);
  const config = loadConfig({ SIMULATOR_NODES: '10', SIMULATOR_SEED: '11', LOG_LEVEL: 'error' });
  const settings = { ...cycleSettings(config), nodesPerMessage };
  const bus = new RecordingBus();
  const coordinator = new MemoryCoordinator();
  const prefix = uniquePrefix();
  const cache = new UpstashCache({ ...upstashPeer(), prefix });
  const base = { stores: cycleStores(sql, partitions), bus, coordinator, logger: silentLogger, settings };
  const t = {
    db,
    prefix,
    bus,
    coordinator,
    sql,
    dispatcher: { ...base, source: createSimulatorSource({ seed: 11, nodes: 10 }) },
    aggregator: { ...base, cache },
  };
  targets.push(t);
  return t;
}

/** The node-work messages a target published from index `from` on. */
const nodeWork = (t: Target, from = 0) =>
  t.bus.published.slice(from).filter((p) => p.topic === t.dispatcher.settings.topics.nodeWork);

async function cycle(t: Target, nowMs: number): Promise<OutgoingMessage[]> {
  const from = t.bus.published.length;
  await dispatchCycle(t.dispatcher, { nowMs, initialWatermarkMs: T0 });
  return nodeWork(t, from).map((p) => p.message);
}

const event = (message: OutgoingMessage, attempt = 1) =>
  toCloudEvent('p', 'x', message, `m${Math.random()}`, new Date(), attempt);
const nodesMessage = (m: NodesWorkMessage): OutgoingMessage => ({
  data: Buffer.from(JSON.stringify(m)),
  attributes: { kind: 'nodes', runId: m.runId, tenantId: m.tenantId, nodes: String(m.batches.length) },
});
const nodeMessage = (m: NodeWorkMessage): OutgoingMessage => ({
  data: Buffer.from(JSON.stringify(m)),
  attributes: { kind: 'node', runId: m.runId, nodeId: m.node.id, tenantId: m.tenantId, part: String(m.part) },
});
const deadLetter = (message: OutgoingMessage): OutgoingMessage => ({
  data: message.data,
  attributes: { ...message.attributes, CloudPubSubDeadLetterSourceDeliveryCount: '5' },
});
/** The wire format, spelled out here (not the code's helpers): a multi-node message's batches, and a packing. */
const batchesOf = (message: OutgoingMessage): NodeWorkMessage[] => {
  const m = JSON.parse(message.data.toString()) as NodesWorkMessage | NodeWorkMessage;
  if (m.kind === 'node') return [m];
  return m.batches.map((b) => ({ v: 1, kind: 'node', runId: m.runId, tenantId: m.tenantId, ...b }));
};
const packNodeWork = (batches: NodeWorkMessage[]): NodesWorkMessage => ({
  v: 1,
  kind: 'nodes',
  runId: batches[0]!.runId,
  tenantId: batches[0]!.tenantId,
  batches: batches.map(({ v: _v, kind: _k, runId: _r, tenantId: _t, ...b }) => b),
});
const watermarks = async (t: Target) =>
  new Map(
    (
      await t.sql<{ node_id: string; ms: number }[]>`
        select node_id, (extract(epoch from ingested_to) * 1000)::float8 as ms from node_watermarks`
    ).map((r) => [r.node_id, r.ms]),
  );

describe('several nodes per work message', await peerGate('postgres', 'redis'), () => {
  let single: Target;
  before(async () => {
    // The reference: one message per node batch, the single-node message (what older dispatchers sent).
    single = await target(1);
    for (const now of [FIRST, SECOND]) await deliver(single.aggregator, await cycle(single, now));
  });
  after(async () => {
    for (const t of targets) {
      await t.sql.end();
      await t.db.drop();
      await deleteKeysWithPrefix(t.prefix);
    }
  });

  test('a message of K nodes leaves the state K single-node messages leave (and those still work)', async () => {
    const multi = await target(4);
    for (const now of [FIRST, SECOND]) {
      const messages = await cycle(multi, now);
      // 10 nodes, at most 4 per message.
      assert.deepEqual(
        messages.map((m) => [m.attributes.kind, m.attributes.nodes]),
        [
          ['nodes', '4'],
          ['nodes', '4'],
          ['nodes', '2'],
        ],
      );
      await deliver(multi.aggregator, messages);
    }
    assert.deepEqual(
      nodeWork(single).map((p) => p.message.attributes.kind),
      Array(20).fill('node'),
    );
    assert.deepEqual(differences(await tableState(multi.db.sql), await tableState(single.db.sql)), []);
    const count = (t: Target) =>
      t.sql<{ n: number }[]>`select count(*)::int4 as n from applied_batches`.then((r) => r[0]!.n);
    assert.equal(await count(multi), await count(single));
    const redis = new Redis(upstashPeer());
    const nodes = (await single.dispatcher.source.network()).nodes.map((n) => n.id);
    assert.deepEqual(
      differences(
        await nodeKeyState(redis, multi.prefix, 'default', nodes),
        await nodeKeyState(redis, single.prefix, 'default', nodes),
      ),
      [],
    );
    for (const now of [FIRST, SECOND]) {
      const progress = await multi.coordinator.progress(`default:${new Date(now).toISOString()}`);
      assert.deepEqual([progress?.complete, progress?.done, progress?.failed], [true, 10, 0]);
    }
  });

  test('one node out of order in a group: the others are applied, the redelivery applies it after its earlier batch', async () => {
    const t = await target(16);
    await deliver(t.aggregator, await cycle(t, FIRST));
    const [late, ...others] = (await cycle(t, SECOND)).flatMap(batchesOf);
    // The late node's batch in two parts: the group carries the second, which needs the first applied.
    const readings = decodeReadings(late!).sort((a, b) => a.ingestedAt - b.ingestedAt);
    const cut = readings[Math.floor(readings.length / 2)]!.ingestedAt;
    const part = (n: number, fromIngestMs: number, toIngestMs: number) =>
      encodeNodeWork(
        {
          runId: late!.runId,
          tenantId: late!.tenantId,
          node: late!.node,
          part: n,
          parts: 2,
          fromIngestMs,
          toIngestMs,
        },
        readings.filter((r) => r.ingestedAt > fromIngestMs && r.ingestedAt <= toIngestMs),
      );
    const first = part(0, late!.fromIngestMs, cut);
    const group = nodesMessage(packNodeWork([part(1, cut, late!.toIngestMs), ...others]));

    await assert.rejects(handleAggregatorEvent(t.aggregator, event(group)), BatchOutOfOrderError);
    let marks = await watermarks(t);
    for (const o of others) assert.equal(marks.get(o.node.id), SECOND, `${o.node.id} applied`);
    assert.equal(marks.get(late!.node.id), FIRST, 'the late node is not');
    const progress = await t.coordinator.progress(late!.runId);
    assert.deepEqual([progress?.done, progress?.complete], [others.length, false]);

    await handleAggregatorEvent(t.aggregator, event(nodeMessage(first)));
    await handleAggregatorEvent(t.aggregator, event(group, 2));
    marks = await watermarks(t);
    assert.equal(marks.get(late!.node.id), SECOND);
    assert.deepEqual(differences(await tableState(t.db.sql), await tableState(single.db.sql)), []);
    assert.equal((await t.coordinator.progress(late!.runId))?.complete, true);
  });

  test('a dead-lettered multi-node message marks only the nodes it did not apply failed; the run ends partial', async () => {
    const t = await target(16);
    await deliver(t.aggregator, await cycle(t, FIRST));
    const [stuck, ...others] = (await cycle(t, SECOND)).flatMap(batchesOf);
    // A batch that can never apply: it starts after what its node has applied (and nothing will fill the gap).
    const group = nodesMessage(
      packNodeWork([{ ...stuck!, fromIngestMs: stuck!.toIngestMs - 60_000 }, ...others]),
    );
    await assert.rejects(handleAggregatorEvent(t.aggregator, event(group)), BatchOutOfOrderError);
    const published = t.bus.published.length;
    await handleAggregatorEvent(t.aggregator, event(deadLetter(group)));

    const progress = await t.coordinator.progress(stuck!.runId);
    assert.deepEqual(progress?.failedKeys, [`${stuck!.node.id}#0`]);
    assert.deepEqual([progress?.done, progress?.complete], [others.length, true]);
    const rollups = t.bus.published
      .slice(published)
      .filter((p) => p.topic === t.dispatcher.settings.topics.networkRollup);
    assert.equal(rollups.length, 1, 'the dead letter completed the run');
    await handleAggregatorEvent(t.aggregator, event(rollups[0]!.message));
    const [run] = await t.sql<{ status: string; failed_nodes: string[] }[]>`
      select status, failed_nodes from runs where id = ${stuck!.runId}`;
    assert.deepEqual(run, { status: 'partial', failed_nodes: [stuck!.node.id] });
    assert.equal((await watermarks(t)).get(stuck!.node.id), FIRST, 'its watermark keeps its data');
  });

  test('a poison multi-node message goes to the dead letters at once; its dead letter marks its nodes failed', async () => {
    const t = await target(16);
    const body = packNodeWork((await cycle(t, FIRST)).flatMap(batchesOf));
    body.batches[3]!.ts.pop(); // a column shorter than the others: the whole message is unreadable
    const poison = nodesMessage(body);
    const published = t.bus.published.length;
    await handleAggregatorEvent(t.aggregator, event(poison));
    const dead = t.bus.published
      .slice(published)
      .filter((p) => p.topic === t.dispatcher.settings.topics.deadLetter);
    assert.equal(dead.length, 1);
    assert.match(dead[0]!.message.attributes.poison ?? '', /schema/);
    assert.equal((await watermarks(t)).get(body.batches[0]!.node.id), T0, 'nothing of it applied');

    await handleAggregatorEvent(t.aggregator, event(dead[0]!.message));
    const progress = await t.coordinator.progress(body.runId);
    assert.deepEqual([progress?.failed, progress?.complete], [10, true]);
  });
});
