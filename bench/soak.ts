/**
 * bench:soak — cycles and API traffic together for a set time, with faults injected on a schedule.
 *
 * A local stack (dispatcher and aggregator in this process, embedded bus and coordination) and the
 * real API (bench/lib/api-server.ts, its own process, auth and rate limits on) both reach PostgreSQL
 * and Redis (the Upstash REST server) through fault proxies (dev/fault-proxy.ts). Cycles run on a
 * simulated clock (30 simulated minutes every `--cycle-every` wall seconds) while autocannon reads a
 * mix of cached routes (node metrics, dashboard) and PostgreSQL-only ones (history, /status) with a
 * real key. Every `--fault-every` seconds one fault — PostgreSQL down, Redis down, PostgreSQL slow,
 * both cut mid-stream — holds for `--fault-for` seconds, then heals. At the end a last cycle runs
 * undisturbed, and the same cycles run again, undisturbed, into a reference database (same simulator
 * seed). Prints requests served, errors by kind, p50/p99 during and outside faults, runs by status,
 * the proxies' counts per fault (proof each fault happened) and the final state comparison.
 *
 * Autocannon, the proxies and the cycles share this process: latencies include its event loop.
 *
 *   npm run bench:soak
 *   npm run bench:soak -- --duration 120 --nodes 50 --fault-every 20 --fault-for 5 --cycle-every 4
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Redis } from '@upstash/redis';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { type FaultProxy, type FaultStats, startFaultProxy } from '../dev/fault-proxy.ts';
import { createLocalStack, type LocalStack } from '../dev/local-stack.ts';
import { deleteKeysWithPrefix } from '../dev/peers/index.ts';
import { startPeers } from '../dev/peers/start-peers.ts';
import { postgresKeyStore } from '../shared/adapters/postgres/api-stores.ts';
import { createKey } from '../shared/api/auth/keys.ts';
import { loadConfig } from '../shared/config.ts';
import { silentLogger } from '../shared/log.ts';
import { createSimulatorSource } from '../shared/simulator/index.ts';
import { differences, nodeKeyState, tableState } from '../test/lib/checksums.ts';
import { type FaultKind, printSoakReport, type ScheduledFault } from './lib/soak-report.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '120' },
    nodes: { type: 'string', default: '50' },
    seed: { type: 'string', default: '7' },
    'fault-every': { type: 'string', default: '20' },
    'fault-for': { type: 'string', default: '5' },
    'cycle-every': { type: 'string', default: '4' },
    'slow-ms': { type: 'string', default: '300' },
    connections: { type: 'string', default: '4' },
  },
});
const DURATION_S = Number(args.duration);
const NODES = Number(args.nodes);
const SEED = Number(args.seed);
const FAULT_EVERY_S = Number(args['fault-every']);
const FAULT_FOR_S = Number(args['fault-for']);
const CYCLE_EVERY_S = Number(args['cycle-every']);
const SLOW_MS = Number(args['slow-ms']);
const HALF_HOUR = 30 * 60_000;
const T0 = Date.UTC(2026, 4, 4, 0, 0);
const INITIAL_WATERMARK = T0 - 6 * HALF_HOUR;
const TENANT = 'default';

process.env.METADATA_SERVER_DETECTION = 'none';
const peers = await startPeers(['postgres', 'redis']);
if (Object.keys(peers.missing).length > 0) {
  console.error('missing peers:', peers.missing);
  process.exit(1);
}
Object.assign(process.env, peers.env);
const adminUrl = peers.env.TEST_DATABASE_URL!;
const upstashUrl = new URL(peers.env.TEST_UPSTASH_URL!);
const upstashToken = peers.env.TEST_UPSTASH_TOKEN!;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const stamp = Date.now();
const dbUrl = (name: string) => adminUrl.replace(/\/[^/]*$/, `/${name}`);
const soakDb = `bench_soak_${stamp}`;
const refDb = `bench_soak_ref_${stamp}`;
const prefixes = { soak: `soak:${stamp}:`, ref: `soakref:${stamp}:` };
for (const name of [soakDb, refDb]) await admin.unsafe(`create database ${name}`);

const pgTarget = new URL(adminUrl);
const pgProxy = await startFaultProxy({ host: pgTarget.hostname, port: Number(pgTarget.port || 5432) });
const redisProxy = await startFaultProxy({ host: upstashUrl.hostname, port: Number(upstashUrl.port) });
const proxyUrl = (url: string, proxy: FaultProxy) => {
  const u = new URL(url);
  u.hostname = proxy.host;
  u.port = String(proxy.port);
  return u.toString();
};

const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
const source = () => createSimulatorSource({ seed: SEED, nodes: NODES });
const stackConfig = (databaseUrl: string, redisUrl: string, prefix: string) =>
  loadConfig({
    DATABASE_URL: databaseUrl,
    UPSTASH_REDIS_REST_URL: redisUrl,
    UPSTASH_REDIS_REST_TOKEN: upstashToken,
    REDIS_KEY_PREFIX: prefix,
    SIMULATOR_NODES: String(NODES),
    SIMULATOR_SEED: String(SEED),
    BUS_BACKEND: 'memory',
    COORDINATION_BACKEND: 'memory',
    TENANT_ID: TENANT,
    LOG_LEVEL: 'error',
  });

const WAIT_MS = 60_000;
/** True when `p` settles within `ms`. */
const within = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
let api: ChildProcess | undefined;
const stacks: LocalStack[] = [];
async function cleanup() {
  api?.kill('SIGTERM');
  for (const s of stacks)
    await within(
      s.close().catch(() => {}),
      10_000,
    );
  await pgProxy.close();
  await redisProxy.close();
  for (const name of [soakDb, refDb]) await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
  for (const p of Object.values(prefixes)) await deleteKeysWithPrefix(p).catch(() => 0);
}

