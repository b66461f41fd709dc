/**
 * bench:api — the read path as deployed, side by side with a bare Hono server returning the same
 * bytes from memory, in one run, interleaved rounds (A/B) so a shared machine's noise hits both.
 *
 * Rows: **deployed** (the app as shared/wiring/api.ts builds it in the cloud: Upstash protocol — the
 * harness's server over the real Redis, with a long keep-alive like Upstash's own — real PostgreSQL,
 * API keys and rate limits on, a token issuer trusted), **token** (the same server, the same read
 * authenticated by an OIDC bearer token of a local JWKS issuer instead of a key), **streams** (the same
 * server while `--streams` anomaly-stream subscribers are open), **in-process** (no Redis: the
 * in-process cache and limiter), **bare**. Token and streams must cost the read nothing measurable:
 * their CPU per request is shown beside the keys row's (≤ 1.1× passes).
 * Every server runs in its own process on core 0; the generator (h2load, else autocannon with a
 * warning) on core 1, with the Upstash-protocol server in this process (core 1 too).
 * `--miss` measures the miss path instead (bench/lib/miss-mode.ts).
 *
 *   npm run bench:api
 *   npm run bench:api -- --nodes 1000 --duration 8 --rounds 2 --connections 64,256 --log info
 *   npm run bench:api -- --rows deployed,token,streams --streams 256 --only metrics
 *   npm run bench:api -- --miss --nodes 10000
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createLocalStack } from '../dev/local-stack.ts';
import { startPeers } from '../dev/peers/start-peers.ts';
import { startUpstashServer } from '../dev/peers/upstash-server.ts';
import { postgresKeyStore } from '../shared/adapters/postgres/api-stores.ts';
import { createKey } from '../shared/api/auth/keys.ts';
import { loadConfig } from '../shared/config.ts';
import { apiTable, type Measured, mean } from './lib/api-table.ts';
import { h2loadAvailable, type LoadSpec, runAutocannon, runH2load } from './lib/load.ts';
import { runMissMode } from './lib/miss-mode.ts';
import { type OpenStreams, openStreams, startTokenIssuer } from './lib/read-variants.ts';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string' },
    hours: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64,256' },
    log: { type: 'string', default: 'info' },
    /** Write CPU profiles of the servers into this folder. */
    profile: { type: 'string' },
    /** Only these endpoints (comma-separated names: metrics, dashboard). */
    only: { type: 'string', default: 'metrics,dashboard' },
    /** Only these rows (deployed, token, streams, inprocess). */
    rows: { type: 'string', default: 'deployed,token,streams,inprocess' },
    /** Open anomaly-stream subscribers during the streams row. */
    streams: { type: 'string', default: '256' },
    miss: { type: 'boolean', default: false },
    /** Miss mode: concurrent clients and requests per phase. */
    clients: { type: 'string', default: '8' },
    requests: { type: 'string', default: '20000' },
  },
});
const NODES = Number(args.nodes ?? (args.miss ? 10_000 : 1000));
const DURATION = Number(args.duration);
const CONNECTIONS = args.connections.split(',').map(Number);
const HOUR = 3_600_000;
const t0 = performance.now();
/** The machine's load before the bench adds its own (recorded beside the figures). */
const loadAtStart = loadavg();
const loadText = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
/** The key's limit: high enough never to refuse under load, counted (leased) like any other. */
const RATE_LIMIT = 100_000_000;

process.env.METADATA_SERVER_DETECTION = 'none';
const peers = await startPeers(['postgres', 'redis']);
for (const name of ['postgres', 'redis'] as const) {
  if (peers.missing[name]) {
    console.error(`${name} is needed:`, peers.missing[name]);
    process.exit(1);
  }
}
const useH2load = h2loadAvailable();
if (!useH2load && !args.miss) {
  console.warn(
    '⚠ h2load not found (apt-get install -y nghttp2-client): falling back to autocannon in this process, ' +
      'which saturates before the servers do — the ratios below are compressed.',
  );
}
const adminUrl = peers.env.TEST_DATABASE_URL!;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const dbName = `bench_api_${Date.now()}`;
await admin.unsafe(`create database ${dbName}`);
const databaseUrl = adminUrl.replace(/\/[^/]*$/, `/${dbName}`);
// Upstash's own server keeps client connections open; the harness's default (1 s) is for tests.
const upstash = await startUpstashServer({ redisUrl: peers.env.TEST_REDIS_URL!, keepAliveTimeoutMs: 60_000 });
const prefix = `bench:${Date.now()}:`;
const idp = await startTokenIssuer('default');
const children: ChildProcess[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'bench-api-'));

