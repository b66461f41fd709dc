/**
 * bench:api — cached API reads with auth and rate limiting on, side by side with a bare Hono server
 * returning the same bytes from memory. Each server runs in its own process on core 0
 * (`taskset -c 0`), the load generator (autocannon, in this process) on core 1.
 *
 * Data: ~1,000 simulated nodes backfilled for a few hours by a real cycle into a fresh database on
 * the PostgreSQL peer; the API process warms its cache tiers by reading every node once.
 * Targets (PRODUCT.md): throughput ≥ 50 % of bare, p99 ≤ 2× bare's p99, at 64 and 256 connections.
 *
 *   npm run bench:api
 *   npm run bench:api -- --nodes 1000 --duration 8 --connections 64,256 --log info
 *   npm run bench:api -- --streams 100   # the same, with 100 anomaly streams (SSE) open on the API meanwhile
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { createLocalStack } from '../dev/local-stack.ts';
import { startPeers } from '../dev/peers/start-peers.ts';
import { postgresKeyStore } from '../shared/adapters/postgres/api-stores.ts';
import { createKey } from '../shared/api/auth/keys.ts';
import { loadConfig } from '../shared/config.ts';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    hours: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '64,256' },
    log: { type: 'string', default: 'info' },
    /** Write a CPU profile of the API process into this folder. */
    profile: { type: 'string' },
    /** Only these endpoints (comma-separated names: metrics, dashboard). */
    only: { type: 'string', default: 'metrics,dashboard' },
    /** Anomaly event streams (GET /anomalies/stream) held open on the API while it is measured. */
    streams: { type: 'string', default: '0' },
  },
});
const NODES = Number(args.nodes);
const DURATION = Number(args.duration);
const CONNECTIONS = args.connections.split(',').map(Number);
const HOUR = 3_600_000;
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

process.env.METADATA_SERVER_DETECTION = 'none';
const peers = await startPeers(['postgres']);
if (peers.missing.postgres) {
  console.error('PostgreSQL is needed:', peers.missing.postgres);
  process.exit(1);
}
const adminUrl = peers.env.TEST_DATABASE_URL!;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const dbName = `bench_api_${Date.now()}`;
await admin.unsafe(`create database ${dbName}`);
const databaseUrl = adminUrl.replace(/\/[^/]*$/, `/${dbName}`);
const children: ChildProcess[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'bench-api-'));

async function cleanup() {
  for (const child of children) child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.end();
  rmSync(scratch, { recursive: true, force: true });
}

/** Starts a server script on core 0 and waits for the port it reports. */
const servers = new Map<number, ChildProcess>();
/** Requests each server answered under load (to read a CPU profile per request). */
const served = new Map<number, number>();

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

