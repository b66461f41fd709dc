/**
 * bench:backfill — readings/s aggregated and written by the bulk backfill (shared/cycle/backfill/)
 * for D days × N simulated nodes (1-minute readings, every metric) into PostgreSQL: columns from the
 * simulator, cleaning, 5m/1h/1d partials, binary COPY, watermarks and latest values, two writers.
 * Target ≥ 1,000,000 readings/s. The figure is end to end: the simulator generates the readings
 * inside the timed run (its share is printed separately).
 *
 * Also, on the same 5-minute partial rows and database: the batched unnest upsert against a per-row
 * INSERT … ON CONFLICT baseline, and COPY (binary and text) beside them.
 *
 *   npm run bench:backfill                                7 days × 1,000 nodes
 *   npm run bench:backfill -- --days 1 --nodes 200
 *   npm run bench:backfill -- --days 1 --nodes 200 --per-cycle   also through the cycle code (slow)
 *   npm run bench:backfill -- --baseline ../wt-main --pairs 3
 *       the bulk backfill of another checkout (its modules, imported here) and ours, alternately, each
 *       into a fresh database: medians and the paired ratio (the rest of the bench is skipped)
 *   npm run bench:backfill -- --baseline ../wt-main --collation en-US
 *       the same, each database created with that ICU collation as its default (a linguistic one, as
 *       Cloud SQL's en_US.UTF8; without it the cluster's default, C.UTF-8 here)
 *   npm run bench:backfill -- --processes 1,2,4
 *       the same backfill in N shards, N processes of the job's entry (`npm run backfill -- --tasks N`)
 *       against one PostgreSQL: readings/s, and the CPU the processes and PostgreSQL used (where
 *       PostgreSQL becomes the limit)
 *
 * Longer than 400 lines because its four ways of running (the single run with its upsert and COPY
 * comparisons, the paired baseline, the collation study and the processes) share one database setup and
 * one CPU accounting, which read best beside them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createLocalStack } from '../dev/local-stack.ts';
import { startPeers } from '../dev/peers/start-peers.ts';
import { runLocalTasks } from '../scripts/backfill.ts';
import { upsertPartials } from '../shared/adapters/postgres/aggregates.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { copyPartials, PartialCopyEncoder } from '../shared/adapters/postgres/copy.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { loadConfig } from '../shared/config.ts';
import { bulkBackfill } from '../shared/cycle/backfill/index.ts';
import type { CopyFormat } from '../shared/cycle/backfill/store.ts';
import { aggregateReadings, sketchBytes } from '../shared/domain/aggregate.ts';
import { METRICS } from '../shared/domain/readings.ts';
import { createSimulator, createSimulatorSource } from '../shared/simulator/index.ts';
import { cycleStores } from '../shared/wiring/cycle.ts';

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '7' },
    nodes: { type: 'string', default: '1000' },
    'per-cycle': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    pairs: { type: 'string', default: '3' },
    processes: { type: 'string' },
    collation: { type: 'string' },
  },
});
const days = Number(args.days);
const nodes = Number(args.nodes);
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 3, 6);
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const load = loadavg()
  .map((x) => x.toFixed(1))
  .join(' ');

process.env.METADATA_SERVER_DETECTION = 'none';
const peers = await startPeers(args['per-cycle'] ? ['postgres', 'redis'] : ['postgres']);
if (Object.keys(peers.missing).length > 0) {
  console.error('missing peers:', peers.missing);
  process.exit(1);
}
const admin = postgres(peers.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
const newDb = async (name: string) => {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  if (args.collation && !/^[A-Za-z-]+$/.test(args.collation))
    throw new Error('--collation: an ICU locale, e.g. en-US');
  await admin.unsafe(
    args.collation
      ? `create database ${name} template template0 locale_provider icu icu_locale '${args.collation}'`
      : `create database ${name}`,
  );
  return peers.env.TEST_DATABASE_URL!.replace(/\/[^/]*$/, `/${name}`);
};
const storageAt = async (url: string, max: number) => {
  const sql = connect(url, { max });
  const partitions = new PartitionManager(sql, (await migrate(sql)).timescale);
  return { sql, partitions, stores: cycleStores(sql, partitions) };
};

const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

/** CPU seconds of these pids, and of the PostgreSQL backends connected to `db` (process titles name it). */
function cpuOf(pids: number[], db: string): { node: number; postgres: number } {
  let node = 0;
  let pg = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const s = (Number(f[11]) + Number(f[12])) / 100;
      if (pids.includes(Number(pid))) node += s;
      else if (
        readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(`postgres: `) &&
        readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(` ${db} `)
      )
        pg += s;
    } catch {
      // Gone meanwhile.
    }
  }
  return { node, postgres: pg };
}

