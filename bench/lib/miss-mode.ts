/**
 * bench:api --miss — the miss path: a fresh API instance as deployed (the built bundle in the functions
 * framework's server; empty memory tier) under a Zipf mix over
 * every node and every read endpoint, from a few concurrent clients (closed loop). Two phases:
 * **redis** (hot keys as the cycle wrote them) and **postgres** (the hot keys deleted first, so first
 * touches go to PostgreSQL and fill Redis). Per tier (X-Cache-Tier): share of answers, p50/p99 as the
 * client saw them and as the server timed them (Server-Timing). Then how many of the hot keys the
 * postgres phase read were filled back into Redis.
 * Targets (issue 14): p99 ≤ 20 ms from Redis and ≤ 40 ms from PostgreSQL at 8 clients.
 */
import { createClient } from 'redis';

export interface MissModeOptions {
  nodes: string[];
  auth: Record<string, string>;
  startApi: () => Promise<number>;
  stop: (port: number) => void;
  clients: number;
  requests: number;
  prefix: string;
  elapsed: () => string;
}

const RANGES = ['1h', '6h', '24h', '3d', '7d', '30d'];

/** Every read endpoint; `hot` when the cycle writes the answer to Redis. */
const ENDPOINTS: { path: (id: string) => string; hot: boolean }[] = [
  { path: (id) => `/api/v1/nodes/${id}`, hot: true },
  ...RANGES.map((r) => ({ path: (id: string) => `/api/v1/nodes/${id}/metrics?range=${r}`, hot: true })),
  { path: (id) => `/api/v1/nodes/${id}/readings`, hot: true },
  { path: (id) => `/api/v1/nodes/${id}/history?resolution=1h`, hot: false },
  { path: (id) => `/api/v1/quality/${id}`, hot: false },
  { path: (id) => `/api/v1/predictions/${id}`, hot: false },
  { path: () => '/api/v1/network/metrics?range=24h', hot: true },
  { path: () => '/api/v1/dashboard/summary', hot: true },
  { path: () => '/api/v1/anomalies?status=open', hot: false },
];

/** Zipf (s = 1) over ranks 0 … n−1, seeded. */
function zipf(n: number, seed: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1);
    cdf[k] = sum;
  }
  let s = seed >>> 0;
  const random = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface Sample {
  path: string;
  hot: boolean;
  tier: string;
  ms: number;
  serverMs: number;
  status: number;
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};

async function phase(o: MissModeOptions, port: number, seed: number): Promise<Sample[]> {
  const node = zipf(o.nodes.length, seed);
  let endpointSeed = seed * 7 + 1;
  const nextEndpoint = () => {
    endpointSeed = (Math.imul(endpointSeed, 1103515245) + 12345) >>> 0;
    return ENDPOINTS[endpointSeed % ENDPOINTS.length]!;
  };
  const samples: Sample[] = [];
  let sent = 0;
  const client = async () => {
    while (sent < o.requests) {
      sent++;
      const endpoint = nextEndpoint();
      const path = endpoint.path(o.nodes[node()]!);
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: o.auth });
      await res.arrayBuffer();
      const ms = performance.now() - t0;
      const timing = res.headers.get('server-timing') ?? '';
      const serverMs = [...timing.matchAll(/dur=([\d.]+)/g)].reduce((a, m) => a + Number(m[1]), 0);
      samples.push({
        path,
        hot: endpoint.hot,
        tier: res.headers.get('x-cache-tier') ?? `status ${res.status}`,
        ms,
        serverMs,
        status: res.status,
      });
    }
  };
  await Promise.all(Array.from({ length: o.clients }, client));
  return samples;
}

