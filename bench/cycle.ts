/**
 * bench:cycle — one processing cycle of N simulated nodes (30 minutes of 1-minute readings, every
 * metric) through the Pub/Sub emulator (subscriptions with retry and dead-letter policies, pushed as
 * CloudEvents by bench/lib/push-relay.ts to the deployed aggregator bundle served by the Functions
 * Framework in its own process, as on Cloud Run), the Firestore emulator (fan-in), PostgreSQL and
 * Redis (Upstash protocol). Builds the bundles first.
 * Prints wall time, messages/s, the aggregator's peak memory against the targets (1,000 nodes ≤ 30 s;
 * 10,000 nodes ≤ 5 min; aggregator ≤ 256 MiB), and where the machine's CPU went during the cycle: on
 * these 2 cores the emulators and PostgreSQL share the CPU with the function.
 *
 *   npm run bench:cycle                 1,000 and 10,000 nodes
 *   npm run bench:cycle -- --nodes 1000
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import postgres from 'postgres';
import { loadConfig } from '../shared/config.ts';
import { dispatchCycle } from '../shared/cycle/dispatch.ts';
import { dispatcherDeps } from '../shared/runtime.ts';
import { startPeers } from '../test/harness/start-peers.ts';
import { startPushRelay } from './lib/push-relay.ts';

const { values: args } = parseArgs({ options: { nodes: { type: 'string', default: '1000,10000' } } });
const sizes = args.nodes.split(',').map(Number);
const TARGET_S: Record<number, number> = { 1000: 30, 10000: 300 };
const HALF_HOUR = 30 * 60_000;
// The aggregator's Node.js flags as Terraform deploys them (functions.aggregator.node_options).
const NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? '--max-old-space-size=128 --max-semi-space-size=16';
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);

process.env.METADATA_SERVER_DETECTION = 'none';
if (spawnSync(process.execPath, ['scripts/build.ts'], { stdio: 'inherit' }).status !== 0) process.exit(1);
const peers = await startPeers(['postgres', 'redis', 'pubsub', 'firestore']);
if (Object.keys(peers.missing).length > 0) {
  console.error('missing peers:', peers.missing);
  process.exit(1);
}
const admin = postgres(peers.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
const results: string[] = [];

/** CPU seconds used so far by every process on the machine, grouped by what it is. */
function cpuByProcess(): Map<string, number> {
  const out = new Map<string, number>();
  const tick = 100; // USER_HZ
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / tick;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const name = /pubsub/i.test(cmd)
        ? 'pubsub emulator'
        : /firestore|cloud-firestore/i.test(cmd)
          ? 'firestore emulator'
          : /^postgres/.test(cmd)
            ? 'postgresql'
            : /redis-server/.test(cmd)
              ? 'redis'
              : /functions-framework/.test(cmd)
                ? 'aggregator'
                : Number(pid) === process.pid
                  ? 'bench (dispatcher, push relay, upstash server)'
                  : 'other';
      out.set(name, (out.get(name) ?? 0) + seconds);
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

for (const nodes of sizes) {
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
    PG_POOL_MAX: '8',
  };
  Object.assign(process.env, env);
  const config = loadConfig(env);
  const deps = await dispatcherDeps(config);

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
  // bench/lib/push-relay.ts, with the heap flags the deployment sets (see NODE_OPTIONS above).
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const port = 18_600 + (nodes % 100);
  const child = spawn(
    process.execPath,
    [
      ...profile,
      ...NODE_OPTIONS.split(' ').filter(Boolean),
      'node_modules/@google-cloud/functions-framework/build/src/main.js',
      '--target=aggregator',
      '--signature-type=cloudevent',
      '--source=dist/functions/aggregator',
      `--port=${port}`,
    ],
    {
      env: {
        ...env,
        // glibc's per-thread malloc arenas inflate RSS in a process with gRPC and libuv threads.
        MALLOC_ARENA_MAX: '2',
      },
      stdio: ['ignore', process.env.BENCH_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit'],
    },
  );
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code) => reject(new Error(`aggregator exited ${code}`))),
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
  const t0 = Date.UTC(2026, 5, 1, 8, 0);
  const sql = postgres(env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  const waitRun = async (runId: string) => {
    let polls = 0;
    for (;;) {
      const [r] = await sql<{ status: string }[]>`select status from runs where id = ${runId}`;
      if (r && r.status !== 'running') return r.status;
      if (++polls % 100 === 0) {
        const [a] = await sql<{ n: number }[]>`
          select count(*)::int4 as n from applied_batches where run_id = ${runId}`;
        console.error(`  … ${runId}: ${a?.n ?? 0} node batches applied`);
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  const warm = await dispatchCycle(deps, { nowMs: t0, initialWatermarkMs: t0 - HALF_HOUR });
  await waitRun(warm.runId);

  const cpuBefore = cpuByProcess();
  const started = performance.now();
  const run = await dispatchCycle(deps, { nowMs: t0 + HALF_HOUR });
  const dispatchedS = (performance.now() - started) / 1000;
  const status = await waitRun(run.runId);
  const wallS = (performance.now() - started) / 1000;
  const peak = peakRssMiB(child.pid!);
  const cpuAfter = cpuByProcess();
  const cpu = [...cpuAfter]
    .map(([k, v]) => [k, v - (cpuBefore.get(k) ?? 0)] as const)
    .filter(([, v]) => v >= 0.05)
    .sort((a, b) => b[1] - a[1]);
  const target = TARGET_S[nodes];
  const line = [
    `${nodes} nodes`.padEnd(13),
    `${run.messages} msgs`.padEnd(12),
    `${run.readings} readings`.padEnd(18),
    `dispatch ${dispatchedS.toFixed(1)} s`.padEnd(16),
    `cycle ${wallS.toFixed(1)} s`.padEnd(14),
    `${(run.messages / wallS).toFixed(0)} msg/s`.padEnd(12),
    `aggregator peak ${peak.toFixed(0)} MiB`.padEnd(26),
    `status ${status}`,
    target
      ? wallS <= target && peak <= 256
        ? `PASS (≤ ${target} s, ≤ 256 MiB)`
        : `FAIL (target ≤ ${target} s, ≤ 256 MiB)`
      : '',
  ].join(' ');
  const cpuLine = `  CPU s during the cycle (2 cores = ${(2 * wallS).toFixed(0)} s): ${cpu.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`;
  console.log(line);
  console.log(cpuLine);
  results.push(line, cpuLine);

  await relay.stop();
  child.kill('SIGTERM');
  await pubsub.close();
  await sql.end();
  await deps.sql.end();
  await admin.unsafe(`drop database ${db} with (force)`);
}

await admin.end();
await peers.stop();
console.log(`\nbench:cycle (one aggregator instance, ${new Date().toISOString()})\n${results.join('\n')}`);
process.exit(0);