function startServer(
  script: string,
  argv: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<number> {
  const child = spawn('taskset', ['-c', '0', process.execPath, ...nodeArgs, script, ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (m) => {
      const port = (m as { port: number }).port;
      servers.set(port, child);
      resolve(port);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

interface Measured {
  rps: number;
  /** Server CPU time per request, µs: the cost of a request, whatever else the machine is doing. */
  cpuUs: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function measure(
  port: number,
  nextPath: () => string,
  headers: Record<string, string>,
  connections: number,
  duration: number,
): Promise<Measured> {
  const cpu0 = await cpuOf(port);
  const r = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration,
    requests: [{ method: 'GET', headers, setupRequest: (req) => ({ ...req, path: nextPath() }) }],
  });
  const cpu = (await cpuOf(port)) - cpu0;
  served.set(port, (served.get(port) ?? 0) + r.requests.total);
  return {
    rps: r.requests.average,
    cpuUs: cpu / Math.max(1, r.requests.total),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

try {
  // 1. Data: one real cycle over the last few hours of ~NODES simulated nodes.
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    SIMULATOR_NODES: String(NODES),
    LOG_LEVEL: 'error',
    BUS_BACKEND: 'memory',
    COORDINATION_BACKEND: 'memory',
    TENANT_ID: 'default',
  });
  const stack = await createLocalStack(config);
  const now = Math.floor(Date.now() / (30 * 60_000)) * 30 * 60_000;
  const cycle = await stack.cycle(now, now - Number(args.hours) * HOUR);
  // Nodes with served metrics (a simulated silent sensor has none).
  const nodes = (
    await stack.storage.sql<{ id: string }[]>`
      select node_id as id from node_window_metrics where range = '24h' order by node_id`
  ).map((r) => r.id);
  const { token } = await createKey(postgresKeyStore(stack.storage.sql), {
    tenantId: 'default',
    role: 'reader',
    name: 'bench',
    rateLimitPerMinute: 1_000_000_000,
  });
  await stack.close();
  console.log(
    `▸ ${nodes.length} nodes, ${cycle.readings} readings backfilled (${args.hours} h) — ${elapsed()}`,
  );

  // 2. The API in its own process; warm its tiers and collect the bytes it serves.
  const apiPort = await startServer(
    'bench/lib/api-server.ts',
    [],
    {
      DATABASE_URL: databaseUrl,
      TENANT_ID: 'default',
      LOG_LEVEL: args.log,
      PG_POOL_MAX: '4',
    },
    args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [],
  );
  const auth = { authorization: `Bearer ${token}` };
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, { headers: auth });
    if (res.status !== 200) throw new Error(`warm-up ${path}: ${res.status} ${await res.text()}`);
    return res.text();
  };
  const metrics: Record<string, string> = {};
  for (let i = 0; i < nodes.length; i += 32) {
    await Promise.all(
      nodes.slice(i, i + 32).map(async (id) => {
        metrics[id] = await get(`/api/v1/nodes/${id}/metrics?range=24h`);
      }),
    );
  }
  const dashboard = await get('/api/v1/dashboard/summary');
  const bodiesFile = join(scratch, 'bodies.json');
  writeFileSync(bodiesFile, JSON.stringify({ metrics, dashboard }));
  const barePort = await startServer(
    'bench/lib/bare-server.ts',
    [bodiesFile],
    {},
    args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}/bare`] : [],
  );
  console.log(
    `▸ servers up on core 0 (api log level ${args.log}); metrics body ~${metrics[nodes[0]!]!.length} B, dashboard ${dashboard.length} B — ${elapsed()}`,
  );

  // Streams held open during the measurement: each reads the event log when woken and every poll interval.
  const streamAborts: AbortController[] = [];
  for (let i = 0; i < Number(args.streams); i++) {
    const abort = new AbortController();
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/anomalies/stream`, {
      headers: auth,
      signal: abort.signal,
    });
    if (res.status !== 200 || !res.body) throw new Error(`stream: ${res.status}`);
    const reader = res.body.getReader();
    void (async () => {
      try {
        while (!(await reader.read()).done) {}
      } catch {
        // aborted at the end
      }
    })();
    streamAborts.push(abort);
  }
  if (streamAborts.length > 0) console.log(`▸ ${streamAborts.length} anomaly streams open on the API`);

  // 3. The load generator on core 1.
  execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const randomNode = () =>
    `/api/v1/nodes/${nodes[Math.floor(Math.random() * nodes.length)]}/metrics?range=24h`;
  const endpoints = [
    { key: 'metrics', name: '/nodes/{id}/metrics', next: randomNode },
    { key: 'dashboard', name: '/dashboard/summary', next: () => '/api/v1/dashboard/summary' },
  ].filter((e) => args.only.split(',').includes(e.key));
  await measure(barePort, randomNode, auth, 64, 2);
  await measure(apiPort, randomNode, auth, 64, 2);

  const rows: string[][] = [];
  let allPass = true;
  for (const endpoint of endpoints) {
    for (const connections of CONNECTIONS) {
      const bare = await measure(barePort, endpoint.next, auth, connections, DURATION);
      const api = await measure(apiPort, endpoint.next, auth, connections, DURATION);
      const throughput = api.rps / bare.rps;
      const p99 = api.p99 / Math.max(bare.p99, 1);
      const pass = throughput >= 0.5 && p99 <= 2 && api.errors === 0 && api.non2xx === 0;
      allPass &&= pass;
      rows.push([
        endpoint.name,
        String(connections),
        bare.rps.toFixed(0),
        api.rps.toFixed(0),
        `${(throughput * 100).toFixed(0)} %`,
        `${bare.p50}/${bare.p99}`,
        `${api.p50}/${api.p99}`,
        `${p99.toFixed(2)}×`,
        `${bare.cpuUs.toFixed(0)}/${api.cpuUs.toFixed(0)}`,
        api.non2xx + api.errors > 0 ? `${api.non2xx + api.errors}` : '0',
        pass ? 'PASS' : 'FAIL',
      ]);
      console.log(`  measured ${endpoint.name} @ ${connections} — ${elapsed()}`);
    }
  }
  const header = [
    'endpoint',
    'conns',
    'bare req/s',
    'api req/s',
    'api/bare',
    'bare p50/p99 ms',
    'api p50/p99 ms',
    'p99 ratio',
    'CPU µs/req bare/api',
    'errors',
    'target',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(
    `\nbench:api — ${nodes.length} nodes, ${DURATION} s per run, ${streamAborts.length} anomaly streams open; targets: throughput ≥ 50 % of bare, p99 ≤ 2× bare`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  if (args.profile)
    console.log(`requests under load: api ${served.get(apiPort)}, bare ${served.get(barePort)}`);
  console.log(`\n${allPass ? 'PASS' : 'FAIL'} — total ${elapsed()}`);
  process.exitCode = allPass ? 0 : 1;
  for (const abort of streamAborts) abort.abort();
} finally {
  await cleanup();
}
