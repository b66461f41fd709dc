/**
 * A node batch's read of its stored partials (readBuckets, and readBatchBuckets: the three tables in
 * one statement) against real PostgreSQL with a month of daily partitions: it returns exactly the
 * stored rows of the buckets asked for, and its prepared statement's generic plan keeps only the
 * partitions of those buckets (the others are pruned when it starts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { readBatchBuckets, readBuckets, upsertPartials } from '../shared/adapters/postgres/aggregates.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { aggregateReadings, DAY_MS, HOUR_MS, rollUp } from '../shared/domain/aggregate.ts';

const T0 = Date.UTC(2026, 4, 1);
const DAYS = 30;

describe('reading a node batch’s stored partials', await peerGate('postgres'), () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
    const { timescale } = await migrate(db.sql);
    const partitions = new PartitionManager(db.sql, timescale);
    await partitions.ensure(
      'agg_5m',
      Array.from({ length: DAYS }, (_, d) => T0 + d * DAY_MS),
    );
    const rows = aggregateReadings(
      Array.from({ length: DAYS }, (_, d) => ({
        nodeId: 'n1',
        ts: T0 + d * DAY_MS + 36_000_000,
        ingestedAt: T0 + d * DAY_MS + 36_060_000,
        values: { flow: d },
      })),
    );
    await upsertPartials(db.sql, 'agg_5m', rows);
    for (const table of ['agg_1h', 'agg_1d'] as const) await partitions.ensure(table, [T0]);
    await upsertPartials(db.sql, 'agg_1h', rollUp(rows, HOUR_MS));
    await upsertPartials(db.sql, 'agg_1d', rollUp(rows, DAY_MS));
  });
  after(async () => {
    await db?.drop();
  });

  test('returns the rows of the buckets asked for', async () => {
    const day = (d: number) => T0 + d * DAY_MS + 36_000_000;
    const found = await readBuckets(db.sql, 'agg_5m', 'n1', [day(20), day(20) + 300_000, day(3)]);
    assert.deepEqual(
      found.map((r) => [r.bucketMs, r.sum]).sort((a, b) => a[0]! - b[0]!),
      [
        [day(3), 3],
        [day(20), 20],
      ],
    );
  });

  test('the three tables in one statement: the rows of each table’s buckets', async () => {
    const day = (d: number) => T0 + d * DAY_MS + 36_000_000;
    const found = await readBatchBuckets(db.sql, 'n1', {
      agg_5m: [day(20), day(20) + 300_000, day(3)],
      agg_1h: [day(7)],
      agg_1d: [],
    });
    const sums = (rows: { bucketMs: number; sum: number }[]) =>
      rows.map((r) => [r.bucketMs, r.sum]).sort((a, b) => a[0]! - b[0]!);
    assert.deepEqual(sums(found.agg_5m), [
      [day(3), 3],
      [day(20), 20],
    ]);
    assert.deepEqual(sums(found.agg_1h), [[day(7), 7]]);
    assert.deepEqual(found.agg_1d, []);
    const again = await readBatchBuckets(db.sql, 'n1', {
      agg_5m: [],
      agg_1h: [],
      agg_1d: [day(9) - 36_000_000],
    });
    assert.deepEqual(sums(again.agg_1d), [[day(9) - 36_000_000, 9]]);
  });

  test('the three tables’ statement prunes agg_5m’s partitions too', async () => {
    const sent: string[] = [];
    const client = postgres(db.url, { max: 1, onnotice: () => {}, debug: (_c, query) => sent.push(query) });
    const bucket = T0 + 20 * DAY_MS + 36_000_000;
    let plan = '';
    try {
      await readBatchBuckets(client, 'n1', { agg_5m: [bucket], agg_1h: [], agg_1d: [] });
      const statement = sent.find((q) => /from agg_5m/.test(q) && /from agg_1d/.test(q));
      assert.ok(statement, sent.join('\n'));
      const part = ['float8[]', 'float8', 'float8'];
      const types = ['text', ...part, ...part, ...part];
      const values = ["'n1'", `array[${bucket}]::float8[]`, String(bucket), String(bucket)];
      for (let i = 0; i < 2; i++) values.push('array[]::float8[]', 'null', 'null');
      plan = await client.begin(async (tx) => {
        await tx`set local plan_cache_mode = force_generic_plan`;
        await tx.unsafe(`prepare read_batch(${types.join(', ')}) as ${statement}`);
        const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>(
          `explain (analyze, costs off, timing off, summary off) execute read_batch(${values.join(', ')})`,
        );
        await tx.unsafe('deallocate read_batch');
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
    } finally {
      await client.end({ timeout: 1 });
    }
    const scanned = new Set(plan.match(/agg_5m_p\d+/g) ?? []);
    assert.equal(scanned.size, 1, `one agg_5m partition scanned:\n${plan}`);
  });

  test('its generic plan keeps only the partitions of the buckets asked for', async () => {
    // The statement readBuckets sends, as postgres.js sends it (captured, not copied).
    const sent: string[] = [];
    const client = postgres(db.url, { max: 1, onnotice: () => {}, debug: (_c, query) => sent.push(query) });
    const bucket = T0 + 20 * DAY_MS + 36_000_000;
    let plan = '';
    try {
      await readBuckets(client, 'agg_5m', 'n1', [bucket]);
      const statement = sent.find((q) => /from agg_5m/.test(q));
      assert.ok(statement, sent.join('\n'));
      const params =
        (statement.match(/\$\d+/g) ?? []).length > 0
          ? Math.max(...statement.match(/\$\d+/g)!.map((p) => Number(p.slice(1))))
          : 0;
      const types = ['text', 'float8[]', 'float8', 'float8'].slice(0, params);
      const values = ["'n1'", `array[${bucket}]::float8[]`, String(bucket), String(bucket)].slice(0, params);
      plan = await client.begin(async (tx) => {
        await tx`set local plan_cache_mode = force_generic_plan`;
        await tx.unsafe(`prepare read_buckets(${types.join(', ')}) as ${statement}`);
        const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>(
          `explain (analyze, costs off, timing off, summary off) execute read_buckets(${values.join(', ')})`,
        );
        await tx.unsafe('deallocate read_buckets');
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
    } finally {
      await client.end({ timeout: 1 });
    }
    const removed = Number(/Subplans Removed: (\d+)/.exec(plan)?.[1] ?? 0);
    assert.ok(removed >= DAYS - 1, `pruned ${removed} of ${DAYS} partitions:\n${plan}`);
  });
});
