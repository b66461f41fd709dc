/**
 * bench:cycle — one processing cycle of N simulated nodes (30 minutes of 1-minute readings, every
 * metric) through the Pub/Sub emulator (subscriptions with retry and dead-letter policies, pushed as
 * CloudEvents by bench/lib/push-relay.ts to the deployed aggregator bundle served by the Functions
 * Framework in its own process, as on Cloud Run), the Firestore emulator (fan-in), PostgreSQL and
 * Redis (Upstash protocol). Builds the bundles first.
 * Prints wall time, messages/s, the aggregator's peak memory against the targets (1,000 nodes ≤ 30 s;
 * 10,000 nodes ≤ 5 min; aggregator ≤ 256 MiB), and where the machine's CPU went during the cycle: on
 * these 2 cores the emulators and PostgreSQL share the CPU with the function. The cost figure is CPU
 * milliseconds per node per process (aggregator, PostgreSQL, each emulator apart), steadier on a shared
 * machine than wall time. The aggregator listens on BENCH_PORT, or on a free port the OS gives.
 *
 *   npm run bench:cycle                 1,000 and 10,000 nodes
 *   npm run bench:cycle -- --nodes 1000
 *   npm run bench:cycle -- --nodes 1000 --baseline ../wt-main --pairs 3
 *       another checkout's runs and ours, alternately: its aggregator bundle (built there), and its own
 *       code migrates, backfills and dispatches into its run's database, so a schema change is compared
 *   npm run bench:cycle -- --nodes 1000 --steps --history-days 22
 *       what the forecast refresh, the consumption patterns and the KPI reports cost per node: the
 *       aggregator runs under --cpu-prof, the history is bulk-backfilled first (forecasts need three
 *       weeks for the champion), and the measured cycle ends at local midnight between a Sunday and a
 *       Monday (Europe/Rome), an hour after the warm-up: a new forecast hour, the day's patterns, the
 *       daily and weekly reports all fall in it (its batches hold an hour of readings, not 30 minutes).
 *   BENCH_KEEP_DATABASE=1 npm run bench:cycle -- --nodes 300 --history-days 22 --statements
 *       the run's database is kept (to EXPLAIN its statements on its data; drop it afterwards);
 *       --statements splits each statement's planning from its execution (track_planning on).
 *
 * Longer than 400 lines because one run's procedure (peers, topics, the aggregator process, warm-up,
 * the measured cycle) and its three ways of comparing runs read best in one place; the accounting is in
 * lib/cycle-cpu.ts and the profile's steps in lib/cpu-steps.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import postgres from 'postgres';
import { deleteKeysWithPrefix } from '../dev/peers/index.ts';
import { startPeers } from '../dev/peers/start-peers.ts';
import { bundleEntry, stepReport } from './lib/cpu-steps.ts';
import {
  aggregatorPort,
  cpuByProcess,
  heaviestStatements,
  monotonicUs,
  PG_BACKGROUND,
  peakRssMiB,
} from './lib/cycle-cpu.ts';

/** A process's anonymous resident memory now (0 once it has exited). */
function anonRssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

import { startPushRelay } from './lib/push-relay.ts';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000,10000' },
    // off,on pairs, interleaved: the analytics' share of the per-node cost, measured side by side.
    'compare-analytics': { type: 'string' },
    // The measured cycle's heaviest statements (PostgreSQL must load pg_stat_statements).
    statements: { type: 'boolean', default: false },
    // CPU per step (forecast refresh, patterns, KPI reports), sampled (see the header).
    steps: { type: 'boolean', default: false },
    // Another checkout (e.g. a worktree of main): its aggregator bundle measured alternately with ours.
    baseline: { type: 'string' },
    pairs: { type: 'string', default: '3' },
    'history-days': { type: 'string', default: '0' },
  },
});
const HISTORY_DAYS = Number(args['history-days']);
const sizes = args.nodes.split(',').map(Number);
const PAIRS = args['compare-analytics'] ? Number(args['compare-analytics']) : 0;
const TARGET_S: Record<number, number> = { 1000: 30, 10000: 300 };
const HALF_HOUR = 30 * 60_000;
/**
 * The aggregator's process settings as a checkout's Terraform deploys them: its Node.js flags (the
 * default of functions.aggregator.node_options in its terraform/variables.tf; BENCH_NODE_OPTIONS
 * replaces them for an experiment) and its malloc arenas (MALLOC_ARENA_MAX in its terraform/functions.tf;
 * a checkout that does not set them runs with ours, as the bench ran every checkout before they were
 * deployed). A baseline's runs get the baseline's flags, so a change of them is compared too.
 */