try {
  // 1. The soak's stack, through the proxies; a first cycle (undisturbed) so the API has data.
  const stack = await createLocalStack(
    stackConfig(proxyUrl(dbUrl(soakDb), pgProxy), proxyUrl(upstashUrl.toString(), redisProxy), prefixes.soak),
    silentLogger,
    { source: source() },
  );
  stacks.push(stack);
  const cycleTimes: number[] = [];
  const cycleOutcomes: string[] = [];
  const runCycle = async (nowMs: number) => {
    cycleTimes.push(nowMs);
    const started = elapsed();
    try {
      await stack.cycle(nowMs, INITIAL_WATERMARK);
      cycleOutcomes.push('dispatched');
    } catch (error) {
      cycleOutcomes.push(`dispatch failed: ${(error as Error).message.slice(0, 60)}`);
    }
    if (elapsed() - started > 2 * CYCLE_EVERY_S)
      console.log(
        `  cycle ${cycleTimes.length} took ${(elapsed() - started).toFixed(0)} s (${cycleOutcomes.at(-1)})`,
      );
  };
  await runCycle(T0);
  const direct = postgres(dbUrl(soakDb), { max: 2, onnotice: () => {} });
  const nodes = (
    await direct<{ id: string }[]>`
      select node_id as id from node_windows order by node_id`
  ).map((r) => r.id);
  const { token } = await createKey(postgresKeyStore(direct), {
    tenantId: TENANT,
    role: 'reader',
    name: 'soak',
    rateLimitPerMinute: 1_000_000_000,
  });

  // 2. The API in its own process, through the proxies; its log lines counted.
  let apiLogLines = 0;
  const apiPort = await new Promise<number>((resolve, reject) => {
    api = spawn(process.execPath, ['bench/lib/api-server.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: proxyUrl(dbUrl(soakDb), pgProxy),
        UPSTASH_REDIS_REST_URL: proxyUrl(upstashUrl.toString(), redisProxy),
        UPSTASH_REDIS_REST_TOKEN: upstashToken,
        REDIS_KEY_PREFIX: prefixes.soak,
        TENANT_ID: TENANT,
        LOG_LEVEL: 'warning',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let last = '';
    const count = (chunk: Buffer) => {
      last = chunk.toString().slice(-500);
      for (const b of chunk) if (b === 10) apiLogLines++;
    };
    api.stdout!.on('data', count);
    api.stderr!.on('data', count);
    api.once('message', (m) => resolve((m as { port: number }).port));
    api.once('exit', (code) => reject(new Error(`api-server exited with ${code}: ${last}`)));
  });
  console.log(
    `▸ ${nodes.length} nodes, first cycle done, API on :${apiPort}; PostgreSQL via :${pgProxy.port}, Upstash via :${redisProxy.port} — ${elapsed().toFixed(0)} s`,
  );

  // 3. Faults on a schedule.
  const KINDS: FaultKind[] = ['postgres down', 'redis down', 'postgres slow', 'cut mid-stream'];
  const faults: ScheduledFault[] = [];
  const loadStart = Date.now();
  const snapshot = () => ({ pg: { ...pgProxy.stats }, redis: { ...redisProxy.stats } });
  const delta = (a: FaultStats, b: FaultStats): FaultStats => ({
    accepted: b.accepted - a.accepted,
    refused: b.refused - a.refused,
    cut: b.cut - a.cut,
    delayed: b.delayed - a.delayed,
  });
  let stopFaults = false;
  let activeFault: FaultKind | undefined;
  const faultLoop = (async () => {
    for (let i = 0; ; i++) {
      const at = loadStart + (FAULT_EVERY_S / 2 + i * FAULT_EVERY_S) * 1000;
      if (at + FAULT_FOR_S * 1000 > loadStart + (DURATION_S - 5) * 1000) return;
      while (Date.now() < at && !stopFaults) await new Promise((r) => setTimeout(r, 100));
      if (stopFaults) return;
      const kind = KINDS[i % KINDS.length]!;
      const before = snapshot();
      const from = Date.now();
      activeFault = kind;
      if (kind === 'postgres down') pgProxy.down();
      if (kind === 'redis down') redisProxy.down();
      if (kind === 'postgres slow') pgProxy.latency(SLOW_MS);
      const end = from + FAULT_FOR_S * 1000;
      while (Date.now() < end) {
        if (kind === 'cut mid-stream') {
          pgProxy.cut();
          redisProxy.cut();
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      pgProxy.heal();
      redisProxy.heal();
      activeFault = undefined;
      const after = snapshot();
      faults.push({
        kind,
        from,
        to: Date.now(),
        pg: delta(before.pg, after.pg),
        redis: delta(before.redis, after.redis),
      });
      console.log(
        `  fault ${kind} ${((from - loadStart) / 1000).toFixed(0)}–${((Date.now() - loadStart) / 1000).toFixed(0)} s`,
      );
    }
  })();

  // 4. Cycles at a fixed pace on the simulated clock.
  let loadRunning = true;
  let inFlight: Promise<void> | undefined;
  const cycleLoop = (async () => {
    for (let i = 1; loadRunning; i++) {
      const due = loadStart + i * CYCLE_EVERY_S * 1000;
      while (Date.now() < due && loadRunning) await new Promise((r) => setTimeout(r, 100));
      if (!loadRunning) return;
      inFlight = runCycle(T0 + i * HALF_HOUR);
      await inFlight;
    }
  })();

  // 5. The API load, the whole time.
  // Cached routes (node metrics, the dashboard), and PostgreSQL-only ones: a history window that
  // starts at a random second (so no tier has it) and /status (PostgreSQL probed live).
  const anyNode = () => nodes[Math.floor(Math.random() * nodes.length)];
  const randomFrom = () => new Date(T0 - Math.floor(Math.random() * 3 * 3600) * 1000);
  const routes = [
    { name: 'metrics (cached)', path: () => `/api/v1/nodes/${anyNode()}/metrics?range=24h` },
    { name: 'dashboard (cached)', path: () => '/api/v1/dashboard/summary' },
    {
      name: 'history (postgres)',
      path: () => `/api/v1/nodes/${anyNode()}/history?resolution=5m&from=${randomFrom().toISOString()}`,
    },
    { name: 'status (postgres)', path: () => '/api/v1/status' },
  ];
  const routeAnswers: { route: string; during: boolean; status: number }[] = [];
  const responses: { start: number; ms: number; status: number }[] = [];
  const reqErrors: { at: number; kind: string }[] = [];
  let finished!: (r: autocannon.Result) => void;
  let loadFailed!: (e: unknown) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finished = resolve;
    loadFailed = reject;
  });
  const instance = autocannon(
    {
      url: `http://127.0.0.1:${apiPort}`,
      connections: Number(args.connections),
      duration: DURATION_S,
      timeout: 5,
      requests: routes.map((route) => ({
        method: 'GET' as const,
        headers: { authorization: `Bearer ${token}` },
        setupRequest: (req: autocannon.Request) => ({ ...req, path: route.path() }),
      })),
    },
    (error, r) => (error ? loadFailed(error) : finished(r)),
  );
  // Which route answered: the client's request iterator still points at it when 'response' fires
  // (pipelining 1; autocannon's per-request onResponse is not called in this version).
  type Iterating = { requestIterator?: { currentRequestIndex?: number } };
  instance.on('response', (client, status, _bytes, ms) => {
    responses.push({ start: Date.now() - ms, ms, status });
    const route =
      routes[(client as unknown as Iterating).requestIterator?.currentRequestIndex ?? -1]?.name ?? 'unknown';
    routeAnswers.push({ route, during: activeFault !== undefined, status });
  });
  instance.on('reqError', (error: Error & { code?: string }) => {
    reqErrors.push({ at: Date.now(), kind: error.code ?? error.name ?? 'error' });
  });
  const result = await done;
  console.log(`▸ load done — ${elapsed().toFixed(0)} s; waiting for the cycle in flight`);
  loadRunning = false;
  stopFaults = true;
  await faultLoop;
  pgProxy.heal();
  redisProxy.heal();
  // A cycle that never ends is a finding, not a reason to hang: each wait is bounded.
  const wedged: string[] = [];
  const atIso = () => new Date(cycleTimes.at(-1)!).toISOString();
  if (!(await within(cycleLoop, WAIT_MS)))
    wedged.push(
      `cycle ${cycleTimes.length} (${atIso()}) still in flight ${WAIT_MS / 1000} s after the load ended`,
    );

  // 6. A last cycle, undisturbed; then the runs.
  const finalAt = T0 + (cycleTimes.length + 1) * HALF_HOUR;
  if (!(await within(runCycle(finalAt), WAIT_MS)))
    wedged.push(`the last cycle (${atIso()}) still in flight after ${WAIT_MS / 1000} s`);
  let runs: { status: string; n: number }[] = [];
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    runs = await direct<{ status: string; n: number }[]>`
      select status, count(*)::int as n from runs group by status order by status`;
    if (!runs.some((r) => r.status === 'running')) break;
    await new Promise((r) => setTimeout(r, 500));
  }

  console.log(`▸ last cycle done — ${elapsed().toFixed(0)} s; the reference run`);
  // 7. The reference: the same cycles, undisturbed, into their own database and prefix.
  const ref = await createLocalStack(
    stackConfig(dbUrl(refDb), upstashUrl.toString(), prefixes.ref),
    silentLogger,
    { source: source() },
  );
  stacks.push(ref);
  for (const at of cycleTimes) await ref.cycle(at, INITIAL_WATERMARK);
  const refSql = postgres(dbUrl(refDb), { max: 1, onnotice: () => {} });
  // Cycles refused during an outage make the next one carry their window, so an anomaly change can be
  // seen a cycle later than in the reference: the event log is compared as changes, not snapshots.
  const pgDiff = differences(
    await tableState(direct, { events: 'changes' }),
    await tableState(refSql, { events: 'changes' }),
  );
  const redis = new Redis({ url: upstashUrl.toString(), token: upstashToken });
  const allNodes = (await source().network()).nodes.map((n) => n.id);
  let redisDiff: string[];
  try {
    redisDiff = differences(
      await nodeKeyState(redis, prefixes.soak, TENANT, allNodes),
      await nodeKeyState(redis, prefixes.ref, TENANT, allNodes),
    );
  } catch (error) {
    redisDiff = [(error as Error).message];
  }
  await refSql.end();
  await direct.end();

  // 8. The figures.
  printSoakReport({
    title: `${nodes.length} nodes (seed ${SEED}), ${DURATION_S} s, ${args.connections} connections, a fault every ${FAULT_EVERY_S} s for ${FAULT_FOR_S} s, a cycle every ${CYCLE_EVERY_S} s`,
    sent: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    responses,
    routeAnswers,
    reqErrors,
    faults,
    loadStart,
    cycleOutcomes,
    runs,
    apiLogLines,
    pgDiff,
    redisDiff,
    wedged,
  });
  const failed =
    wedged.length > 0 ||
    runs.some((r) => r.status === 'running') ||
    pgDiff.length > 0 ||
    redisDiff.length > 0;
  if (failed) process.exitCode = 1;
  console.log(`total ${elapsed().toFixed(0)} s`);
} finally {
  await cleanup();
}
// A wedged cycle's pending work would keep the process alive.
process.exit();