/**
 * The simulator source with its CPU counted apart: it generates a chunk's readings synchronously
 * inside readColumns, so the process's CPU over that call is the simulator's (seconds).
 */
function timedSource<S extends { readColumns: (...a: never[]) => unknown }>(source: S) {
  let us = 0;
  const readColumns = source.readColumns.bind(source) as S['readColumns'];
  source.readColumns = ((...a: Parameters<S['readColumns']>) => {
    const before = process.cpuUsage();
    const out = readColumns(...a);
    const used = process.cpuUsage(before);
    us += used.user + used.system;
    return out;
  }) as S['readColumns'];
  return { source, simulatorCpu: () => us / 1e6 };
}

/** One bulk backfill of the simulator's days × nodes by the code in `root`, into a fresh database. */
async function bulkRun(root: string, name: string) {
  const url = await newDb(name);
  const mod = (path: string) => import(pathToFileURL(join(resolve(root), path)).href);
  const [client, migrations, parts, wiring, backfill, simulator] = await Promise.all([
    mod('shared/adapters/postgres/client.ts'),
    mod('shared/adapters/postgres/migrations.ts'),
    mod('shared/adapters/postgres/partitions.ts'),
    mod('shared/wiring/cycle.ts'),
    mod('shared/cycle/backfill/index.ts'),
    mod('shared/simulator/index.ts'),
  ]);
  // The pool the Cloud Run job gets (terraform/backfill.tf: PG_POOL_MAX = 3).
  const sql = client.connect(url, { max: 3 });
  const partitions = new parts.PartitionManager(sql, (await migrations.migrate(sql)).timescale);
  const { source, simulatorCpu } = timedSource(simulator.createSimulatorSource({ seed: 5, nodes }));
  const cpu0 = cpuOf([process.pid], name);
  const r = await backfill.bulkBackfill(
    {
      sql,
      partitions,
      stores: wiring.cycleStores(sql, partitions),
      source,
      settings: { tenantId: 'default', latenessHorizonMs: 72 * HOUR },
    },
    { fromMs: T0, toMs: T0 + days * 24 * HOUR },
  );
  const cpu1 = cpuOf([process.pid], name);
  await sql.end();
  await admin.unsafe(`drop database ${name} with (force)`);
  return {
    rate: r.readings / (r.elapsedMs / 1000),
    nodeCpu: cpu1.node - cpu0.node - simulatorCpu(),
    simulatorCpu: simulatorCpu(),
    pgCpu: cpu1.postgres - cpu0.postgres,
    readings: r.readings as number,
  };
}

