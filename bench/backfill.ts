/**
 * bench:backfill — readings/s aggregated and written for a backfill of D days × N simulated nodes
 * (1-minute readings, every metric) through the real cycle code (dispatch in 6-hour windows, the
 * aggregator's merge-upserts under per-node watermarks) into PostgreSQL, with the hot keys in
 * Redis via the Upstash protocol. Target ≥ 1,000,000 readings/s.
 *
 * Also measures the batched upsert itself: unnest-array upserts of 5-minute partial rows against
 * a per-row INSERT … ON CONFLICT baseline, side by side on the same rows and database.
 *
 *   npm run bench:backfill                       7 days × 1,000 nodes
 *   npm run bench:backfill -- --days 1 --nodes 200
 */
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createLocalStack } from '../scripts/lib/local-stack.ts';
import { upsertPartials } from '../shared/adapters/postgres/aggregates.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { loadConfig } from '../shared/config.ts';
import { aggregateReadings, sketchBytes } from '../shared/domain/aggregate.ts';
import { METRICS } from '../shared/domain/readings.ts';
import { createSimulator } from '../shared/simulator/index.ts';
import { startPeers } from '../test/harness/start-peers.ts';

const { values: args } = parseArgs({
  options: { days: { type: 'string', default: '7' }, nodes: { type: 'string', default: '1000' } },
});
const days = Number(args.days);
const nodes = Number(args.nodes);
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 3, 6);

process.env.METADATA_SERVER_DETECTION = 'none';
const peers = await startPeers(['postgres', 'redis']);
if (Object.keys(peers.missing).length > 0) {
  console.error('missing peers:', peers.missing);
  process.exit(1);
}
const admin = postgres(peers.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
const newDb = async (name: string) => {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  return peers.env.TEST_DATABASE_URL!.replace(/\/[^/]*$/, `/${name}`);
};

// 1. Backfill through the cycle.
const url = await newDb('bench_backfill');
const config = loadConfig({
  DATABASE_URL: url,
  UPSTASH_REDIS_REST_URL: peers.env.TEST_UPSTASH_URL,
  UPSTASH_REDIS_REST_TOKEN: peers.env.TEST_UPSTASH_TOKEN,
  REDIS_KEY_PREFIX: `bench-backfill-${Date.now()}:`,
  SIMULATOR_NODES: String(nodes),
  PG_POOL_MAX: '8',
  LOG_LEVEL: 'error',
  ANALYTICS_ENABLED: process.env.ANALYTICS_ENABLED ?? 'true',
});
const stack = await createLocalStack(config);
let readings = 0;
const started = performance.now();
for (let t = T0 + 6 * HOUR; t <= T0 + days * 24 * HOUR; t += 6 * HOUR) {
  readings += (await stack.cycle(t, T0)).readings;
  process.stderr.write(`\r  ${new Date(t).toISOString()}  ${readings.toLocaleString()} readings`);
}
const seconds = (performance.now() - started) / 1000;
process.stderr.write('\n');
await stack.close();

// 2. The batched upsert against per-row INSERTs, on the same 5-minute partial rows.
const sim = createSimulator({ seed: 5, nodes: 40 });
const rows = aggregateReadings(sim.readings(T0, T0 + 24 * HOUR));
const upsertUrl = await newDb('bench_upsert');
const sql = postgres(upsertUrl, { max: 1, onnotice: () => {} });
const partitions = new PartitionManager(sql, (await migrate(sql)).timescale);
await partitions.ensure(
  'agg_5m',
  rows.map((r) => r.bucketMs),
);
const time = async (fn: () => Promise<void>) => {
  await sql`truncate agg_5m`;
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};
const BATCH = 2000;
const batched = await time(async () => {
  for (let i = 0; i < rows.length; i += BATCH) await upsertPartials(sql, 'agg_5m', rows.slice(i, i + BATCH));
});
const perRow = await time(async () => {
  for (const r of rows) {
    await sql`
      insert into agg_5m (node_id, metric, bucket, count, sum, m2, min, max, first_ts, first, last_ts, last, sketch, seen)
      values (${r.nodeId}, ${METRICS.indexOf(r.metric)}, ${new Date(r.bucketMs)}, ${r.count}, ${r.sum}, ${r.m2},
              ${r.min}, ${r.max}, ${new Date(r.firstTs)}, ${r.first}, ${new Date(r.lastTs)}, ${r.last},
              ${Buffer.from(sketchBytes(r))}, ${r.seen ? Buffer.from(r.seen) : null})
      on conflict (node_id, metric, bucket) do update set count = excluded.count, sum = excluded.sum`;
  }
});
await sql.end();
await admin.unsafe('drop database bench_upsert with (force)');
await admin.unsafe('drop database bench_backfill with (force)');
await admin.end();
await peers.stop();

const rate = readings / seconds;
console.log(`\nbench:backfill (${new Date().toISOString()})
backfill   ${days} d × ${nodes} nodes: ${readings.toLocaleString()} readings in ${seconds.toFixed(1)} s = ${Math.round(rate).toLocaleString()} readings/s  ${rate >= 1e6 ? 'PASS' : 'FAIL'} (target ≥ 1,000,000/s)
upsert     ${rows.length.toLocaleString()} 5-minute partial rows: batched unnest ${Math.round(rows.length / batched).toLocaleString()} rows/s vs per-row INSERT ${Math.round(rows.length / perRow).toLocaleString()} rows/s = ${(perRow / batched).toFixed(1)}× faster`);
process.exit(0);