async function countKeys(redisUrl: string, prefix: string): Promise<number> {
  const client = createClient({ url: redisUrl, RESP: 2 });
  await client.connect();
  let n = 0;
  let cursor = '0';
  do {
    const reply = await client.scan(cursor, { MATCH: `${prefix}t:*`, COUNT: 1000 });
    cursor = reply.cursor;
    n += reply.keys.length;
  } while (cursor !== '0');
  client.destroy();
  return n;
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const client = createClient({ url: redisUrl, RESP: 2 });
  await client.connect();
  let cursor = '0';
  do {
    const reply = await client.scan(cursor, { MATCH: `${prefix}t:*`, COUNT: 1000 });
    cursor = reply.cursor;
    if (reply.keys.length > 0) await client.unlink(reply.keys);
  } while (cursor !== '0');
  client.destroy();
}

/** Polls `count` until two reads 500 ms apart agree (at most 20 s). */
async function settled(count: () => Promise<number>): Promise<void> {
  let last = await count();
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await count();
    if (now === last) return;
    last = now;
  }
}

export async function runMissMode(o: MissModeOptions): Promise<number> {
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const lines: string[] = [];
  let pass = true;
  const keysByCycle = await countKeys(redisUrl, o.prefix);
  let readFromPostgres = 0;
  for (const name of ['redis', 'postgres'] as const) {
    if (name === 'postgres') await deleteKeys(redisUrl, o.prefix);
    const port = await o.startApi();
    const samples = await phase(o, port, name === 'redis' ? 1 : 2);
    // Fills of Redis run in the background after the answers: let them land before the instance is
    // stopped (a stopped instance loses the fills still under way, which would count as missing).
    if (name === 'postgres') await settled(() => countKeys(redisUrl, o.prefix));
    o.stop(port);
    if (name === 'postgres') {
      readFromPostgres = new Set(samples.filter((s) => s.hot && s.tier === 'postgres').map((s) => s.path))
        .size;
    }
    const failed = samples.filter((s) => s.status >= 500).length;
    const tiers = [...new Set(samples.map((s) => s.tier))].sort();
    for (const tier of tiers) {
      const of = samples.filter((s) => s.tier === tier);
      const p99 = pct(
        of.map((s) => s.serverMs),
        0.99,
      );
      const target = tier === 'redis' ? 20 : tier === 'postgres' ? 40 : undefined;
      const ok = target === undefined || p99 <= target;
      if (target !== undefined) pass &&= ok;
      lines.push(
        `| ${name} | ${tier} | ${((100 * of.length) / samples.length).toFixed(1)} % | ` +
          `${pct(
            of.map((s) => s.ms),
            0.5,
          ).toFixed(2)}/${pct(
            of.map((s) => s.ms),
            0.99,
          ).toFixed(2)} | ${pct(
            of.map((s) => s.serverMs),
            0.5,
          ).toFixed(
            2,
          )}/${p99.toFixed(2)} | ${target === undefined ? '' : `≤ ${target} ms ${ok ? 'PASS' : 'FAIL'}`} |`,
      );
    }
    if (failed > 0) {
      pass = false;
      lines.push(`| ${name} | 5xx | ${failed} answers | | | FAIL |`);
    }
    console.log(`  phase ${name}: ${samples.length} requests — ${o.elapsed()}`);
  }
  const refilled = await countKeys(redisUrl, o.prefix);
  console.log(
    `\nbench:api --miss — ${o.nodes.length} nodes, Zipf (s = 1) over nodes × ${ENDPOINTS.length} read endpoints, ${o.clients} clients, ${o.requests} requests per phase, a fresh instance per phase`,
  );
  console.log('| phase | tier | share | client p50/p99 ms | server p50/p99 ms | target (server p99) |');
  console.log('|---|---|---|---|---|---|');
  for (const l of lines) console.log(l);
  console.log(
    `hot keys in Redis: ${keysByCycle} written by the cycle; deleted, then the postgres phase read ${readFromPostgres} distinct hot keys from PostgreSQL and ${refilled} are in Redis after it (fills: ${refilled >= readFromPostgres ? 'all landed' : `${readFromPostgres - refilled} missing`})`,
  );
  console.log(`\n${pass ? 'PASS' : 'FAIL'} — total ${o.elapsed()}`);
  return pass && refilled >= readFromPostgres ? 0 : 1;
}
