/**
 * The settled view state (adapters/postgres/view-state.ts): the windows, the 7-day series and the hourly
 * rows a refresh serves from it are those a full recomputation from the stored partials gives — across
 * a day change, after a late reading for an earlier day and after a replay of it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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
import { readLatest } from '../shared/adapters/postgres/serving.ts';
import { readNodeViewInputs, type ViewBounds } from '../shared/adapters/postgres/view-state.ts';
import { loadConfig } from '../shared/config.ts';
import { computeNodeView, windowPayload } from '../shared/cycle/aggregate/views.ts';
import type { AggregatorDeps, DispatcherDeps } from '../shared/cycle/deps.ts';
import { dispatchCycle } from '../shared/cycle/dispatch/index.ts';
import {
  encodeNodeWork,
  type NodesWorkMessage,
  type NodeWorkMessage,
  nodeBatchesOf,
} from '../shared/cycle/messages.ts';
import { silentLogger } from '../shared/log.ts';
import { createSimulatorSource } from '../shared/simulator/index.ts';
import { cycleSettings, cycleStores } from '../shared/wiring/cycle.ts';
import { deliver, RecordingBus } from './lib/delivery.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 4, 4, 0, 0);

describe('settled view state', await peerGate('postgres', 'redis'), () => {
  let db: TestDatabase;
  let sql: ReturnType<typeof connect>;
  let prefix: string;
  let bus: RecordingBus;
  let dispatcher: DispatcherDeps;
  let aggregator: AggregatorDeps;
  let nodes: string[];

  before(async () => {
    db = await createTestDatabase();
    sql = connect(db.url, { max: 4 });
    const { timescale } = await migrate(sql);
    const config = loadConfig({ SIMULATOR_NODES: '4', SIMULATOR_SEED: '5', LOG_LEVEL: 'error' });
    prefix = uniquePrefix();
    bus = new RecordingBus();
    const base = {
      stores: cycleStores(sql, new PartitionManager(sql, timescale)),
      bus,
      coordinator: new MemoryCoordinator(),
      logger: silentLogger,
      settings: cycleSettings(config),
    };
    dispatcher = { ...base, source: createSimulatorSource({ seed: 5, nodes: 4 }) };
    aggregator = { ...base, cache: new UpstashCache({ ...upstashPeer(), prefix }) };
    nodes = (await dispatcher.source.network()).nodes.map((n) => n.id);
  });
  after(async () => {
    await sql?.end();
    await db?.drop();
    if (prefix) await deleteKeysWithPrefix(prefix);
  });

  const cycle = async (nowMs: number) => {
    const from = bus.published.length;
    await dispatchCycle(dispatcher, { nowMs, initialWatermarkMs: T0 });
    await deliver(
      aggregator,
      bus.published.slice(from).map((p) => p.message),
    );
  };

  /** Every row read again, as without a state (no state is of day 0). */
  const full = {
    readLatest: (nodeId: string) => readLatest(sql, nodeId),
    readNodeViewInputs: (nodeId: string, b: ViewBounds) =>
      readNodeViewInputs(sql, nodeId, { ...b, dayMs: 0 }),
  };
  const withState = {
    readLatest: (nodeId: string) => readLatest(sql, nodeId),
    readNodeViewInputs: (nodeId: string, b: ViewBounds) => readNodeViewInputs(sql, nodeId, b),
  };

  /** What each node serves (its window rows) and what its state gives equal a full recomputation. */
  async function assertServedAsRecomputed(when: string) {
    for (const nodeId of nodes) {
      const recomputed = await computeNodeView(full, nodeId);
      const incremental = await computeNodeView(withState, nodeId);
      assert.ok(recomputed, `${when}: ${nodeId} has a view`);
      assert.deepEqual(incremental, recomputed, `${when}: ${nodeId}'s view from its state`);
      const served = await sql<{ range: string; body: unknown }[]>`
        select r.key as range, r.value as body from node_windows, json_each(body) r where node_id = ${nodeId}`;
      for (const w of recomputed.windows) {
        assert.deepEqual(
          served.find((s) => s.range === w.range)?.body,
          JSON.parse(JSON.stringify(windowPayload(nodeId, w))),
          `${when}: ${nodeId}'s served ${w.range} window`,
        );
      }
    }
  }

  const stateDays = async () =>
    (
      await sql<
        { day: Date }[]
      >`select day from node_view_state where node_id = any(${nodes}) order by node_id`
    ).map((r) => r.day.getTime());

  /** A batch of one reading of `ts`, ingested right after the node's watermark. */
  async function lateBatch(nodeId: string, ts: number): Promise<NodeWorkMessage> {
    const last = bus.published
      .flatMap((p) => {
        const m = JSON.parse(p.message.data.toString()) as NodeWorkMessage | NodesWorkMessage;
        return m.kind === 'nodes' ? nodeBatchesOf(m) : [m];
      })
      .filter((m) => m.kind === 'node' && m.node.id === nodeId)
      .at(-1)!;
    const [row] = await sql<{ wm: Date }[]>`
      select ingested_to as wm from node_watermarks where node_id = ${nodeId}`;
    const fromIngestMs = row!.wm.getTime();
    const values = Object.fromEntries(last.node.metrics.map((m) => [m, m === 'ph' ? 7.1 : 1234.5]));
    return encodeNodeWork(
      {
        runId: last.runId,
        tenantId: last.tenantId,
        node: last.node,
        part: 0,
        parts: 1,
        fromIngestMs,
        toIngestMs: fromIngestMs + 60_000,
      },
      [{ nodeId, ts, ingestedAt: fromIngestMs + 30_000, values }],
    );
  }
  const send = (m: NodeWorkMessage) =>
    deliver(aggregator, [{ data: Buffer.from(JSON.stringify(m)), attributes: { kind: 'node' } }]);

  test('served views equal a full recomputation across a day change, a late reading and its replay', async () => {
    await cycle(T0 + 20 * HOUR);
    await cycle(T0 + 23.5 * HOUR);
    assert.deepEqual(
      await stateDays(),
      nodes.map(() => T0),
    );
    await assertServedAsRecomputed('day 0');
    // The day changes: the states are rebuilt for day 1.
    await cycle(T0 + DAY + HOUR);
    await cycle(T0 + DAY + 1.5 * HOUR);
    assert.deepEqual(
      await stateDays(),
      nodes.map(() => T0 + DAY),
    );
    await assertServedAsRecomputed('day 1');

    // A late reading for an hour of day 0: in the state's hours and daily folds.
    const late = await lateBatch(nodes[0]!, T0 + 15 * HOUR + 7 * 60_000 + 30_000);
    await send(late);
    const hour = await sql<{ count: number }[]>`
      select count from agg_1h where node_id = ${nodes[0]!} and bucket = ${new Date(T0 + 15 * HOUR)} and metric = 0`;
    assert.ok((hour[0]?.count ?? 0) > 60, 'the late reading was applied');
    await assertServedAsRecomputed('late reading');
    // Its replay applies nothing and serves the same.
    await send(late);
    await assertServedAsRecomputed('replayed late reading');
    // A cycle of the same day leaves the states as they are (no rebuild: the point of them).
    const versions = async () =>
      (await sql<{ v: string }[]>`select xmin::text as v from node_view_state order by node_id`).map(
        (r) => r.v,
      );
    const before = await versions();
    await cycle(T0 + DAY + 2 * HOUR);
    assert.deepEqual(await versions(), before);
    await assertServedAsRecomputed('next cycle');
  });
});
