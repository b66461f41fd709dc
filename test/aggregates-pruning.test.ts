/**
 * A node batch's read of its stored partials (readBuckets, and readBatchBuckets: the three tables in
 * one statement) against real PostgreSQL with a month of daily partitions: it returns exactly the
 * stored rows of the buckets asked for, and its prepared statement's generic plan keeps only the
 * partitions of those buckets (the others are pruned when it starts).
 *
 * And the cycle's per-node reads of the partials (the view read, the node-state read, the batch's
 * stored buckets) hold only the partitions their bounds fall in, in generic plans too: each carries
 * its earliest partition's start as a literal (`fromPartitionOf`). Without it a generic plan held —
 * and locked at every execution — every partition retention keeps (pruned only when it ran), and the
 * view read, costed over all of them, was planned afresh at every execution under `auto`. Shown by
 * the locks a transaction holds after the read (a plan locks every relation it holds), with
 * partitions before the range present (30 daily, 3 monthly).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { readBatchBuckets, readBuckets, upsertPartials } from '../shared/adapters/postgres/aggregates.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { readNodeState } from '../shared/adapters/postgres/node-state.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { readNodeViewInputs } from '../shared/adapters/postgres/view-state.ts';
import { readNodeView } from '../shared/cycle/aggregate/views.ts';
import { aggregateReadings, DAY_MS, HOUR_MS, rollUp } from '../shared/domain/aggregate.ts';
import type { LatestBody } from '../shared/domain/payloads.ts';

const T0 = Date.UTC(2026, 4, 1);
const DAYS = 30;
/** The node's latest reading: 10:00 on the last day, so the last hour's 5-minute rows are that day's. */
const AS_OF = T0 + (DAYS - 1) * DAY_MS + 10 * HOUR_MS;

/** The partitions of agg_* this transaction holds locks on, by table. */
async function lockedPartitions(tx: postgres.TransactionSql): Promise<Record<string, string[]>> {
  const rows = await tx<{ name: string }[]>`
    select c.relname as name from pg_locks l join pg_class c on c.oid = l.relation
    where l.pid = pg_backend_pid() and c.relname ~ '^agg_(5m|1h|1d)_p[0-9]+$' order by 1`;
  const out: Record<string, string[]> = { agg_5m: [], agg_1h: [], agg_1d: [] };
  for (const r of rows) out[r.name.replace(/_p\d+$/, '')]!.push(r.name);
  return out;
}

describe('reading a node batch’s stored partials', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
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
    // March and April too: partitions of hourly and daily partials before every read's range.
    const months = [Date.UTC(2026, 2, 1), Date.UTC(2026, 3, 1), T0];
    for (const table of ['agg_1h', 'agg_1d'] as const) await partitions.ensure(table, months);
    // n2: the last hour's readings (the cycle's reads below).
    const recent = aggregateReadings(
      Array.from({ length: 12 }, (_, i) => ({
        nodeId: 'n2',
        ts: AS_OF - i * 300_000,
        ingestedAt: AS_OF + 60_000,
        values: { flow: i },
      })),
    );
    await upsertPartials(db.sql, 'agg_5m', recent);
    for (const [table, size] of [
      ['agg_1h', HOUR_MS],
      ['agg_1d', DAY_MS],
    ] as const) {
      await upsertPartials(db.sql, table, [...rollUp(rows, size), ...rollUp(recent, size)]);
    }
    // One connection: its prepared statements and their plans are the session's.
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
  });
  after(async () => {
    await sql?.end({ timeout: 1 });
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
      const part = ['timestamptz[]', 'float8', 'float8'];
      const types = ['text', ...part, ...part, ...part];
      const iso = new Date(bucket).toISOString();
      const values = ["'n1'", `array['${iso}']::timestamptz[]`, String(bucket), String(bucket)];
      for (let i = 0; i < 2; i++) values.push('array[]::timestamptz[]', 'null', 'null');
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

  test('the view read: a generic plan after five executions, over the last day’s and month’s partitions', async () => {
    const read = (tx: postgres.Sql | postgres.TransactionSql) =>
      readNodeView(
        { readLatest: async () => null, readNodeViewInputs: (id, b) => readNodeViewInputs(tx, id, b) },
        'n2',
        { tsMs: AS_OF, body: {} as LatestBody },
      );
    for (let i = 0; i < 6; i++) assert.equal((await read(sql))?.rows['5m'].length, 12);
    const locked = await sql.begin(async (tx) => {
      await read(tx);
      return lockedPartitions(tx);
    });
    assert.deepEqual(locked, {
      agg_5m: ['agg_5m_p20260530'],
      agg_1h: ['agg_1h_p202605'],
      agg_1d: ['agg_1d_p202605'],
    });
    const [plans] = await sql<{ generic: number; custom: number }[]>`
      select generic_plans::int4 as generic, custom_plans::int4 as custom from pg_prepared_statements
      where statement like '%from node_view_state%' and statement like '%from agg_5m%'
        and statement not like '%pg_prepared_statements%'`;
    // Planned five times, then the generic plan: `auto` found it no dearer than a custom one.
    assert.deepEqual(plans, { generic: 2, custom: 5 });
  });

  test('the node batch’s reads on generic plans: the partitions of their ranges only', async () => {
    const locked = await sql.begin(async (tx) => {
      // As the batch's lock statement sets it (lockNodeForBatch).
      await tx`select set_config('plan_cache_mode', 'force_generic_plan', true)`;
      const state = await readNodeState(tx, {
        nodeId: 'n2',
        quality: {
          buckets: { m5: [AS_OF], h1: [AS_OF], d1: [AS_OF] },
          windowFrom: { m5: AS_OF - HOUR_MS, h1: AS_OF - DAY_MS, d1: AS_OF - 7 * DAY_MS },
        },
        history: {
          metrics: [0],
          fromMs: AS_OF - 3 * HOUR_MS,
          toMs: AS_OF + 300_000,
          baselineMetrics: [0],
          baselineHoursMs: [AS_OF - 7 * DAY_MS, AS_OF - 14 * DAY_MS],
        },
        anomaliesSinceMs: AS_OF - DAY_MS,
      });
      assert.equal(state.fiveMinute.length, 12);
      const stored = await readBatchBuckets(tx, 'n2', {
        agg_5m: [AS_OF - 300_000, AS_OF],
        agg_1h: [AS_OF - (AS_OF % HOUR_MS)],
        agg_1d: [],
      });
      assert.equal(stored.agg_5m.length, 2);
      assert.equal(stored.agg_1h.length, 1);
      return lockedPartitions(tx);
    });
    // agg_1d: the batch's buckets asked none of it, so the 5-minute rows' start stands in.
    assert.deepEqual(locked, {
      agg_5m: ['agg_5m_p20260530'],
      agg_1h: ['agg_1h_p202605'],
      agg_1d: ['agg_1d_p202605'],
    });
  });
});