function deployedProcess(root: string): { nodeOptions: string; mallocArenaMax: string | undefined } {
  const read = (file: string) => readFileSync(resolve(root, 'terraform', file), 'utf8');
  const vars = read('variables.tf');
  const block = vars.slice(vars.indexOf('aggregator = optional(object({'));
  const options = block.match(/node_options\s*=\s*optional\(string,\s*"([^"]*)"\)/);
  if (!options) throw new Error(`${root}/terraform/variables.tf: no default node_options for the aggregator`);
  const fns = read('functions.tf');
  const env = fns.slice(fns.indexOf('    aggregator = {'));
  const arenas = env.slice(0, env.indexOf('\n    }')).match(/MALLOC_ARENA_MAX\s*=\s*"(\d+)"/);
  return {
    nodeOptions: process.env.BENCH_NODE_OPTIONS ?? options[1]!,
    mallocArenaMax: arenas?.[1] ?? (root === OURS ? undefined : deployedProcess(OURS).mallocArenaMax),
  };
}
const OURS = resolve(import.meta.dirname, '..');
/**
 * The aggregator's sizing as Terraform deploys it (terraform/variables.tf, functions.aggregator): the
 * push relay delivers up to its request concurrency at once, and its PostgreSQL pool is its pg_pool_max.
 */
function deployedAggregator(): { concurrency: number; poolMax: number } {
  const tf = readFileSync(resolve(import.meta.dirname, '../terraform/variables.tf'), 'utf8');
  const block = tf.slice(tf.indexOf('aggregator = optional(object({'));
  const setting = (name: string) => {
    const m = block.match(new RegExp(`${name}\\s*=\\s*optional\\(number,\\s*(\\d+)\\)`));
    if (!m) throw new Error(`terraform/variables.tf: no default ${name} for the aggregator`);
    return Number(m[1]);
  };
  return { concurrency: setting('max_instance_request_concurrency'), poolMax: setting('pg_pool_max') };
}
const DEPLOYED = deployedAggregator();
const CONCURRENCY = Number(process.env.CONCURRENCY ?? DEPLOYED.concurrency);

