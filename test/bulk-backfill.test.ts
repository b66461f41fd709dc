/**
 * The bulk backfill against real PostgreSQL: it leaves the partials, watermarks and latest values
 * the per-cycle path leaves on the same simulated data; running it again changes nothing; started
 * after ordinary cycles it merges the buckets they wrote; bad input is counted, never aggregated.
 */
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLocalStack } from '../dev/local-stack.ts';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { upsertPartials } from '../shared/adapters/postgres/aggregates.ts';
import type { Sql } from '../shared/adapters/postgres/client.ts';
import { copyChunkStats, copyPartials, PartialCopyEncoder } from '../shared/adapters/postgres/copy.ts';
import { loadConfig } from '../shared/config.ts';
import {
  BulkBackfillConflictError,
  BulkBackfillRefusedError,
  type BulkBackfillResult,
  bulkBackfill,
} from '../shared/cycle/backfill/index.ts';
import { aggregateReadings, DAY_MS, HOUR_MS, sketchBytes } from '../shared/domain/aggregate.ts';
import { cleanReadings, emptyRejects, type RejectCounts } from '../shared/domain/clean.ts';
import { METRICS, type Reading } from '../shared/domain/readings.ts';
import { createSimulator, createSimulatorSource } from '../shared/simulator/index.ts';
import type { ReadingSource } from '../shared/sources/source.ts';
import { cycleSettings, openStorage, type Storage } from '../shared/wiring/cycle.ts';
import { differences, tableState } from './lib/checksums.ts';

const SEED = 7;
const NODES = 14;
const T0 = Date.UTC(2026, 2, 2); // a Monday
const MID = T0 + 12 * HOUR_MS;
const END = T0 + DAY_MS;
const STEP = 6 * HOUR_MS;
const BULK_TABLES = ['agg_5m', 'agg_1h', 'agg_1d', 'node_watermarks', 'node_latest'];

const configFor = (db: TestDatabase) =>
  loadConfig({
    DATABASE_URL: db.url,
    SIMULATOR_SEED: String(SEED),
    SIMULATOR_NODES: String(NODES),
    LOG_LEVEL: 'error',
    BUS_BACKEND: 'memory',
    COORDINATION_BACKEND: 'memory',
  });

/** What the bulk path writes, as the checksums see it. */
async function bulkState(sql: Sql) {
  const all = await tableState(sql);
  return Object.fromEntries(BULK_TABLES.map((t) => [t, all[t]]));
}

/** The per-cycle path: cycles every 6 hours over (fromMs, toMs], nodes starting at T0. */
async function runCycles(db: TestDatabase, fromMs: number, toMs: number) {
  const stack = await createLocalStack(configFor(db));
  try {
    for (let t = fromMs + STEP; t <= toMs; t += STEP) await stack.cycle(t, T0);
  } finally {
    await stack.close();
  }
}

async function runBulk(
  storage: Storage,
  db: TestDatabase,
  fromMs: number,
  toMs: number,
  source?: ReadingSource,
) {
  return bulkBackfill(
    {
      ...storage,
      source: source ?? createSimulatorSource({ seed: SEED, nodes: NODES }),
      settings: cycleSettings(configFor(db)),
    },
    // Small chunks: several transactions and both writers take part.
    { fromMs, toMs, nodesPerChunk: 4 },
  );
}

