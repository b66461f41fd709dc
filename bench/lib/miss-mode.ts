/**
 * bench:api --miss — the miss path: a fresh API instance as deployed (the built bundle in the functions
 * framework's server; empty memory tier) under a Zipf mix over
 * every node and every read endpoint, from a few concurrent clients (closed loop). Two phases:
 * **redis** (hot keys as the cycle wrote them) and **postgres** (the hot keys deleted first, so first
 * touches go to PostgreSQL and fill Redis). Per tier (X-Cache-Tier): share of answers, p50/p99 as the
 * client saw them and as the server timed them (Server-Timing). Then how many of the hot keys the
 * postgres phase read were filled back into Redis.
 * Targets (issue 14): p99 ≤ 20 ms from Redis and ≤ 40 ms from PostgreSQL at 8 clients.
 *
 * With a baseline (`--baseline DIR`: another checkout's API bundle) both builds run the same phases
 * with the same request sequence, alternating (the order rotated each round, `--rounds`), and before
 * every redis phase the hot keys are put back exactly as the cycle wrote them: a shared machine's
 * noise hits both builds alike, and the bench prints ours ÷ baseline per tier.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createClient } from 'redis';

/** An API build to measure: ours, and optionally a baseline's bundle beside it. */
export interface MissVariant {
  name: string;
  startApi: () => Promise<number>;
}

export interface MissModeOptions {
  nodes: string[];
  auth: Record<string, string>;
  variants: MissVariant[];
  stop: (port: number) => void;
  /** CPU time (µs) the API process serving `port` has used so far. */
  cpuOf: (port: number) => number;
  /** CPU time (µs) the Upstash-protocol server's process has used so far (is it a bottleneck?). */
  harnessCpu: () => number;
  /** Connections the Upstash-protocol server has accepted so far (are they reused?). */
  harnessConnections: () => Promise<number>;
  clients: number;
  requests: number;
  /** Rounds of every phase × variant, the variants' order rotated each round. */
  rounds: number;
  prefix: string;
  elapsed: () => string;
  /** Writes every phase's samples (JSON) to `${dump}-${variant}-${phase}-${round}.json`. */
  dump?: string | undefined;
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
  t0: number;
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
        t0,
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

type RedisClient = ReturnType<typeof createClient>;

async function withRedis<T>(redisUrl: string, work: (client: RedisClient) => Promise<T>): Promise<T> {
  const client = createClient({ url: redisUrl, RESP: 2 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    client.destroy();
  }
}

async function scanKeys(client: RedisClient, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const reply = await client.scan(cursor, { MATCH: `${prefix}t:*`, COUNT: 1000 });
    cursor = reply.cursor;
    keys.push(...reply.keys);
  } while (cursor !== '0');
  return keys;
}

const countKeys = (redisUrl: string, prefix: string) =>
  withRedis(redisUrl, async (client) => (await scanKeys(client, prefix)).length);

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  await withRedis(redisUrl, async (client) => {
    const keys = await scanKeys(client, prefix);
    for (let i = 0; i < keys.length; i += 1000) await client.unlink(keys.slice(i, i + 1000));
  });
}

/** The hot keys as the cycle wrote them (value and remaining TTL), to put back before every redis phase. */
type Snapshot = { key: string; value: string; pttl: number }[];

async function snapshotKeys(redisUrl: string, prefix: string): Promise<Snapshot> {
  return withRedis(redisUrl, async (client) => {
    const keys = await scanKeys(client, prefix);
    const out: Snapshot = [];
    for (let i = 0; i < keys.length; i += 500) {
      const part = keys.slice(i, i + 500);
      const [values, ttls] = await Promise.all([
        client.mGet(part),
        Promise.all(part.map((k) => client.pTTL(k))),
      ]);
      part.forEach((key, j) => {
        const value = values[j];
        if (value != null) out.push({ key, value, pttl: Math.max(60_000, ttls[j]!) });
      });
    }
    return out;
  });
}