process.env.METADATA_SERVER_DETECTION = 'none';
if (spawnSync(process.execPath, ['scripts/build.ts'], { stdio: 'inherit' }).status !== 0) process.exit(1);
const peers = await startPeers(['postgres', 'redis', 'pubsub', 'firestore']);
if (Object.keys(peers.missing).length > 0) {
  console.error('missing peers:', peers.missing);
  process.exit(1);
}
// deleteKeysWithPrefix reaches Redis through this variable.
process.env.TEST_REDIS_URL = peers.env.TEST_REDIS_URL;
const admin = postgres(peers.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
const results: string[] = [];

/**
 * The Redis key prefixes of this bench's runs (the aggregator writes each node's hot keys under its
 * run's `bench-N-T:`): deleted after each run and, should a run fail, before the bench exits.
 */
const redisPrefixes = new Set<string>();
async function deleteRunKeys(prefix: string): Promise<number> {
  const deleted = await deleteKeysWithPrefix(prefix);
  redisPrefixes.delete(prefix);
  return deleted;
}

interface Measured {
  wallS: number;
  /** Until every node batch was applied (the rollup follows). */
  nodesS: number;
  peak: number;
  /** The highest anonymous resident memory sampled (RssAnon: RSS without the binary's file pages). */
  peakAnon: number;
  cpu: Map<string, number>;
  /** CPU seconds until every node batch was applied. */
  cpuNodes: Map<string, number>;
}

/**
 * The code that migrates, backfills and dispatches, from the checkout at `root`: a baseline's runs
 * build their database with the baseline's own schema (its migrations and partitions), not ours.
 */
async function checkoutCode(root: string) {
  const mod = (path: string) => import(pathToFileURL(join(resolve(root), path)).href);
  const [config, backfill, dispatch, wiring] = (await Promise.all([
    mod('shared/config.ts'),
    mod('shared/cycle/backfill/index.ts'),
    mod('shared/cycle/dispatch/index.ts'),
    mod('shared/wiring/cycle.ts'),
  ])) as [
    typeof import('../shared/config.ts'),
    typeof import('../shared/cycle/backfill/index.ts'),
    typeof import('../shared/cycle/dispatch/index.ts'),
    typeof import('../shared/wiring/cycle.ts'),
  ];
  return {
    loadConfig: config.loadConfig,
    bulkBackfill: backfill.bulkBackfill,
    dispatchCycle: dispatch.dispatchCycle,
    dispatcherDeps: wiring.dispatcherDeps,
  };
}

async function measure(nodes: number, analytics: boolean, root = '.'): Promise<Measured> {
  const { loadConfig, bulkBackfill, dispatchCycle, dispatcherDeps } = await checkoutCode(root);
  const db = `bench_cycle_${nodes}_${Date.now()}`;
  await admin.unsafe(`create database ${db}`);
  const projectId = `bench-${nodes}-${Date.now()}`;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: peers.env.TEST_DATABASE_URL!.replace(/\/[^/]*$/, `/${db}`),
    UPSTASH_REDIS_REST_URL: peers.env.TEST_UPSTASH_URL!,
    UPSTASH_REDIS_REST_TOKEN: peers.env.TEST_UPSTASH_TOKEN!,
    REDIS_KEY_PREFIX: `${projectId}:`,
    PUBSUB_EMULATOR_HOST: peers.env.TEST_PUBSUB_EMULATOR_HOST!,
    FIRESTORE_EMULATOR_HOST: peers.env.TEST_FIRESTORE_EMULATOR_HOST!,
    GOOGLE_CLOUD_PROJECT: projectId,
    SIMULATOR_NODES: String(nodes),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
    PG_POOL_MAX: String(DEPLOYED.poolMax),
    ANALYTICS_ENABLED: String(analytics),
  };
  redisPrefixes.add(env.REDIS_KEY_PREFIX!);
  Object.assign(process.env, env);
  const config = loadConfig(env);
  const deps = await dispatcherDeps(config);
  // Which schema the run's database got (a baseline's runs: the baseline's own migrations).
  const [schema] = await deps.sql<{ v: number }[]>`select max(version)::int4 as v from schema_migrations`;

  // Topics and subscriptions as Terraform declares them (retry + dead-letter policies).
  const pubsub = new PubSub({ projectId });
  const [dead] = await pubsub.createTopic(config.TOPIC_DEAD_LETTER);
  await dead.createSubscription(`${config.TOPIC_DEAD_LETTER}-pull`);
  for (const topic of [config.TOPIC_NODE_WORK, config.TOPIC_NETWORK_ROLLUP]) {
    const [t] = await pubsub.createTopic(topic);
    await t.createSubscription(`${topic}-pull`, {
      ackDeadlineSeconds: 600,
      retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 10 } },
      deadLetterPolicy: { deadLetterTopic: dead.name, maxDeliveryAttempts: 5 },
    });
  }

  // The aggregator function in its own process, as one Cloud Run instance: the deployed bundle
  // (dist/functions/aggregator) served by the Functions Framework, with Pub/Sub push played by
  // bench/lib/push-relay.ts, with the heap flags the deployment sets (see deployedProcess above).
  const deployed = deployedProcess(resolve(root));
  const profileDir = args.steps
    ? mkdtempSync(join(tmpdir(), 'bench-cycle-prof-'))
    : process.env.BENCH_CPU_PROF;
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const port = await aggregatorPort();
  const child = spawn(
    process.execPath,
    [
      ...profile,
      ...deployed.nodeOptions.split(' ').filter(Boolean),
      'node_modules/@google-cloud/functions-framework/build/src/main.js',
      '--target=aggregator',
      '--signature-type=cloudevent',
      `--source=${join(root, 'dist/functions/aggregator')}`,
      `--port=${port}`,
    ],
    {
      env: {
        ...env,
        // As deployed (terraform/functions.tf): glibc's per-thread arenas inflate RSS in a process with
        // gRPC and libuv threads.
        ...(deployed.mallocArenaMax ? { MALLOC_ARENA_MAX: deployed.mallocArenaMax } : {}),
      },
      stdio: ['ignore', process.env.BENCH_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit'],
    },
  );
  // RssAnon sampled from outside every 100 ms (VmHWM, the peak printed, also counts the ~60 MiB of the
  // node binary's file pages, which are shared page cache, not the process's own memory).
  let peakAnon = 0;
  const anonSampler = setInterval(() => {
    peakAnon = Math.max(peakAnon, anonRssMiB(child.pid!));
  }, 100);
  anonSampler.unref();
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code, signal) => reject(new Error(`aggregator exited (${signal ?? `code ${code}`})`))),
  );
  exited.catch(() => {});
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
      socket.once('close', () => socket.destroy());
      setTimeout(() => socket.end(), 10);
    });
    if (up) break;
    if (i > 300) throw new Error('aggregator did not start');
    await Promise.race([new Promise((r) => setTimeout(r, 50)), exited]);
  }
  const relay = startPushRelay({
    emulatorHost: env.PUBSUB_EMULATOR_HOST!,
    projectId,
    subscriptions: Object.fromEntries(
      [config.TOPIC_NODE_WORK, config.TOPIC_NETWORK_ROLLUP, config.TOPIC_DEAD_LETTER].map((t) => [
        `${t}-pull`,
        t,
      ]),
    ),
    target: `http://127.0.0.1:${port}/`,
    concurrency: CONCURRENCY,
  });

  // Warm-up cycle (registry, watermarks, partitions, first connections), then the measured one.
  // With --steps: warm-up to 23:00 local on Sunday 31 May, measured to Monday 00:00 (see the header).
  const t0 = args.steps ? Date.UTC(2026, 4, 31, 21, 0) : Date.UTC(2026, 5, 1, 8, 0);
  const measuredMs = args.steps ? HALF_HOUR * 2 : HALF_HOUR;
  const sql = postgres(env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  /**
   * Waits for the run to end. `onNodesDone` is called once every node batch has been applied (the
   * rollup runs after that): the per-node phase ends there.
   */
  const waitRun = async (runId: string, messages: number, onNodesDone?: () => void) => {
    let polls = 0;
    let nodesDone = false;
    for (;;) {
      const [r] = await sql<{ status: string; applied: number }[]>`
        select status, (select count(*)::int4 from applied_batches where run_id = ${runId}) as applied
        from runs where id = ${runId}`;
      if (!nodesDone && r && r.applied >= messages) {
        nodesDone = true;
        onNodesDone?.();
      }
      if (r && r.status !== 'running') return r.status;
      if (++polls % 100 === 0) console.error(`  … ${runId}: ${r?.applied ?? 0} node batches applied`);
      // An aggregator that died (out of heap, say) ends the bench now instead of leaving it waiting.
      await Promise.race([new Promise((res) => setTimeout(res, 50)), exited]);
    }
  };
  if (HISTORY_DAYS > 0) {
    const history = await bulkBackfill(
      {
        stores: deps.stores,
        source: deps.source,
        settings: {
          tenantId: config.TENANT_ID,
          latenessHorizonMs: config.LATENESS_HORIZON_HOURS * 3_600_000,
        },
      },
      { fromMs: t0 - HALF_HOUR - HISTORY_DAYS * 86_400_000, toMs: t0 - HALF_HOUR },
    );
    console.log(
      `  history: ${history.readings} readings bulk-backfilled in ${(history.elapsedMs / 1000).toFixed(1)} s`,
    );
  }
  const warm = await dispatchCycle(deps, { nowMs: t0, initialWatermarkMs: t0 - HALF_HOUR });
  await waitRun(warm.runId, warm.messages);

  if (args.statements) {
    await sql`create extension if not exists pg_stat_statements`;
    await sql`select pg_stat_statements_reset()`;
  }
  // WAL written by the whole PostgreSQL cluster (nothing else writes to it while the bench runs).
  const walNow = async () => {
    const [w] = await sql<{ b: string; fpi: string }[]>`
      select wal_bytes::text as b, wal_fpi::text as fpi from pg_stat_wal`;
    return { bytes: Number(w?.b ?? 0), fpi: Number(w?.fpi ?? 0) };
  };
  const walBefore = await walNow();
  const ours = {
    aggregatorPid: child.pid,
    db,
    ports: [env.PUBSUB_EMULATOR_HOST!, env.FIRESTORE_EMULATOR_HOST!].map((h) => h.split(':').pop()!),
  };
  const cpuBefore = cpuByProcess(ours);
  const started = performance.now();
  const startedUs = monotonicUs();
  const run = await dispatchCycle(deps, { nowMs: t0 + measuredMs });
  const dispatchedS = (performance.now() - started) / 1000;
  let nodesS = Number.NaN;
  let cpuNodes = new Map<string, number>();
  const status = await waitRun(run.runId, run.messages, () => {
    nodesS = (performance.now() - started) / 1000;
    cpuNodes = cpuByProcess(ours);
  });
  const wallS = (performance.now() - started) / 1000;
  const endedUs = monotonicUs();
  const peak = peakRssMiB(child.pid!);
  clearInterval(anonSampler);
  peakAnon = Math.max(peakAnon, anonRssMiB(child.pid!));
  const cpuAfter = cpuByProcess(ours);
  const walAfter = await walNow();
  const walBytes = walAfter.bytes - walBefore.bytes;
  const walFpi = walAfter.fpi - walBefore.fpi;
  const cpuNodeMap = new Map([...cpuNodes].map(([k, v]) => [k, v - (cpuBefore.get(k) ?? 0)] as const));
  const cpuMap = new Map([...cpuAfter].map(([k, v]) => [k, v - (cpuBefore.get(k) ?? 0)] as const));
  const cpu = [...cpuMap].filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1]);
  const target = TARGET_S[nodes];
  const line = [
    `${nodes} nodes`.padEnd(13),
    // Node batches (a multi-node checkout publishes fewer Pub/Sub messages: `published`).
    `${run.messages} msgs${'published' in run ? ` (${run.published} published)` : ''}`.padEnd(12),
    `${run.readings} readings`.padEnd(18),
    `dispatch ${dispatchedS.toFixed(1)} s`.padEnd(16),
    `cycle ${wallS.toFixed(1)} s`.padEnd(14),
    `(nodes ${nodesS.toFixed(1)} s, rollup ${(wallS - nodesS).toFixed(1)} s)`.padEnd(28),
    `${(run.messages / wallS).toFixed(0)} msg/s`.padEnd(12),
    `aggregator peak ${peak.toFixed(0)} MiB (anon ${peakAnon.toFixed(0)})`.padEnd(26),
    `status ${status}`,
    `schema v${schema?.v}`,
    analytics ? '' : '(analytics off)',
    target && analytics
      ? wallS <= target && peak <= 256
        ? `PASS (≤ ${target} s, ≤ 256 MiB)`
        : `FAIL (target ≤ ${target} s, ≤ 256 MiB)`
      : '',
  ].join(' ');
  if (process.env.BENCH_CPU_PROF)
    console.log(`  measured window (monotonic µs, for the profile): ${startedUs} ${endedUs}`);
  const cpuLine = `  CPU s during the cycle (2 cores = ${(2 * wallS).toFixed(0)} s): ${cpu.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; WAL of the whole cluster (others' too) ${(walBytes / 1024 / nodes).toFixed(1)} KiB per node (${(walFpi / nodes).toFixed(2)} full-page images)`;
  const perNode = (m: Map<string, number>) =>
    [...m]
      .filter(([k, v]) => v >= 0.05 && k !== 'other')
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${((v * 1000) / nodes).toFixed(2)}`)
      .join(', ');
  const perNodeLine = `  CPU ms per node, until every batch was applied: ${perNode(cpuNodeMap)}\n  CPU ms per node, whole cycle (rollup included): ${perNode(cpuMap)}  [load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}]`;
  console.log(line);
  console.log(cpuLine);
  console.log(perNodeLine);
  results.push(line, cpuLine, perNodeLine);
  if (args.statements) console.log(await heaviestStatements(sql, db, nodes));

  await relay.stop();
  const childExited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  if (args.steps && profileDir) {
    // The profile is written as the process exits.
    await childExited;
    const lines = stepReport(profileDir, bundleEntry(join(root, 'dist/functions/aggregator')), {
      fromUs: startedUs,
      toUs: endedUs,
      cpuMs: (cpuMap.get('aggregator') ?? 0) * 1000,
      nodes,
    });
    for (const l of lines) console.log(l);
    results.push(...lines);
    rmSync(profileDir, { recursive: true, force: true });
  }
  await pubsub.close();
  await sql.end();
  await deps.sql.end();
  // BENCH_KEEP_DATABASE=1: the run's database stays, to EXPLAIN its statements on its data afterwards.
  if (process.env.BENCH_KEEP_DATABASE) console.log(`  (database ${db} kept)`);
  else await admin.unsafe(`drop database ${db} with (force)`);
  const keys = await deleteRunKeys(env.REDIS_KEY_PREFIX!);
  console.log(`  (${keys} Redis keys of the run, ${env.REDIS_KEY_PREFIX}*, deleted)`);
  return { wallS, nodesS, peak, peakAnon, cpu: cpuMap, cpuNodes: cpuNodeMap };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

if (args.baseline) {
  // The baseline's own bundle, built in its checkout by its own build script.
  const built = spawnSync(process.execPath, ['scripts/build.ts', 'aggregator'], {
    cwd: args.baseline,
    stdio: 'ignore',
  });
  if (built.status !== 0) throw new Error(`building the baseline in ${args.baseline} failed`);
}

/** Ours against the baseline's aggregator, alternating (base ours, ours base, …), medians per node. */
async function againstBaseline(nodes: number, baseline: string, pairs: number) {
  console.log('(one warm-up run, not counted: the emulators are still compiling their hot paths)');
  await measure(nodes, true);
  const runs: Record<'base' | 'ours', Measured[]> = { base: [], ours: [] };
  for (let i = 0; i < pairs; i++) {
    for (const which of i % 2 ? (['ours', 'base'] as const) : (['base', 'ours'] as const)) {
      console.log(`(pair ${i + 1}: ${which})`);
      runs[which].push(await measure(nodes, true, which === 'base' ? baseline : '.'));
    }
  }
  const perNodeMs = (s: number) => (s * 1000) / nodes;
  const figure = (what: string, of: (m: Measured) => number) => {
    const base = median(runs.base.map(of));
    const ours = median(runs.ours.map(of));
    const paired = median(runs.ours.map((m, i) => of(m) / of(runs.base[i]!)));
    return `  ${what.padEnd(44)} base ${base.toFixed(2).padStart(6)}  ours ${ours.toFixed(2).padStart(6)}  ratio ${(ours / base).toFixed(2)}  paired ${paired.toFixed(2)}`;
  };
  const cpu = (who: string) => (m: Measured) => perNodeMs(m.cpuNodes.get(who) ?? 0);
  const lines = [
    `${nodes} nodes, baseline ${baseline} vs this checkout (median of ${pairs} alternating pairs; CPU ms per node until every batch was applied) [load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(
        ' ',
      )}] [relay concurrency ${CONCURRENCY}, PG_POOL_MAX ${DEPLOYED.poolMax}, NODES_PER_MESSAGE ${process.env.NODES_PER_MESSAGE ?? 'default'}]`,
    figure('aggregator CPU ms per node', cpu('aggregator')),
    figure('PostgreSQL CPU ms per node (this database)', cpu('postgresql')),
    figure('aggregator + PostgreSQL CPU ms per node', (m) => cpu('aggregator')(m) + cpu('postgresql')(m)),
    figure('pubsub emulator CPU ms per node', cpu('pubsub emulator')),
    figure('firestore emulator CPU ms per node', cpu('firestore emulator')),
    figure(`${PG_BACKGROUND} ms per node`, cpu(PG_BACKGROUND)),
    figure('wall ms per node (nodes phase)', (m) => perNodeMs(m.nodesS)),
    figure('cycle wall s', (m) => m.wallS),
    // Resident high-water of the aggregator process over its whole run (warm-up cycle included).
    figure('aggregator peak RSS MiB (VmHWM)', (m) => m.peak),
    figure('aggregator peak RssAnon MiB (sampled 100 ms)', (m) => m.peakAnon),
  ];
  for (const l of lines) console.log(l);
  results.push(...lines);
}

try {
  for (const nodes of sizes) {
    if (args.baseline) {
      await againstBaseline(nodes, args.baseline, Number(args.pairs));
      continue;
    }
    if (PAIRS === 0) {
      await measure(nodes, true);
      continue;
    }
    // Two runs first, not counted: the emulators' JVMs are still compiling their hot paths (their CPU
    // per cycle falls by half over the first runs). Then off and on alternate, the order swapped every
    // pair (off on, on off, …), so whatever else speeds up or loads the machine meets both alike.
    console.log('(two warm-up runs, not counted)');
    await measure(nodes, false);
    await measure(nodes, true);
    const runs: Record<'off' | 'on', Measured[]> = { off: [], on: [] };
    for (let i = 0; i < PAIRS; i++) {
      for (const analytics of i % 2 ? [true, false] : [false, true]) {
        runs[analytics ? 'on' : 'off'].push(await measure(nodes, analytics));
      }
    }
    const figure = (what: string, of: (m: Measured) => number, unit: string) => {
      const off = median(runs.off.map(of));
      const on = median(runs.on.map(of));
      // The paired estimate: each pair's own ratio (drift between pairs cancels), their median.
      const paired = median(runs.on.map((m, i) => of(m) / of(runs.off[i]!)));
      return `  ${what.padEnd(37)} off ${off.toFixed(2)} ${unit}  on ${on.toFixed(2)} ${unit}  ratio ${(on / off).toFixed(2)}  paired ${paired.toFixed(2)}`;
    };
    const perNodeMs = (s: number) => (s * 1000) / nodes;
    const cpuOf = (m: Measured, who: string) => m.cpuNodes.get(who) ?? 0;
    const lines = [
      `${nodes} nodes, analytics off vs on (median of ${PAIRS} interleaved pairs; goal: on ≤ 1.20 × off per node)`,
      '  until every node batch is applied (the rollup, once per cycle, after it):',
      figure('wall time per node', (m) => perNodeMs(m.nodesS), 'ms'),
      figure('aggregator CPU per node', (m) => perNodeMs(cpuOf(m, 'aggregator')), 'ms'),
      figure('PostgreSQL CPU per node', (m) => perNodeMs(cpuOf(m, 'postgresql')), 'ms'),
      figure('PostgreSQL background CPU per node', (m) => perNodeMs(cpuOf(m, PG_BACKGROUND)), 'ms'),
      figure(
        'aggregator + PostgreSQL CPU per node',
        (m) => perNodeMs(cpuOf(m, 'aggregator') + cpuOf(m, 'postgresql')),
        'ms',
      ),
      '  the whole cycle, rollup included:',
      figure('wall time', (m) => m.wallS, 's'),
      figure('rollup', (m) => m.wallS - m.nodesS, 's'),
    ];
    for (const l of lines) console.log(l);
    results.push(...lines);
  }
} finally {
  // A run that failed left its keys: delete them too.
  for (const prefix of redisPrefixes) await deleteRunKeys(prefix).catch(() => {});
}

await admin.end();
await peers.stop();
console.log(`\nbench:cycle (one aggregator instance, ${new Date().toISOString()})\n${results.join('\n')}`);
process.exit(0);
