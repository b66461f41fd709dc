/**
 * Data-quality counters in PostgreSQL (shared/adapters/postgres/quality.ts): what is written comes back
 * exactly, through both reads (the batch's node-state read and the API's), and migration 4 turns the
 * jsonb documents of earlier versions into the same counters in typed columns.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { writeParts } from '../shared/adapters/postgres/batch-write.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { readNodeState } from '../shared/adapters/postgres/node-state.ts';
import {
  QUALITY_TABLES,
  readQualityCounters,
  writeQualityCounters,
  writeQualityStatePart,
} from '../shared/adapters/postgres/quality.ts';
import { countQualityByBucket, emptyQuality, type QualityCounters } from '../shared/analytics/quality.ts';
import type { QualityBuckets } from '../shared/cycle/aggregate/store.ts';
import { BUCKET_MS, DAY_MS, HOUR_MS } from '../shared/domain/aggregate.ts';
import type { Reading } from '../shared/domain/readings.ts';

const T = Date.UTC(2026, 4, 5, 10);
const NODE = 'n-1';

/**
 * Counters that exercise every field: a pump (its zero flow is a true zero: null run values), a pressure
 * sensor stuck for 20 readings (a flatline), a duplicate, a late reading, a NaN and one out of range.
 */
function sample(): QualityBuckets {
  const readings: Reading[] = [];
  for (let i = 0; i < 36; i++) {
    const ts = T + i * 5 * 60_000;
    readings.push({
      nodeId: NODE,
      ts,
      ingestedAt: ts + 90_000 + i * 1_000,
      values: { flow: i < 10 ? 0 : 3 + (i % 7) * 0.25, pressure: i >= 8 && i < 28 ? 31.5 : 30 + i / 10 },
    });
  }
  readings.push({ ...readings[3]! });
  readings.push({ nodeId: NODE, ts: T + 7 * 60_000, ingestedAt: T + 3 * HOUR_MS, values: { flow: 4 } });
  readings.push({ nodeId: NODE, ts: T + 9 * 60_000, ingestedAt: T + HOUR_MS, values: { flow: Number.NaN } });
  readings.push({ nodeId: NODE, ts: T + 11 * 60_000, ingestedAt: T + HOUR_MS, values: { pressure: 9_999 } });
  const ctx = { now: T + 3 * HOUR_MS, kind: 'pump' as const };
  return {
    m5: countQualityByBucket(readings, ctx, BUCKET_MS),
    h1: countQualityByBucket(readings, ctx, HOUR_MS),
    d1: countQualityByBucket(readings, ctx, DAY_MS),
  };
}

describe('quality counters in PostgreSQL', await peerGate('postgres'), () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  test('what a batch writes, the next batch and the API read back exactly', async () => {
    await migrate(db.sql);
    const written = sample();
    // The sample holds what the columns must carry: nulls in flat runs, a flatline, every invalid kind.
    const day = [...written.d1.values()][0]!;
    assert.ok(day.flat.flow && day.flat.flow.firstValue === null, 'true zeros leave a null run value');
    assert.ok(day.flat.pressure && day.flat.pressure.flat === 20);
    assert.deepEqual([day.duplicates, day.nan, day.outOfRange, day.outOfOrder > 0], [1, 1, 1, true]);
    const empty = emptyQuality();
    written.m5.set(T + 6 * HOUR_MS, empty);

    // As the node batch sends it: its part of the batch's one statement.
    await writeParts(db.sql, [
      writeQualityStatePart(NODE, written, { asOfMs: T + 3 * HOUR_MS, body: { latestTs: T } }, T),
    ]);
    const state = await readNodeState(db.sql, {
      nodeId: NODE,
      quality: {
        buckets: { m5: [T + 6 * HOUR_MS], h1: [], d1: [] },
        windowFrom: { m5: T - HOUR_MS, h1: T - HOUR_MS, d1: T - DAY_MS },
      },
      history: { metrics: [], fromMs: T, toMs: T, baselineMetrics: [], baselineHoursMs: [] },
      anomaliesSinceMs: T,
    });
    for (const res of ['m5', 'h1', 'd1'] as const) {
      assert.deepEqual(state.quality.buckets[res], written[res], res);
    }
    assert.equal(state.quality.maxTs, T);
    assert.equal(state.watermarkMs, T);

    const api = await readQualityCounters(db.sql, NODE, T, T + 7 * HOUR_MS);
    assert.deepEqual(
      api,
      [...written.m5].sort((a, b) => a[0] - b[0]).map(([, c]) => c),
    );

    // A rewrite replaces the stored counters (the batch merged them), it never adds a row.
    const merged: QualityCounters = { ...empty, received: 5, present: 5, valid: 5 };
    await writeQualityCounters(db.sql, NODE, {
      m5: new Map([[T + 6 * HOUR_MS, merged]]),
      h1: new Map(),
      d1: new Map(),
    });
    const again = await readQualityCounters(db.sql, NODE, T + 6 * HOUR_MS, T + 7 * HOUR_MS);
    assert.deepEqual(again, [merged]);
  });

  test('migration 4 converts the jsonb counters of earlier versions, field for field', async () => {
    const old = await createTestDatabase();
    try {
      await migrate(old.sql, { to: 3 });
      const written = sample();
      for (const res of ['m5', 'h1', 'd1'] as const) {
        for (const [bucket, c] of written[res]) {
          await old.sql.unsafe(
            `insert into ${QUALITY_TABLES[res]} (node_id, bucket, counters) values ($1, $2, $3::text::jsonb)`,
            [NODE, new Date(bucket).toISOString(), JSON.stringify(c)],
          );
        }
      }
      assert.deepEqual((await migrate(old.sql, { to: 4 })).applied, [4]);
      // The current node-state read also reads tables later migrations add (node_view_state).
      await migrate(old.sql);
      const state = await readNodeState(old.sql, {
        nodeId: NODE,
        quality: {
          buckets: { m5: [], h1: [], d1: [] },
          windowFrom: { m5: T - HOUR_MS, h1: T - HOUR_MS, d1: T - DAY_MS },
        },
        history: { metrics: [], fromMs: T, toMs: T, baselineMetrics: [], baselineHoursMs: [] },
        anomaliesSinceMs: T,
      });
      for (const res of ['m5', 'h1', 'd1'] as const) {
        assert.deepEqual(state.quality.buckets[res], written[res], res);
      }
    } finally {
      await old.drop();
    }
  });
});