async function cleanup() {
  for (const child of children) child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.end();
  const { deleteKeysWithPrefix } = await import('../dev/peers/index.ts');
  await deleteKeysWithPrefix(prefix).catch(() => {});
  await upstash.close();
  await idp.close();
  await peers.stop();
  rmSync(scratch, { recursive: true, force: true });
}

const servers = new Map<number, ChildProcess>();

/** CPU time (µs) a server process has used so far. */
function cpuOf(port: number): Promise<number> {
  const child = servers.get(port)!;
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      const cpu = (m as { cpu?: number }).cpu;
      if (cpu === undefined) return;
      child.off('message', onMessage);
      resolve(cpu);
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
}

/** Starts a server script on core 0 and waits for the port it reports. */
function startServer(script: string, argv: string[], env: Record<string, string>, profileDir?: string) {
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn('taskset', ['-c', '0', process.execPath, ...nodeArgs, script, ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(child);
  return new Promise<number>((resolve, reject) => {
    child.once('message', (m) => {
      const port = (m as { port: number }).port;
      servers.set(port, child);
      resolve(port);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

const shuffled = <T>(items: T[], n: number): T[] =>
  Array.from({ length: n }, () => items[Math.floor(Math.random() * items.length)]!);

async function measure(port: number, spec: Omit<LoadSpec, 'port'>): Promise<Measured> {
  const cpu0 = await cpuOf(port);
  const r = await (useH2load ? runH2load : runAutocannon)({ ...spec, port });
  const cpu = (await cpuOf(port)) - cpu0;
  return { ...r, cpuUs: cpu / Math.max(1, r.requests) };
}

try {
  // 1. Data: one real cycle over the last few hours of ~NODES simulated nodes; hot keys to Redis.
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    SIMULATOR_NODES: String(NODES),
    LOG_LEVEL: 'error',
    BUS_BACKEND: 'memory',
    COORDINATION_BACKEND: 'memory',
    TENANT_ID: 'default',
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    REDIS_KEY_PREFIX: prefix,
  });
  const stack = await createLocalStack(config);
  const now = Math.floor(Date.now() / (30 * 60_000)) * 30 * 60_000;
  const cycle = await stack.cycle(now, now - Number(args.hours) * HOUR);
  const nodes = (
    await stack.storage.sql<{ id: string }[]>`
      select node_id as id from node_window_metrics where range = '24h' order by node_id`
  ).map((r) => r.id);
  const { token } = await createKey(postgresKeyStore(stack.storage.sql), {
    tenantId: 'default',
    role: 'reader',
    name: 'bench',
    rateLimitPerMinute: RATE_LIMIT,
  });
  await stack.close();
  console.log(
    `▸ ${nodes.length} nodes, ${cycle.readings} readings backfilled (${args.hours} h), hot keys in Redis — ${elapsed()}`,
  );
  const auth = { authorization: `Bearer ${token}` };
  const deployedEnv = {
    DATABASE_URL: databaseUrl,
    TENANT_ID: 'default',
    LOG_LEVEL: args.log,
    PG_POOL_MAX: '8',
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    REDIS_KEY_PREFIX: prefix,
    ...idp.env,
  };

  if (args.miss) {
    const code = await runMissMode({
      nodes,
      auth,
      startApi: () => startServer('bench/lib/api-server.ts', [], deployedEnv),
      stop: (port) => servers.get(port)?.kill('SIGTERM'),
      clients: Number(args.clients),
      requests: Number(args.requests),
      prefix,
      upstash,
      elapsed,
    });
    process.exitCode = code;
  } else {
    // 2. The servers; each API warmed by reading every node once, its bodies kept for the bare server.
    const rowNames = args.rows.split(',');
    const profile = (name: string) => (args.profile ? join(args.profile, name) : undefined);
    /** A row: a server, the headers its requests carry, and what is open around its runs. */
    interface Row {
      name: string;
      port: number;
      headers: Record<string, string>;
      around?: () => Promise<() => void>;
    }
    const apis: Row[] = [];
    const onDeployed = ['deployed', 'token', 'streams'].filter((r) => rowNames.includes(r));
    const deployedPort =
      onDeployed.length > 0
        ? await startServer('bench/lib/api-server.ts', [], deployedEnv, profile('deployed'))
        : 0;
    const streamsN = Number(args.streams);
    const streamsSeen: OpenStreams[] = [];
    for (const name of onDeployed) {
      if (name === 'deployed') apis.push({ name, port: deployedPort, headers: auth });
      if (name === 'token') {
        apis.push({ name, port: deployedPort, headers: { authorization: `Bearer ${idp.token}` } });
      }
      if (name === 'streams') {
        apis.push({
          name,
          port: deployedPort,
          headers: auth,
          around: async () => {
            const open = await openStreams(deployedPort, streamsN, auth);
            streamsSeen.push(open);
            return () => open.close();
          },
        });
      }
    }
    if (rowNames.includes('inprocess'))
      apis.push({
        name: 'in-process',
        headers: auth,
        port: await startServer(
          'bench/lib/api-server.ts',
          [],
          { DATABASE_URL: databaseUrl, TENANT_ID: 'default', LOG_LEVEL: args.log, PG_POOL_MAX: '8' },
          profile('inprocess'),
        ),
      });
    const metrics: Record<string, string> = {};
    let dashboard = '';
    for (const api of apis) {
      const get = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${api.port}${path}`, { headers: api.headers });
        if (res.status !== 200) throw new Error(`warm-up ${path}: ${res.status} ${await res.text()}`);
        return res.text();
      };
      for (let i = 0; i < nodes.length; i += 32) {
        await Promise.all(
          nodes.slice(i, i + 32).map(async (id) => {
            metrics[id] = await get(`/api/v1/nodes/${id}/metrics?range=24h`);
          }),
        );
      }
      dashboard = await get('/api/v1/dashboard/summary');
    }
    const bodiesFile = join(scratch, 'bodies.json');
    writeFileSync(bodiesFile, JSON.stringify({ metrics, dashboard }));
    const barePort = await startServer('bench/lib/bare-server.ts', [bodiesFile], {}, profile('bare'));
    console.log(
      `▸ servers up on core 0 (api log level ${args.log}); metrics body ~${metrics[nodes[0]!]!.length} B — ${elapsed()}`,
    );
    execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });

    // 3. Interleaved rounds: bare, then each API row, per endpoint and connection count.
    const endpoints = [
      {
        key: 'metrics',
        name: '/nodes/{id}/metrics',
        paths: shuffled(
          nodes.map((id) => `/api/v1/nodes/${id}/metrics?range=24h`),
          20_000,
        ),
      },
      { key: 'dashboard', name: '/dashboard/summary', paths: ['/api/v1/dashboard/summary'] },
    ].filter((e) => args.only.split(',').includes(e.key));
    const base = { durationS: DURATION, core: '1', scratch };
    let deployedRequests = 0;
    // An unrecorded warm-up under load for every server (JIT, pools, leases): else the first row measured
    // of a server pays its warm-up and the rows after it look cheaper than they are.
    for (const { port, headers } of [{ port: barePort, headers: auth }, ...apis]) {
      await (useH2load ? runH2load : runAutocannon)({
        ...base,
        headers,
        port,
        paths: endpoints.flatMap((e) => e.paths.slice(0, 2000)),
        connections: CONNECTIONS[0]!,
        durationS: 3,
      });
    }
    const upstash0 = { conns: upstash.connectionsAccepted, requests: upstash.requestsServed };
    const results = new Map<string, Measured[]>();
    const keep = (k: string, m: Measured) => results.set(k, [...(results.get(k) ?? []), m]);
    for (const endpoint of endpoints) {
      for (const connections of CONNECTIONS) {
        for (let round = 0; round < Number(args.rounds); round++) {
          const spec = { ...base, paths: endpoint.paths, connections };
          keep(`${endpoint.name}|${connections}|bare`, await measure(barePort, { ...spec, headers: auth }));
          // The API rows in a rotated order each round: a row that comes first pays what a server does
          // now and then (memory-tier revalidation against Redis, key re-verification) more often.
          for (const api of [...apis.slice(round % apis.length), ...apis.slice(0, round % apis.length)]) {
            const done = await api.around?.();
            const m = await measure(api.port, { ...spec, headers: api.headers });
            done?.();
            if (api.port === deployedPort) deployedRequests += m.requests;
            if (m.errors + m.non2xx > 0) console.log(`  ${api.name}: answers other than 200:`, m.statuses);
            keep(`${endpoint.name}|${connections}|${api.name}`, m);
          }
        }
        console.log(`  measured ${endpoint.name} @ ${connections} — ${elapsed()}`);
      }
    }
    const perThousand = (n: number) => ((n * 1000) / Math.max(1, deployedRequests)).toFixed(3);
    const upstashConns = upstash.connectionsAccepted - upstash0.conns;
    const upstashRequests = upstash.requestsServed - upstash0.requests;

    const { lines: table, allPass: tablePass } = apiTable({
      endpoints,
      connections: CONNECTIONS,
      rowNames: apis.map((a) => a.name),
      results,
    });
    let allPass = tablePass;
    console.log(
      `\nbench:api — ${nodes.length} nodes, ${DURATION} s × ${args.rounds} interleaved rounds, generator ${useH2load ? 'h2load' : 'autocannon (ratios compressed)'}, load average ${loadText(loadAtStart)} at start, ${loadText(loadavg())} at end (the bench adds ~2); ` +
        'targets: deployed ≥ 0.5× bare throughput, p99 ≤ 2× bare; token and streams rows the same, and CPU per request ≤ 1.1× the keys (deployed) row',
    );
    for (const l of table) console.log(l);
    const gen = [...results.entries()].filter(([k]) => k.endsWith('|bare')).flatMap(([, ms]) => ms);
    if (useH2load) {
      const busy = Math.max(...gen.map((m) => m.generatorBusy ?? 0));
      console.log(
        `generator: h2load on core 1, ${mean(gen, (m) => m.generatorCpuUs ?? 0).toFixed(1)} µs CPU per request, at most ${(busy * 100).toFixed(0)} % of its core while bare ran (not the bottleneck below 100 %)`,
      );
    }
    if (deployedPort) {
      console.log(
        `deployed server → Upstash: ${upstashRequests} requests (${perThousand(upstashRequests)} per 1,000 API requests), ` +
          `${upstashConns} connections opened (${perThousand(upstashConns)} per 1,000) over ${deployedRequests} API requests (deployed, token and streams rows)`,
      );
    }
    if (streamsSeen.length > 0) {
      const ended = streamsSeen.reduce((a, s) => a + s.ended(), 0);
      const bytes = streamsSeen.reduce((a, s) => a + s.bytes(), 0);
      console.log(
        `streams row: ${streamsN} /api/v1/anomalies/stream subscribers open during each run (${bytes} B received in all; ${ended} ended early)`,
      );
      if (ended > 0) allPass = false;
    }
    if (apis.some((a) => a.name === 'token')) {
      console.log(
        `token row: an RS256 JWT of a local JWKS issuer (JWKS fetched ${idp.idp.fetches()} time(s))`,
      );
    }
    console.log(
      'Python design (FastAPI + Redis, one worker): not runnable here (no PyPI); issue 14 measured 2,222–2,673 req/s, 0.07–0.09× bare.',
    );
    console.log(`\n${allPass ? 'PASS' : 'FAIL'} — total ${elapsed()}`);
    process.exitCode = allPass ? 0 : 1;
  }
} finally {
  await cleanup();
}
