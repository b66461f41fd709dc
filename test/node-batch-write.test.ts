/**
 * A node batch's writes go to PostgreSQL as ONE statement (batch-write.ts), with the same rows as the
 * separate statements wrote; a node's window views are one row (migration 11 converts the six rows of
 * earlier versions).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { postgresCycleStores } from '../shared/adapters/postgres/cycle-stores.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { readOwnedWindow, readWindowFigures, writeWindows } from '../shared/adapters/postgres/serving.ts';
import { aggregateReadings, DAY_MS, HOUR_MS, rollUp } from '../shared/domain/aggregate.ts';
import type { Reading } from '../shared/domain/readings.ts';
import { windowFigures } from '../shared/domain/windows.ts';

const T = Date.UTC(2026, 4, 5, 10);
const NODE = 'n-1';
const readings: Reading[] = Array.from({ length: 30 }, (_, i) => ({
  nodeId: NODE,
  ts: T + i * 60_000,
  ingestedAt: T + i * 60_000 + 5_000,
  values: { flow: 10 + i, pressure: 3 + i / 100 },
}));

describe('a node batch writes in one statement', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  before(async () => {
    db = await createTestDatabase();
    await migrate(db.sql);
    // One connection: pg_prepared_statements is the session's.
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
  });
  after(async () => {
    await sql?.end({ timeout: 1 });
    await db?.drop();
  });

  test('partials, latest values, watermark and the batch record: one prepared statement, every row written', async () => {
    const stores = postgresCycleStores(sql, new PartitionManager(sql, false));
    await stores.aggregate.ensurePartitions([T]);
    const p5m = aggregateReadings(readings);
    await stores.aggregate.inNodeTransaction(NODE, async (tx) => {
      const stored = await tx.readBatchBuckets({ agg_5m: [], agg_1h: [], agg_1d: [] });
      assert.deepEqual(stored, { agg_5m: [], agg_1h: [], agg_1d: [] });
      // Issued together, as the aggregate step does.
      await Promise.all([
        tx.mergePartials('agg_5m', p5m, []),
        tx.mergePartials('agg_1h', rollUp(p5m, HOUR_MS), []),
        tx.mergePartials('agg_1d', rollUp(p5m, DAY_MS), []),
        tx.writeLatest(T + 29 * 60_000, { flow: { value: 39, ts: T + 29 * 60_000 } }),
        tx.writeWatermark(T + HOUR_MS),
        tx.recordBatch({
          runId: 'r-1',
          part: 0,
          readings: 30,
          rejected: {},
          minTs: T,
          maxTs: T + 29 * 60_000,
        }),
      ]);
    });
    const prepared = await sql<{ statement: string }[]>`
      select statement from pg_prepared_statements
      where statement like '%insert into%' and statement not like '%pg_prepared_statements%'`;
    assert.equal(prepared.length, 1, prepared.map((p) => p.statement.slice(0, 60)).join('\n'));
    for (const table of ['agg_5m', 'agg_1h', 'agg_1d', 'node_latest', 'node_watermarks', 'applied_batches'])
      assert.match(prepared[0]!.statement, new RegExp(`insert into ${table} `), table);
    const [counts] = await sql<
      { m5: number; h1: number; d1: number; latest: number; wm: number; ab: number }[]
    >`
      select (select count(*) from agg_5m)::int4 as m5, (select count(*) from agg_1h)::int4 as h1,
             (select count(*) from agg_1d)::int4 as d1, (select count(*) from node_latest)::int4 as latest,
             (select (extract(epoch from ingested_to) * 1000)::float8 from node_watermarks) as wm,
             (select readings from applied_batches where run_id = 'r-1') as ab`;
    assert.deepEqual(counts, { m5: p5m.length, h1: 2, d1: 2, latest: 1, wm: T + HOUR_MS, ab: 30 });
    // The same statement merges into what is stored: the 5-minute rows again, doubled.
    await stores.aggregate.inNodeTransaction(NODE, async (tx) => {
      const stored = await tx.readBatchBuckets({
        agg_5m: p5m.map((r) => r.bucketMs),
        agg_1h: [],
        agg_1d: [],
      });
      await tx.mergePartials('agg_5m', p5m, stored.agg_5m);
    });
    const [sum] = await sql<{ n: number }[]>`select sum(count)::int4 as n from agg_5m`;
    assert.equal(sum!.n, 2 * 60);
  });
});

describe('window views, one row per node', await peerGate('postgres'), () => {
  test('migration 11 turns the six rows of earlier versions into one; reads and figures as before', async () => {
    const old = await createTestDatabase();
    try {
      await migrate(old.sql, { to: 10 });
      await old.sql`insert into tenants (id, name) values ('t', 't')`;
      await old.sql`insert into nodes (id, tenant_id, kind, name, metrics) values (${NODE}, 't', 'inlet', 'n', '{flow}')`;
      const body = (range: string) => ({ range, metrics: { flow: { count: 3, mean: 2.5 } } });
      for (const range of ['1h', '24h'])
        await old.sql`insert into node_window_metrics (node_id, range, as_of, body)
                      values (${NODE}, ${range}, ${new Date(T)}, ${old.sql.json(body(range))})`;
      assert.deepEqual((await migrate(old.sql)).applied, [11]);
      assert.deepEqual(await readOwnedWindow(old.sql, 't', NODE, '24h'), body('24h'));
      assert.equal(await readOwnedWindow(old.sql, 'other', NODE, '24h'), null);
      const [gone] = await old.sql`select to_regclass('node_window_metrics') as t`;
      assert.equal(gone!.t, null);
      const converted = await readWindowFigures(old.sql, 't');
      assert.deepEqual(converted.map((f) => [f.range, f.reporting, f.flow_mean, f.pressure_min]).sort(), [
        ['1h', true, 2.5, null],
        ['24h', true, 2.5, null],
      ]);

      // A refresh's write replaces the row; the rollup's figures read every range of it.
      const empty = { range: '7d', metrics: { flow: { count: 0, mean: null } } };
      await writeWindows(old.sql, NODE, T + HOUR_MS, [
        { range: '1h', json: JSON.stringify(body('1h')), figures: windowFigures(body('1h') as never) },
        { range: '7d', json: JSON.stringify(empty), figures: windowFigures(empty as never) },
      ]);
      assert.equal(await readOwnedWindow(old.sql, 't', NODE, '24h'), null);
      const figures = await readWindowFigures(old.sql, 't');
      assert.deepEqual(
        figures.map((f) => ({ ...f })).sort((a, b) => (a.range < b.range ? -1 : 1)),
        [
          {
            kind: 'inlet',
            range: '1h',
            as_of_ms: T + HOUR_MS,
            reporting: true,
            flow_mean: 2.5,
            pressure_mean: null,
            pressure_min: null,
            chlorine_min: null,
            turbidity_max: null,
          },
          {
            kind: 'inlet',
            range: '7d',
            as_of_ms: T + HOUR_MS,
            reporting: false,
            flow_mean: null,
            pressure_mean: null,
            pressure_min: null,
            chlorine_min: null,
            turbidity_max: null,
          },
        ],
      );
    } finally {
      await old.drop();
    }
  });
});
