/**
 * The bulk backfill in shards of nodes, as the Cloud Run job runs it (terraform/backfill.tf): N processes
 * of the job's entry (`npm run backfill -- --tasks N`, each with CLOUD_RUN_TASK_INDEX/COUNT) against one
 * real PostgreSQL leave exactly what one unsharded backfill leaves; a shard that ran alone before (a task
 * of an execution that failed) is skipped by its rerun, and the others complete the range.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { runOpsJob } from '../jobs/ops/index.ts';
import { runLocalTasks } from '../scripts/backfill.ts';
import type { Sql } from '../shared/adapters/postgres/client.ts';
import { loadConfig } from '../shared/config.ts';
import { bulkBackfill } from '../shared/cycle/backfill/index.ts';
import { shardNodes } from '../shared/cycle/backfill/plan.ts';
import { DAY_MS } from '../shared/domain/aggregate.ts';
import { createSimulatorSource } from '../shared/simulator/index.ts';
import { cycleSettings, openStorage } from '../shared/wiring/cycle.ts';
import { differences, tableState } from './lib/checksums.ts';

const SEED = 11;
const NODES = 12;
const T0 = Date.UTC(2026, 2, 2);
const END = T0 + DAY_MS / 2;
const FROM = new Date(T0).toISOString();
const TO = new Date(END).toISOString();
const TABLES = ['agg_5m', 'agg_1h', 'agg_1d', 'node_watermarks', 'node_latest'];

const envFor = (db: TestDatabase) => ({
  ...process.env,
  DATABASE_URL: db.url,
  SIMULATOR_SEED: String(SEED),
  SIMULATOR_NODES: String(NODES),
  LOG_LEVEL: 'info',
  PG_POOL_MAX: '3',
});

async function state(sql: Sql) {
  const all = await tableState(sql);
  return Object.fromEntries(TABLES.map((t) => [t, all[t]]));
}

describe('bulk backfill in shards', await peerGate('postgres'), () => {
  const dbs: TestDatabase[] = [];
  let whole: TestDatabase;

  before(async () => {
    whole = await createTestDatabase();
    dbs.push(whole);
    const storage = await openStorage(loadConfig(envFor(whole)));
    try {
      await bulkBackfill(
        {
          ...storage,
          source: createSimulatorSource({ seed: SEED, nodes: NODES }),
          settings: cycleSettings(loadConfig(envFor(whole))),
        },
        { fromMs: T0, toMs: END },
      );
    } finally {
      await storage.sql.end({ timeout: 1 });
    }
  });
  after(async () => {
    for (const db of dbs) await db.drop();
  });

  test('three processes, one shard each, leave what one unsharded backfill leaves', async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    const outcomes = await runLocalTasks({ from: FROM, to: TO }, 3, {
      env: envFor(db),
      out: (l) => console.error(l),
    });
    assert.deepEqual(
      outcomes.map((o) => [o.code, o.applied]),
      [
        [0, 4],
        [0, 4],
        [0, 4],
      ],
    );
    const expected = await state(whole.sql);
    assert.ok((expected.agg_5m as unknown[]).length > NODES * 100);
    assert.deepEqual(differences(await state(db.sql), expected), []);
    // One audit row per node: no node was applied by two shards.
    const [audit] = await db.sql<{ n: number; nodes: number }[]>`
      select count(*)::int4 as n, count(distinct node_id)::int4 as nodes from applied_batches`;
    assert.deepEqual(audit, { n: NODES, nodes: NODES });
  });

  test('a shard that ran alone is skipped by the rerun; the other shards complete the range', async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    const lines: Record<string, unknown>[] = [];
    const shardEnv = { ...envFor(db), CLOUD_RUN_TASK_INDEX: '1', CLOUD_RUN_TASK_COUNT: '3' };
    await runOpsJob(['backfill', `--from=${FROM}`, `--to=${TO}`], {
      env: shardEnv,
      sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    const done = lines.find((l) => l.event === 'ops.backfilled')!;
    assert.deepEqual(done.shard, { index: 1, count: 3 });
    assert.equal(done.applied, 4);
    // Only shard 1's nodes are at `to`.
    const ids = (await db.sql<{ id: string }[]>`select id from nodes order by id`).map((r) => r.id);
    const atTo = await db.sql<{ node_id: string }[]>`
      select node_id from node_watermarks where ingested_to = ${new Date(END)} order by node_id`;
    assert.deepEqual(
      atTo.map((r) => r.node_id),
      shardNodes(
        ids.map((id) => ({ id })),
        { index: 1, count: 3 },
      ).map((n) => n.id),
    );

    const outcomes = await runLocalTasks({ from: FROM, to: TO }, 3, { env: envFor(db) });
    assert.deepEqual(
      outcomes.map((o) => [o.code, o.applied, o.alreadyApplied]),
      [
        [0, 4, 0],
        [0, 0, 4],
        [0, 4, 0],
      ],
    );
    assert.deepEqual(differences(await state(db.sql), await state(whole.sql)), []);
  });

  test('a bad task index or count fails the task before it touches anything', async () => {
    await assert.rejects(
      runOpsJob(['backfill', `--from=${FROM}`, `--to=${TO}`], {
        env: { ...envFor(whole), CLOUD_RUN_TASK_INDEX: '3', CLOUD_RUN_TASK_COUNT: '3' },
        sink: () => {},
      }),
      /shard index must be an integer in \[0, 3\)/,
    );
    await assert.rejects(
      runOpsJob(['backfill', `--from=${FROM}`], { env: envFor(whole), sink: () => {} }),
      /--to/,
    );
  });
});