describe('bulk backfill', await peerGate('postgres'), () => {
  const dbs: TestDatabase[] = [];
  const storages: Storage[] = [];
  const database = async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    return db;
  };
  const storageOf = async (db: TestDatabase) => {
    const storage = await openStorage(configFor(db));
    storages.push(storage);
    return storage;
  };
  let cycled: TestDatabase;
  let bulk: TestDatabase;
  let bulkStorage: Storage;
  let first: BulkBackfillResult;

  before(async () => {
    cycled = await database();
    await runCycles(cycled, T0, END);
    bulk = await database();
    bulkStorage = await storageOf(bulk);
    first = await runBulk(bulkStorage, bulk, T0, END);
  });

  after(async () => {
    for (const s of storages) await s.sql.end({ timeout: 1 });
    for (const db of dbs) await db.drop();
  });

  test('leaves the partials, watermarks and latest values the per-cycle path leaves', async () => {
    assert.equal(first.applied, NODES);
    assert.ok(first.readings > NODES * 1300, `${first.readings} readings`);
    assert.ok(first.copied['5m'] > NODES * 288, `${first.copied['5m']} 5-minute rows`);
    const expected = await bulkState(cycled.sql);
    assert.ok((expected['agg_5m'] as unknown[]).length > 0);
    assert.deepEqual(differences(await bulkState(bulk.sql), expected), []);
    // One audit row per node, with the readings it applied.
    const [batches] = await bulk.sql<{ n: number; readings: number }[]>`
      select count(*)::int4 as n, sum(readings)::int4 as readings from applied_batches where run_id like 'bulk:%'`;
    assert.deepEqual(batches, { n: NODES, readings: first.readings });
  });

  test('over two days, written day by day into each partition, it leaves what the per-cycle path leaves', async () => {
    const cycledTwo = await database();
    await runCycles(cycledTwo, T0, END + DAY_MS);
    const two = await database();
    const result = await runBulk(await storageOf(two), two, T0, END + DAY_MS);
    assert.equal(result.applied, NODES);
    // Both days (and the readings stamped at the range's end, in a third).
    const [days] = await two.sql<{ n: number }[]>`
      select count(distinct date_trunc('day', bucket))::int4 as n from agg_1d`;
    assert.ok((days?.n ?? 0) >= 2, `${days?.n} days`);
    // A day's sum folds 5-minute partials in one order here and in 6-hour batches in the cycles: where
    // values cancel (a sum near 0), the last bits differ beyond 1e-12 relative (main's bulk path too).
    const rounding = /\.sum: (\S+) ≠ (\S+)$/;
    const differs = differences(await bulkState(two.sql), await bulkState(cycledTwo.sql)).filter((d) => {
      const m = rounding.exec(d);
      return !m || Math.abs(Number(m[1]) - Number(m[2])) > 1e-9;
    });
    assert.deepEqual(differs, []);
  });

  test('running it again changes nothing: the watermarks say it is applied', async () => {
    const before = await tableState(bulk.sql);
    const again = await runBulk(bulkStorage, bulk, T0, END);
    assert.equal(again.applied, 0);
    assert.equal(again.alreadyApplied, NODES);
    assert.equal(again.readings, 0);
    assert.deepEqual(differences(await tableState(bulk.sql), before), []);
    const [audit] = await bulk.sql<{ n: number }[]>`select count(*)::int4 as n from applied_batches`;
    assert.equal(audit?.n, NODES);
  });

  test('a range that overlaps what is applied is refused, and nothing is written', async () => {
    const before = await tableState(bulk.sql);
    await assert.rejects(runBulk(bulkStorage, bulk, MID, END + DAY_MS), BulkBackfillRefusedError);
    assert.deepEqual(differences(await tableState(bulk.sql), before), []);
  });

  test('after ordinary cycles it merges the hour and day they wrote: counts add up exactly', async () => {
    const mixed = await database();
    await runCycles(mixed, T0, MID);
    const storage = await storageOf(mixed);
    const result = await runBulk(storage, mixed, MID, END);
    assert.equal(result.applied, NODES);
    // The hour and day straddling MID were stored by the cycles; readings ingested after MID land in them.
    assert.ok(result.merged['1h'] > 0 && result.merged['1d'] > 0, JSON.stringify(result.merged));
    assert.deepEqual(differences(await bulkState(mixed.sql), await bulkState(cycled.sql)), []);
  });

  test('a node behind `from` is read from its own watermark: nothing in between is skipped', async () => {
    const behind = await database();
    await runCycles(behind, T0, T0 + STEP);
    const result = await runBulk(await storageOf(behind), behind, MID, END);
    assert.equal(result.applied, NODES);
    assert.deepEqual(differences(await bulkState(behind.sql), await bulkState(cycled.sql)), []);
  });

  test('a watermark that moves while the backfill reads (a cycle ran) fails the chunk, writing nothing of it', async () => {
    const db = await database();
    const storage = await storageOf(db);
    const simulated = createSimulatorSource({ seed: SEED, nodes: NODES });
    const moved = simulated.simulator.network().nodes[0]!.id;
    const source: ReadingSource = {
      name: 'simulator',
      network: () => simulated.network(),
      readIngested: (w) => simulated.readIngested(w),
      async readColumns(window, nodeIds) {
        if (nodeIds.includes(moved)) {
          await db.sql`insert into node_watermarks (node_id, ingested_to) values (${moved}, ${new Date(MID)})`;
        }
        return simulated.readColumns(window, nodeIds);
      },
    };
    await assert.rejects(
      bulkBackfill(
        { ...storage, source, settings: cycleSettings(configFor(db)) },
        { fromMs: T0, toMs: END, nodesPerChunk: 4, writers: 1 },
      ),
      BulkBackfillConflictError,
    );
    const [row] = await db.sql<
      { n: number }[]
    >`select count(*)::int4 as n from agg_5m where node_id = ${moved}`;
    assert.equal(row?.n, 0);
    const [wm] = await db.sql<{ ms: number }[]>`
      select (extract(epoch from ingested_to) * 1000)::float8 as ms from node_watermarks where node_id = ${moved}`;
    assert.equal(wm?.ms, MID);
  });

  test('COPY, binary or text, stores exactly what the unnest upsert stores', async () => {
    const db = await database();
    const storage = await storageOf(db);
    const sim = createSimulator({ seed: SEED, nodes: NODES });
    const rows = aggregateReadings(sim.readings(T0, T0 + 3 * HOUR_MS));
    await storage.partitions.ensure(
      'agg_5m',
      rows.map((r) => r.bucketMs),
    );
    const stored = async (write: () => Promise<void>) => {
      await db.sql`truncate agg_5m`;
      await write();
      return (await tableState(db.sql))['agg_5m'];
    };
    const viaUpsert = await stored(() => upsertPartials(db.sql, 'agg_5m', rows));
    for (const format of ['binary', 'text'] as const) {
      const encoder = new PartialCopyEncoder(format);
      for (const r of rows) {
        encoder.add(r.nodeId, METRICS.indexOf(r.metric), r.bucketMs, r, sketchBytes(r), r.seen ?? null);
      }
      const viaCopy = await stored(() =>
        db.sql.begin((tx) => copyPartials(tx, 'agg_5m', encoder.end(), format)),
      );
      assert.equal(viaCopy?.length, rows.length);
      assert.deepEqual(differences(viaCopy, viaUpsert), [], format);
    }
  });

  test('a COPY of several MiB, its written chunks reused while it streams, stores every row once', async () => {
    const db = await database();
    const storage = await storageOf(db);
    const sim = createSimulator({ seed: SEED, nodes: NODES });
    const base = aggregateReadings(sim.readings(T0, T0 + 3 * HOUR_MS));
    // The same rows under 16 node ids each: enough bytes for several full-size (1 MiB) chunks.
    const rows = Array.from({ length: 16 }, (_, k) =>
      base.map((r) => ({ ...r, nodeId: `${r.nodeId}-${k}` })),
    ).flat();
    await storage.partitions.ensure(
      'agg_5m',
      rows.map((r) => r.bucketMs),
    );
    const viaUpsert = async () => {
      await db.sql`truncate agg_5m`;
      await upsertPartials(db.sql, 'agg_5m', rows);
      return (await tableState(db.sql))['agg_5m'];
    };
    const expected = await viaUpsert();
    await db.sql`truncate agg_5m`;
    const reused = copyChunkStats.reused;
    const encoder = new PartialCopyEncoder('binary');
    // As the backfill streams: rows added while PostgreSQL takes the chunks finished so far.
    function* data(): Generator<Uint8Array> {
      for (const [i, r] of rows.entries()) {
        encoder.add(r.nodeId, METRICS.indexOf(r.metric), r.bucketMs, r, sketchBytes(r), r.seen ?? null);
        if (i % 500 === 0) yield* encoder.drain();
      }
      yield* encoder.end();
    }
    await db.sql.begin((tx) => copyPartials(tx, 'agg_5m', data()));
    assert.ok(copyChunkStats.reused > reused, 'written chunks were reused during the COPY');
    const viaCopy = (await tableState(db.sql))['agg_5m'];
    assert.equal(viaCopy?.length, rows.length);
    assert.deepEqual(differences(viaCopy, expected), []);
  });

  test('COPY hands each chunk to the socket as it is, not a copy of it (patched postgres.js)', async () => {
    const db = await database();
    const storage = await storageOf(db);
    const sim = createSimulator({ seed: SEED, nodes: NODES });
    const rows = aggregateReadings(sim.readings(T0, T0 + 6 * HOUR_MS));
    await storage.partitions.ensure(
      'agg_5m',
      rows.map((r) => r.bucketMs),
    );
    const yielded: Uint8Array[] = [];
    function* data(): Generator<Uint8Array> {
      const encoder = new PartialCopyEncoder('binary');
      for (const r of rows) {
        encoder.add(r.nodeId, METRICS.indexOf(r.metric), r.bucketMs, r, sketchBytes(r), r.seen ?? null);
        for (const chunk of encoder.drain()) yield yielded[yielded.push(chunk) - 1]!;
      }
      for (const chunk of encoder.end()) yield yielded[yielded.push(chunk) - 1]!;
    }
    // The stream hands the socket a Buffer view of the chunk: the same memory, another object.
    const same = (a: Uint8Array, b: Uint8Array) =>
      a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
    const onSocket: Uint8Array[] = [];
    const write = Socket.prototype.write;
    Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
      if (chunk instanceof Uint8Array) onSocket.push(chunk);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof write;
    try {
      await db.sql.begin((tx) => copyPartials(tx, 'agg_5m', data()));
    } finally {
      Socket.prototype.write = write;
    }
    assert.ok(yielded.length > 1, 'the rows span several chunks');
    // Without the patch postgres.js concatenates header and chunk into a new buffer for each chunk.
    assert.deepEqual(
      yielded
        .filter((chunk) => !onSocket.some((written) => same(written, chunk)))
        .map((chunk) => chunk.length),
      [],
    );
    const [stored] = await db.sql<{ n: number }[]>`select count(*)::int as n from agg_5m`;
    assert.equal(stored?.n, rows.length);
  });

  test('invalid readings are counted, not aggregated', async () => {
    const db = await database();
    const storage = await storageOf(db);
    const sim = createSimulator({ seed: SEED, nodes: NODES });
    const window = { fromIngestMs: T0, toIngestMs: END, minTsMs: T0 - 72 * HOUR_MS };
    const readings = sim.readIngested(window).readings.flatMap((r, i): Reading[] => {
      if (i % 50 === 0) return [{ ...r, values: { ...r.values, pressure: Number.NaN } }];
      if (i % 51 === 0) return [{ ...r, values: { ...r.values, flow: 99_999, volume: -5 } }];
      if (i % 53 === 0) return [{ ...r, ts: END + HOUR_MS }];
      if (i % 59 === 0) return [r, { ...r, ingestedAt: r.ingestedAt + 1000, values: { flow: 12_345 } }];
      return [r];
    });
    // A source without the columnar fast path: the backfill reads it whole.
    const source: ReadingSource = {
      name: 'spoiled',
      network: async () => sim.network(),
      readIngested: async (w) => ({
        readings: readings.filter((r) => r.ingestedAt > w.fromIngestMs && r.ingestedAt <= w.toIngestMs),
        bytesProcessed: 0,
      }),
    };
    const result = await runBulk(storage, db, T0, END, source);

    const expected: RejectCounts = emptyRejects();
    const valid: Reading[] = [];
    for (const list of Map.groupBy(readings, (r) => r.nodeId).values()) {
      const clean = cleanReadings(list, END);
      valid.push(...clean.valid);
      for (const k of Object.keys(expected) as (keyof RejectCounts)[]) expected[k] += clean.counts[k];
    }
    assert.deepEqual(result.rejected, expected);
    assert.ok(
      expected.nonFinite > 0 && expected.impossible > 0 && expected.future > 0 && expected.duplicates > 0,
    );
    const [stored] = await db.sql<RejectCounts[]>`
      select sum((rejected->>'nonFinite')::int4)::int4 as "nonFinite", sum((rejected->>'impossible')::int4)::int4 as impossible,
             sum((rejected->>'future')::int4)::int4 as future, sum((rejected->>'duplicates')::int4)::int4 as duplicates
      from applied_batches`;
    assert.deepEqual(stored, {
      nonFinite: expected.nonFinite,
      impossible: expected.impossible,
      future: expected.future,
      duplicates: expected.duplicates,
    });

    // Stored 5-minute partials hold exactly the valid values.
    const rows = await db.sql<{ key: string; count: number; max: number }[]>`
      select node_id || '|' || metric || '|' || (extract(epoch from bucket) * 1000)::int8 as key, count, max from agg_5m`;
    const want = new Map(
      aggregateReadings(valid).map((p) => [`${p.nodeId}|${METRICS.indexOf(p.metric)}|${p.bucketMs}`, p]),
    );
    assert.equal(rows.length, want.size);
    for (const row of rows) {
      const p = want.get(row.key);
      assert.ok(p, `unexpected ${row.key}`);
      assert.equal(row.count, p.count);
      assert.equal(row.max, p.max);
    }
    const [top] = await db.sql<{ flow: number }[]>`
      select max(max)::float8 as flow from agg_1d where metric = ${METRICS.indexOf('flow')}`;
    assert.ok(top && top.flow < 12_345, `max flow ${top?.flow}`);
  });
});
