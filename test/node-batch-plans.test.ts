/**
 * A node batch's transaction runs its prepared statements on generic plans (registry.ts,
 * lockNodeForBatch): PostgreSQL left to choose re-planned the node-state read at every execution. The
 * setting is the transaction's own: the pool's connection is back to `auto` after it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { postgresCycleStores } from '../shared/adapters/postgres/cycle-stores.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import type { NodeStateSpec } from '../shared/cycle/aggregate/store.ts';
import { DAY_MS, HOUR_MS } from '../shared/domain/aggregate.ts';

const T = Date.UTC(2026, 4, 5, 10);
const spec = (nodeId: string): NodeStateSpec => ({
  nodeId,
  quality: {
    buckets: { m5: [T], h1: [T], d1: [T - 10 * HOUR_MS] },
    windowFrom: { m5: T - HOUR_MS, h1: T - DAY_MS, d1: T - 7 * DAY_MS },
  },
  history: {
    metrics: [0, 1],
    fromMs: T - 3 * HOUR_MS,
    toMs: T,
    baselineMetrics: [0],
    baselineHoursMs: [T - 7 * DAY_MS],
  },
  anomaliesSinceMs: T - DAY_MS,
});

/** Plans PostgreSQL made so far for this connection's prepared node-state read. */
async function plansOfNodeState(sql: postgres.Sql) {
  const rows = await sql<{ generic: number; custom: number }[]>`
    select generic_plans::int4 as generic, custom_plans::int4 as custom from pg_prepared_statements
    where statement like '%from node_watermarks where node_id%' and statement like '%quality_5m%'
      and statement not like '%pg_prepared_statements%'`;
  assert.equal(rows.length, 1, 'the node-state read is prepared on this connection');
  return rows[0]!;
}

describe('a node batch runs on generic plans', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  before(async () => {
    db = await createTestDatabase();
    await migrate(db.sql);
    // One connection: pg_prepared_statements and the setting are the session's.
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
  });
  after(async () => {
    await sql?.end({ timeout: 1 });
    await db?.drop();
  });

  test('inside the batch transaction, and the connection is back to auto after it', async () => {
    const stores = postgresCycleStores(sql, new PartitionManager(sql, false));
    // Seven executions: left to `auto`, the first five would be custom plans whatever the costs.
    const result = await stores.aggregate.inNodeTransaction('n-1', async (tx) => {
      for (let i = 0; i < 7; i++) await tx.readNodeState(spec('n-1'));
      return null;
    });
    assert.equal(result, null);
    assert.deepEqual(await plansOfNodeState(sql), { generic: 7, custom: 0 });
    const [after] = await sql<{ mode: string }[]>`select current_setting('plan_cache_mode') as mode`;
    assert.equal(after!.mode, 'auto');
  });
});