async function restoreKeys(redisUrl: string, prefix: string, snapshot: Snapshot): Promise<void> {
  await deleteKeys(redisUrl, prefix);
  await withRedis(redisUrl, async (client) => {
    for (let i = 0; i < snapshot.length; i += 500) {
      await Promise.all(snapshot.slice(i, i + 500).map((e) => client.set(e.key, e.value, { PX: e.pttl })));
    }
  });
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

const TARGETS: Record<string, number> = { redis: 20, postgres: 40 };

export async function runMissMode(o: MissModeOptions): Promise<number> {
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const snapshot = await snapshotKeys(redisUrl, o.prefix);
  /** Samples per variant and phase, every round's pooled; and each round's own. */
  const pooled = new Map<string, Sample[]>();
  const perRound = new Map<string, Sample[][]>();
  /** The API process's CPU µs per request, per variant and phase, each round's. */
  const cpu = new Map<string, number[]>();
  /** The Upstash-protocol server's share of a core during each phase. */
  const harness: number[] = [];
  const fills: string[] = [];
  /** Upstash connections opened per 1,000 requests, per variant and phase, each round's. */
  const connections = new Map<string, number[]>();
  let fillsOk = true;
  for (let round = 0; round < o.rounds; round++) {
    const order = [
      ...o.variants.slice(round % o.variants.length),
      ...o.variants.slice(0, round % o.variants.length),
    ];
    for (const name of ['redis', 'postgres'] as const) {
      for (const variant of order) {
        if (name === 'redis') await restoreKeys(redisUrl, o.prefix, snapshot);
        else await deleteKeys(redisUrl, o.prefix);
        const port = await variant.startApi();
        const cpu0 = o.cpuOf(port);
        const harness0 = o.harnessCpu();
        const connections0 = await o.harnessConnections();
        const wall0 = performance.now();
        const samples = await phase(o, port, name === 'redis' ? 1 : 2);
        const cpuUs = o.cpuOf(port) - cpu0;
        const wallMs = performance.now() - wall0;
        const apiBusy = cpuUs / 1000 / wallMs;
        const harnessBusy = (o.harnessCpu() - harness0) / 1000 / wallMs;
        const opened = (await o.harnessConnections()) - connections0;
        // Fills of Redis run in the background after the answers: let them land before the instance is
        // stopped (a stopped instance loses the fills still under way, which would count as missing).
        if (name === 'postgres') await settled(() => countKeys(redisUrl, o.prefix));
        o.stop(port);
        if (o.dump) writeFileSync(`${o.dump}-${variant.name}-${name}-${round}.json`, JSON.stringify(samples));
        const k = `${variant.name}|${name}`;
        pooled.set(k, [...(pooled.get(k) ?? []), ...samples]);
        perRound.set(k, [...(perRound.get(k) ?? []), samples]);
        cpu.set(k, [...(cpu.get(k) ?? []), cpuUs / samples.length]);
        connections.set(k, [...(connections.get(k) ?? []), (1000 * opened) / samples.length]);
        if (name === 'postgres') {
          const read = new Set(samples.filter((s) => s.hot && s.tier === 'postgres').map((s) => s.path)).size;
          const refilled = await countKeys(redisUrl, o.prefix);
          if (refilled < read) fillsOk = false;
          fills.push(
            `${variant.name} round ${round + 1}: ${read} distinct hot keys read from PostgreSQL, ${refilled} in Redis after (${refilled >= read ? 'all landed' : `${read - refilled} missing`})`,
          );
        }
        harness.push(harnessBusy);
        console.log(
          `  round ${round + 1}, ${variant.name}, phase ${name}: ${samples.length} requests, the API at ${apiBusy.toFixed(2)} of a core, the Upstash server at ${harnessBusy.toFixed(2)} — ${o.elapsed()}`,
        );
      }
    }
  }
  const serverP = (xs: Sample[], p: number) =>
    pct(
      xs.map((s) => s.serverMs),
      p,
    );
  const clientP = (xs: Sample[], p: number) =>
    pct(
      xs.map((s) => s.ms),
      p,
    );
  let pass = fillsOk;
  const lines: string[] = [];
  for (const name of ['redis', 'postgres'] as const) {
    for (const variant of o.variants) {
      const samples = pooled.get(`${variant.name}|${name}`)!;
      const rounds = perRound.get(`${variant.name}|${name}`)!;
      const failed = samples.filter((s) => s.status >= 500).length;
      for (const tier of [...new Set(samples.map((s) => s.tier))].sort()) {
        const of = samples.filter((s) => s.tier === tier);
        const p99 = serverP(of, 0.99);
        const target = TARGETS[tier];
        const ok = target === undefined || p99 <= target;
        // The target judges our build (the first variant), not the baseline's.
        if (target !== undefined && variant === o.variants[0]) pass &&= ok;
        const each =
          target === undefined
            ? ''
            : rounds
                .map((r) =>
                  serverP(
                    r.filter((s) => s.tier === tier),
                    0.99,
                  ).toFixed(1),
                )
                .join(', ');
        lines.push(
          `| ${name} | ${variant.name} | ${tier} | ${((100 * of.length) / samples.length).toFixed(1)} % | ` +
            `${clientP(of, 0.5).toFixed(2)}/${clientP(of, 0.99).toFixed(2)} | ` +
            `${serverP(of, 0.5).toFixed(2)}/${p99.toFixed(2)} | ${each} | ` +
            `${target === undefined ? '' : `≤ ${target} ms ${ok ? 'PASS' : 'FAIL'}`} |`,
        );
      }
      if (failed > 0) {
        if (variant === o.variants[0]) pass = false;
        lines.push(`| ${name} | ${variant.name} | 5xx | ${failed} answers | | | | FAIL |`);
      }
    }
  }
  console.log(
    `\nbench:api --miss — ${o.nodes.length} nodes, Zipf (s = 1) over nodes × ${ENDPOINTS.length} read endpoints, ${o.clients} clients, ${o.requests} requests per phase, a fresh instance per phase, ${o.rounds} round(s) of ${o.variants.map((v) => v.name).join(' and ')} alternating; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} at the end`,
  );
  console.log(
    '| phase | build | tier | share | client p50/p99 ms | server p50/p99 ms | server p99 per round | target (server p99) |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const l of lines) console.log(l);
  for (const name of ['redis', 'postgres'] as const) {
    const parts = o.variants.map(
      (v) =>
        `${v.name} ${cpu
          .get(`${v.name}|${name}`)!
          .map((x) => x.toFixed(0))
          .join(', ')}`,
    );
    console.log(`API process CPU µs per request, ${name} phase (each round): ${parts.join(' · ')}`);
    const opened = o.variants.map(
      (v) =>
        `${v.name} ${connections
          .get(`${v.name}|${name}`)!
          .map((x) => x.toFixed(2))
          .join(', ')}`,
    );
    console.log(
      `Upstash connections opened per 1,000 requests, ${name} phase (each round): ${opened.join(' · ')}`,
    );
  }
  console.log(
    `Upstash-protocol server (own process, core 1): at most ${Math.max(...harness).toFixed(2)} of a core during a phase (median ${pct(harness, 0.5).toFixed(2)})`,
  );
  if (o.variants.length > 1) {
    const [ours, base] = o.variants as [MissVariant, MissVariant];
    for (const [name, tier] of [
      ['redis', 'redis'],
      ['redis', 'postgres'],
      ['postgres', 'postgres'],
    ] as const) {
      const of = (v: MissVariant) => pooled.get(`${v.name}|${name}`)!.filter((s) => s.tier === tier);
      const a = serverP(of(ours), 0.99);
      const b = serverP(of(base), 0.99);
      const m = serverP(of(ours), 0.5);
      const n = serverP(of(base), 0.5);
      console.log(
        `${name} phase, ${tier} tier: server p99 ${a.toFixed(2)} vs ${b.toFixed(2)} ms (×${(a / b).toFixed(2)}), p50 ${m.toFixed(2)} vs ${n.toFixed(2)} (×${(m / n).toFixed(2)}) — ${ours.name} vs ${base.name}`,
      );
    }
  }
  console.log(`hot keys: ${snapshot.length} written by the cycle (put back before every redis phase)`);
  for (const f of fills) console.log(`fills: ${f}`);
  console.log(`\n${pass ? 'PASS' : 'FAIL'} — total ${o.elapsed()}`);
  return pass ? 0 : 1;
}