if (args.baseline) {
  const runs: Record<'base' | 'ours', Awaited<ReturnType<typeof bulkRun>>[]> = { base: [], ours: [] };
  const pairs = Number(args.pairs);
  for (let i = 0; i < pairs; i++) {
    for (const which of i % 2 ? (['ours', 'base'] as const) : (['base', 'ours'] as const)) {
      const r = await bulkRun(which === 'base' ? args.baseline : '.', `bench_bulk_${which}_${process.pid}`);
      console.error(
        `  pair ${i + 1} ${which}: ${fmt(r.rate)} readings/s (backfill process CPU ${r.nodeCpu.toFixed(1)} s, simulator ${r.simulatorCpu.toFixed(1)} s, PostgreSQL ${r.pgCpu.toFixed(1)} s)`,
      );
      runs[which].push(r);
    }
  }
  const line = (what: string, of: (r: (typeof runs.base)[number]) => number, digits = 0) => {
    const b = median(runs.base.map(of));
    const o = median(runs.ours.map(of));
    const paired = median(runs.ours.map((r, i) => of(r) / of(runs.base[i]!)));
    return `  ${what.padEnd(40)} base ${b.toLocaleString('en', { maximumFractionDigits: digits }).padStart(10)}  ours ${o.toLocaleString('en', { maximumFractionDigits: digits }).padStart(10)}  ratio ${(o / b).toFixed(2)}  paired ${paired.toFixed(2)}`;
  };
  const per = (s: number, r: { readings: number }) => (s * 1e6) / r.readings;
  console.log(`\nbench:backfill --baseline ${args.baseline} (${new Date().toISOString()}, ${days} d × ${nodes} nodes, ${args.collation ? `databases in the ICU collation ${args.collation}, ` : ''}median of ${pairs} alternating pairs; load average at start ${load}, now ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')})
${line('readings/s (target ≥ 1,000,000)', (r) => r.rate)}
${line('backfill process CPU µs per reading', (r) => per(r.nodeCpu, r), 2)}  (without the simulator's)
${line('simulator CPU µs per reading', (r) => per(r.simulatorCpu, r), 2)}
${line('PostgreSQL CPU µs per reading', (r) => per(r.pgCpu, r), 2)}`);
  await admin.end();
  await peers.stop();
  process.exit(0);
}

/**
 * Samples the CPU of `db`'s PostgreSQL backends every 200 ms, per pid (a backend ends with its task's
 * pool, so one look at the end would miss it); `stop` returns their sum.
 */
function pgSampler(db: string) {
  const seen = new Map<number, number>();
  const look = () => {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (!cmd.startsWith('postgres: ') || !cmd.includes(` ${db} `)) continue;
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        seen.set(Number(pid), (Number(f[11]) + Number(f[12])) / 100);
      } catch {
        // Gone meanwhile.
      }
    }
  };
  look();
  const base = new Map(seen);
  const timer = setInterval(look, 200);
  return () => {
    clearInterval(timer);
    look();
    let sum = 0;
    for (const [pid, s] of seen) sum += s - (base.get(pid) ?? 0);
    return sum;
  };
}

