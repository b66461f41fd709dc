/**
 * upsertPartials sends each column as one array literal (shared/adapters/postgres/array-literal.ts), not
 * postgres.js's element-by-element serialization: every value comes back exactly, the awkward ones too
 * (NaN, ±Infinity, the smallest subnormal, node ids with quotes, backslashes, commas and braces, a
 * missing duplicate bitmap, a node named `NULL`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { readBuckets, upsertPartials } from '../shared/adapters/postgres/aggregates.ts';
import { numberArray, textArray } from '../shared/adapters/postgres/array-literal.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { emptyPartial, type PartialRow, sketchBytes } from '../shared/domain/aggregate.ts';

const T = Date.UTC(2026, 4, 5, 10);

describe('array literals as parameters', await peerGate('postgres'), () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
    const { timescale } = await migrate(db.sql);
    await new PartitionManager(db.sql, timescale).ensure('agg_5m', [T]);
  });
  after(async () => {
    await db?.drop();
  });

  test('PostgreSQL parses them into the same elements', async () => {
    const numbers = [0, -0, 1.5, -2.25e-7, 5e-324, 1.7976931348623157e308, Number.NaN, 1 / 3, 2 ** 53 + 2];
    const [n] = await db.sql<{ a: number[] }[]>`select ${numberArray(numbers)}::text::float8[] as a`;
    // -0 goes as JavaScript writes it, `0` (as postgres.js's own serialization did).
    assert.deepEqual(
      n!.a,
      numbers.map((x) => (Object.is(x, -0) ? 0 : x)),
    );
    const [withNull] = await db.sql<{ a: (number | null)[] }[]>`
      select to_json(${numberArray([1, null, 2])}::text::int4[]) as a`;
    assert.deepEqual(withNull!.a, [1, null, 2]);
    const [inf] = await db.sql<{ a: string }[]>`
      select ${numberArray([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])}::text::float8[]::text as a`;
    assert.equal(inf!.a, '{Infinity,-Infinity}');
    const texts = ['plain', 'NULL', 'a"b', 'back\\slash', 'comma, {brace}', ' spaced ', '', null];
    // As JSON: postgres.js reads a NULL element of a text[] result as the string 'NULL'.
    const [t] = await db.sql<
      { a: (string | null)[] }[]
    >`select to_json(${textArray(texts)}::text::text[]) as a`;
    assert.deepEqual(t!.a, texts);
  });

  test('upsertPartials stores every value exactly', async () => {
    const row = (nodeId: string, metric: PartialRow['metric'], extra: Partial<PartialRow>): PartialRow => ({
      nodeId,
      metric,
      bucketMs: T,
      ...emptyPartial(),
      ...extra,
    });
    const rows: PartialRow[] = [
      row('n"1\\,{x}', 'flow', {
        count: 3,
        sum: 0.1 + 0.2,
        m2: 5e-324,
        min: -0.5,
        max: 1e300,
        firstTs: T + 1_001,
        first: 1 / 3,
        lastTs: T + 299_999,
        last: 2 / 3,
        seen: new Uint8Array([1, 2, 255]),
      }),
      row('n"1\\,{x}', 'pressure', { count: 1, sum: 4, m2: Number.NaN, min: 4, max: 4 }),
      row('NULL', 'flow', { count: 2, sum: 7, min: 3, max: 4 }),
    ];
    await upsertPartials(db.sql, 'agg_5m', rows);
    for (const nodeId of ['n"1\\,{x}', 'NULL']) {
      const want = rows.filter((r) => r.nodeId === nodeId);
      const got = await readBuckets(db.sql, 'agg_5m', nodeId, [T]);
      assert.equal(got.length, want.length);
      for (const w of want) {
        const g = got.find((r) => r.metric === w.metric)!;
        for (const k of ['count', 'sum', 'm2', 'min', 'max', 'firstTs', 'first', 'lastTs', 'last'] as const)
          assert.ok(Object.is(g[k], w[k]), `${nodeId} ${w.metric} ${k}: ${g[k]} vs ${w[k]}`);
        assert.deepEqual(g.seen ? [...g.seen] : undefined, w.seen ? [...w.seen] : undefined);
        assert.deepEqual([...(g.sketch as Uint8Array)], [...sketchBytes(w)]);
      }
    }
  });
});
