/**
 * bench:upstash-client — CPU and latency of one Upstash GET (a 1 KB JSON value) as the API's hot tier
 * makes it, beside @upstash/redis's own HTTP client on the same keep-alive Agent (the global `fetch`):
 * 8 concurrent loops over the Upstash protocol (the harness's server in a process of its own, real
 * Redis), the two clients alternating round by round. The figure is the client process's CPU per GET.
 *
 *   npm run bench:upstash-client [-- --gets 10000 --rounds 3]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from '@upstash/redis';
import { startPeers } from '../dev/peers/start-peers.ts';
import { useKeepAliveAgent } from '../shared/adapters/cache/http-agent.ts';
import { UpstashCache } from '../shared/adapters/cache/upstash.ts';
import { startUpstashProcess } from './lib/upstash-process.ts';

const { values: args } = parseArgs({
  options: { gets: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '3' } },
});
const GETS = Number(args.gets);
const CLIENTS = 8;

const peers = await startPeers(['redis']);
if (peers.missing.redis) throw new Error(`Redis is needed: ${peers.missing.redis}`);
const upstash = await startUpstashProcess(peers.env.TEST_REDIS_URL!);
const agent = useKeepAliveAgent({ connections: 16 });
const prefix = `bench:upstash-client:${process.pid}:`;
const ours = new UpstashCache({ url: upstash.url, token: upstash.token, prefix, dispatcher: agent });
// @upstash/redis as configured before (fetch through the same Agent, installed as the global dispatcher).
const fetchClient = new Redis({
  url: upstash.url,
  token: upstash.token,
  automaticDeserialization: false,
  responseEncoding: false,
  enableTelemetry: false,
  retry: { retries: 1, backoff: () => 50 },
  enableAutoPipelining: false,
});
const value = {
  nodeId: 'n-000001',
  series: Array.from({ length: 40 }, (_, i) => ({ t: i, flow: i * 0.37 })),
};
await ours.write([{ key: 'k', value, ttlSeconds: 600 }]);
const text = JSON.stringify(value);

const variants: Record<string, () => Promise<string | null>> = {
  'undici request (ours)': () => ours.getRaw('k'),
  'fetch (@upstash/redis client)': () => fetchClient.get<string>(`${prefix}k`),
};

async function run(get: () => Promise<string | null>, n: number) {
  let left = n;
  const latencies: number[] = [];
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (left-- > 0) {
        const t0 = performance.now();
        if ((await get()) !== text) throw new Error('wrong value');
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const c = process.cpuUsage(c0);
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.floor(p * latencies.length)]!.toFixed(2);
  return { cpuUs: (c.user + c.system) / n, p50: at(0.5), p99: at(0.99) };
}

try {
  for (const get of Object.values(variants)) await run(get, 1000); // warm-up
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let round = 1; round <= Number(args.rounds); round++) {
    const names = Object.keys(variants);
    if (round % 2 === 0) names.reverse();
    for (const name of names) {
      const r = await run(variants[name]!, GETS);
      cpu[name]!.push(r.cpuUs);
      console.log(
        `round ${round} ${name.padEnd(30)} ${r.cpuUs.toFixed(1).padStart(6)} µs CPU per GET, p50/p99 ${r.p50}/${r.p99} ms`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const [a, b] = Object.keys(variants).map((k) => median(cpu[k]!));
  console.log(
    `median CPU per GET: ours ${a!.toFixed(1)} µs, fetch ${b!.toFixed(1)} µs (×${(a! / b!).toFixed(2)}); ${CLIENTS} clients × ${GETS} GETs per round; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await ours.del(['k']);
  await upstash.close();
  await agent.close();
  await peers.stop();
}