/** CPU seconds of this process's ended (reaped) children: the tasks. */
function childrenCpu(): number {
  const self = readFileSync('/proc/self/stat', 'utf8');
  const f = self.slice(self.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

if (args.processes) {
  const lines: string[] = [];
  for (const n of args.processes.split(',').map(Number)) {
    const name = `bench_shards_${n}`;
    const url = await newDb(name);
    // Migrated once here: the tasks only check the schema.
    const setup = await storageAt(url, 1);
    await setup.sql.end();
    const env = {
      ...process.env,
      DATABASE_URL: url,
      SIMULATOR_NODES: String(nodes),
      SIMULATOR_SEED: '5',
      PG_POOL_MAX: '3',
      LOG_LEVEL: 'info',
      MIGRATE_ON_START: 'false',
    };
    const walNow = async () =>
      Number((await admin<{ b: string }[]>`select wal_bytes::text as b from pg_stat_wal`)[0]?.b ?? 0);
    const walBefore = await walNow();
    const pgCpu = pgSampler(name);
    const tasksBefore = childrenCpu();
    const started = performance.now();
    const outcomes = await runLocalTasks(
      { from: new Date(T0).toISOString(), to: new Date(T0 + days * 24 * HOUR).toISOString() },
      n,
      { env },
    );
    const seconds = (performance.now() - started) / 1000;
    const pg = pgCpu();
    const wal = (await walNow()) - walBefore;
    const [size] = await admin<{ b: string }[]>`select pg_database_size(${name})::text as b`;
    const tasks = childrenCpu() - tasksBefore;
    const readings = outcomes.reduce((a, o) => a + o.readings, 0);
    const failed = outcomes.filter((o) => o.code !== 0).length;
    lines.push(
      `  ${String(n).padStart(2)} process(es): ${fmt(readings)} readings in ${seconds.toFixed(1)} s = ${fmt(readings / seconds).padStart(9)} readings/s; tasks' CPU ${tasks.toFixed(1)} s, PostgreSQL backends' CPU ${pg.toFixed(1)} s, of ${(2 * seconds).toFixed(0)} CPU-s on 2 cores; per reading: WAL ${(wal / readings).toFixed(0)} B (the whole cluster's), database ${(Number(size?.b ?? 0) / readings).toFixed(0)} B${failed ? `; ${failed} task(s) FAILED` : ''}`,
    );
    console.error(lines.at(-1));
    await admin.unsafe(`drop database ${name} with (force)`);
  }
  console.log(`\nbench:backfill --processes (${new Date().toISOString()}, ${days} d × ${nodes} nodes, N shards in N processes against one PostgreSQL; load average at start ${load}, now ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')})
${lines.join('\n')}`);
  await admin.end();
  await peers.stop();
  process.exit(0);
}

// 1. The bulk backfill, end to end (the simulator generates inside the timed run).
const bulkUrl = await newDb('bench_bulk');
const bulkStorage = await storageAt(bulkUrl, 3);
const bulkSource = timedSource(createSimulatorSource({ seed: 5, nodes }));
const bulkCpu0 = cpuOf([process.pid], 'bench_bulk');
const bulk = await bulkBackfill(
  {
    ...bulkStorage,
    source: bulkSource.source,
    settings: { tenantId: 'default', latenessHorizonMs: 72 * HOUR },
  },
  {
    fromMs: T0,
    toMs: T0 + days * 24 * HOUR,
    onProgress: (p) =>
      process.stderr.write(`\r  bulk: ${p.nodesDone}/${p.nodesTotal} nodes, ${fmt(p.readings)} readings`),
  },
);
process.stderr.write('\n');
const bulkCpu1 = cpuOf([process.pid], 'bench_bulk');
await bulkStorage.sql.end();

// 2. Optionally, the same backfill through the cycle code (6-hour windows, per-node merge-upserts).
let perCycle: { readings: number; seconds: number } | undefined;
if (args['per-cycle']) {
  const config = loadConfig({
    DATABASE_URL: await newDb('bench_backfill'),
    UPSTASH_REDIS_REST_URL: peers.env.TEST_UPSTASH_URL,
    UPSTASH_REDIS_REST_TOKEN: peers.env.TEST_UPSTASH_TOKEN,
    REDIS_KEY_PREFIX: `bench-backfill-${Date.now()}:`,
    SIMULATOR_NODES: String(nodes),
    SIMULATOR_SEED: '5',
    PG_POOL_MAX: '8',
    LOG_LEVEL: 'error',
    ANALYTICS_ENABLED: process.env.ANALYTICS_ENABLED ?? 'true',
  });
  const stack = await createLocalStack(config);
  let readings = 0;
  const started = performance.now();
  for (let t = T0 + 6 * HOUR; t <= T0 + days * 24 * HOUR; t += 6 * HOUR) {
    readings += (await stack.cycle(t, T0)).readings;
    process.stderr.write(`\r  per-cycle: ${new Date(t).toISOString()}  ${fmt(readings)} readings`);
  }
  perCycle = { readings, seconds: (performance.now() - started) / 1000 };
  process.stderr.write('\n');
  await stack.close();
}

// 3. Writing the same 5-minute partial rows four ways: unnest upsert, per-row INSERT, COPY.
const sim = createSimulator({ seed: 5, nodes: 40 });
const rows = aggregateReadings(sim.readings(T0, T0 + 24 * HOUR));
const { sql, partitions } = await storageAt(await newDb('bench_upsert'), 1);
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
const copied = async (format: CopyFormat) =>
  time(async () => {
    // Encoding included, one transaction, one writer: as the unnest upsert above.
    function* data() {
      const encoder = new PartialCopyEncoder(format);
      for (const r of rows) {
        encoder.add(r.nodeId, METRICS.indexOf(r.metric), r.bucketMs, r, sketchBytes(r), r.seen ?? null);
        yield* encoder.drain();
      }
      yield* encoder.end();
    }
    await sql.begin((tx) => copyPartials(tx, 'agg_5m', data(), format));
  });
const copyBinary = await copied('binary');
const copyText = await copied('text');
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
for (const db of ['bench_upsert', 'bench_bulk', ...(perCycle ? ['bench_backfill'] : [])])
  await admin.unsafe(`drop database ${db} with (force)`);
await admin.end();
await peers.stop();

const seconds = bulk.elapsedMs / 1000;
const sourceSeconds = bulk.sourceMs / 1000;
const rate = bulk.readings / seconds;
const written = bulk.copied['5m'] + bulk.copied['1h'] + bulk.copied['1d'];
const merged = bulk.merged['5m'] + bulk.merged['1h'] + bulk.merged['1d'];
const perSecond = (n: number, s: number) => `${fmt(n / s)} rows/s`;
console.log(`\nbench:backfill (${new Date().toISOString()}, load average at start ${load})
bulk       ${days} d × ${nodes} nodes: ${fmt(bulk.readings)} readings in ${seconds.toFixed(1)} s = ${fmt(rate)} readings/s  ${rate >= 1e6 ? 'PASS' : 'FAIL'} (target ≥ 1,000,000/s)
           source generation included: the simulator took ${sourceSeconds.toFixed(1)} s of it (without it ≈ ${fmt(bulk.readings / (seconds - sourceSeconds))} readings/s; PostgreSQL kept ingesting meanwhile, so that is an upper bound)
           CPU µs per reading: the backfill process ${(((bulkCpu1.node - bulkCpu0.node - bulkSource.simulatorCpu()) * 1e6) / bulk.readings).toFixed(2)} and the simulator in it ${((bulkSource.simulatorCpu() * 1e6) / bulk.readings).toFixed(2)}, PostgreSQL (this database's backends) ${(((bulkCpu1.postgres - bulkCpu0.postgres) * 1e6) / bulk.readings).toFixed(2)}
           wrote ${fmt(bulk.copied['5m'])} 5m + ${fmt(bulk.copied['1h'])} 1h + ${fmt(bulk.copied['1d'])} 1d partials by binary COPY into each partition (${fmt(written / seconds)} rows/s overall), merged ${fmt(merged)}; rejected ${fmt(bulk.rejected.received - bulk.rejected.accepted)} of ${fmt(bulk.rejected.received)} received (${fmt(bulk.rejected.duplicates)} duplicates)${
             perCycle
               ? `\nper-cycle  same backfill through the cycle code: ${fmt(perCycle.readings)} readings dispatched in ${perCycle.seconds.toFixed(1)} s = ${fmt(perCycle.readings / perCycle.seconds)}/s (bulk: ${fmt(bulk.received / seconds)} received/s, ${(bulk.received / seconds / (perCycle.readings / perCycle.seconds)).toFixed(0)}× faster)`
               : ''
           }
upsert     ${fmt(rows.length)} 5-minute partial rows: batched unnest ${perSecond(rows.length, batched)} vs per-row INSERT ${perSecond(rows.length, perRow)} = ${(perRow / batched).toFixed(1)}× faster
copy       same rows, one writer: binary COPY ${perSecond(rows.length, copyBinary)}, text COPY ${perSecond(rows.length, copyText)}, unnest upsert ${perSecond(rows.length, batched)} (binary COPY ${(batched / copyBinary).toFixed(1)}× the upsert)`);
process.exit(0);
