/**
 * bench:cycle — one processing cycle of N simulated nodes (30 minutes of 1-minute readings, every
 * metric) through the Pub/Sub emulator (subscriptions with retry and dead-letter policies, delivered
 * to the real aggregator function running in its own process: see bench/lib/pull-worker.ts), the
 * Firestore emulator (fan-in), PostgreSQL and Redis (Upstash protocol).
 * Prints wall time, messages/s and the aggregator's peak memory, against the targets
 * (1,000 nodes ≤ 30 s; 10,000 nodes ≤ 5 min; aggregator ≤ 256 MiB).
 *
 *   npm run bench:cycle                 1,000 and 10,000 nodes
 *   npm run bench:cycle -- --nodes 1000
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import postgres from 'postgres';
import { loadConfig } from '../shared/config.ts';
import { dispatchCycle } from '../shared/cycle/dispatch.ts';
import { dispatcherDeps } from '../shared/runtime.ts';
import { startPeers } from '../test/harness/start-peers.ts';

const { values: args } = parseArgs({ options: { nodes: { type: 'string', default: '1000,10000' } } });
const sizes = args.nodes.split(',').map(Number);
const TARGET_S: Record<number, number> = { 1000: 30, 10000: 300 };
const HALF_HOUR = 30 * 60_000;
const HEAP_MIB = Number(process.env.BENCH_HEAP_MIB ?? 128);

process.env.METADATA_SERVER_DETECTION = 'none';
const peers = await startPeers(['postgres', 'redis', 'pubsub', 'firestore']);
if (Object.keys(peers.missing).length > 0) {
  console.error('missing peers:', peers.missing);
  process.exit(1);
}
const admin = postgres(peers.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
const results: string[] = [];

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

  // The aggregator function in its own process, as one Cloud Run instance (see bench/lib/pull-worker.ts).
  // Heap capped as in a 256 MiB instance (Cloud Run's Node.js runtime sizes the old space to the
  // instance's memory; without a cap V8 lets garbage pile up to whatever the machine has).
  const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, 'bench/lib/pull-worker.ts'], {
    env: {
      ...env,
      PULL_TOPICS: [config.TOPIC_NODE_WORK, config.TOPIC_NETWORK_ROLLUP, config.TOPIC_DEAD_LETTER].join(','),
      CONCURRENCY: process.env.CONCURRENCY ?? '16',
      // glibc's per-thread malloc arenas inflate RSS in a process with gRPC and libuv threads.
      MALLOC_ARENA_MAX: '2',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
      if (process.env.BENCH_LOG_LEVEL) process.stderr.write(d);
    });
    child.on('exit', (code) => reject(new Error(`aggregator exited ${code}`)));
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

  const started = performance.now();
  const run = await dispatchCycle(deps, { nowMs: t0 + HALF_HOUR });
  const dispatchedS = (performance.now() - started) / 1000;
  const status = await waitRun(run.runId);
  const wallS = (performance.now() - started) / 1000;
  const peak = peakRssMiB(child.pid!);
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
  console.log(line);
  results.push(line);

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
