/**
 * bench:request-log — CPU per request of the request log middleware: the hand-written line it replaced
 * (bench/baselines/request-log-handwritten.ts, the baseline) beside the pino line with `httpRequest`,
 * without and with a caller's traceparent, and with TRACING on (a span per request, exported to a
 * dropping exporter). Each variant answers the same small JSON route through `app.request` (no sockets:
 * what is measured is the app's CPU, not the network's), rounds interleaved; median of the rounds.
 *
 *   npm run bench:request-log [-- --requests 20000 --rounds 5]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Hono, type MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../shared/api/env.ts';
import { requestLog } from '../shared/api/middleware/request-log/index.ts';
import { createLogger } from '../shared/log.ts';
import { startTracing } from '../shared/telemetry/tracing.ts';
import { requestLog as handwrittenRequestLog } from './baselines/request-log-handwritten.ts';

const { values: args } = parseArgs({
  options: { requests: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } },
});
const REQUESTS = Number(args.requests);
const ROUNDS = Number(args.rounds);
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

let bytes = 0;
const sink = (line: string) => {
  bytes += line.length;
};
const logger = createLogger({ sink: () => {} });

function appWith(middleware: MiddlewareHandler<ApiEnv>) {
  const app = new Hono<ApiEnv>();
  app.use('*', middleware);
  app.get('/api/v1/nodes/:id', (c) => {
    c.set('tier', 'memory');
    return c.json({ id: c.req.param('id'), value: 1.5 });
  });
  return app;
}

interface Variant {
  name: string;
  app: Hono<ApiEnv>;
  headers: Record<string, string>;
}

const baseline: Variant = {
  name: 'hand-written line (baseline)',
  app: appWith(handwrittenRequestLog({ logger, sink })),
  headers: {},
};
const pinoApp = appWith(requestLog({ logger, sink }));
const off: Variant[] = [
  baseline,
  { name: 'pino line + httpRequest', app: pinoApp, headers: {} },
  {
    name: 'pino line + httpRequest, caller traceparent',
    app: pinoApp,
    headers: { traceparent: TRACEPARENT },
  },
];

async function cpuPerRequest(v: Variant): Promise<number> {
  const init = { headers: { 'user-agent': 'bench/1.0', 'x-forwarded-for': '203.0.113.9', ...v.headers } };
  const c0 = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) {
    const res = await v.app.request(`/api/v1/nodes/n${i & 63}`, init);
    if (res.status !== 200) throw new Error(`${v.name}: status ${res.status}`);
  }
  const c1 = process.cpuUsage(c0);
  return (c1.user + c1.system) / REQUESTS;
}

async function measure(variants: Variant[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (const v of variants) await cpuPerRequest({ ...v }); // warm-up
  for (let r = 0; r < ROUNDS; r++) for (const v of variants) out.get(v.name)!.push(await cpuPerRequest(v));
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
const results = await measure(off);
// Tracing on for the rest of the process: a span per request, batched to an exporter that drops them.
const { SpanExporterDropping } = {
  SpanExporterDropping: class {
    export(_spans: unknown[], done: (r: { code: number }) => void) {
      done({ code: 0 });
    }
    shutdown() {
      return Promise.resolve();
    }
  },
};
await startTracing({ mode: 'cloud', exporter: new SpanExporterDropping(), serviceName: 'bench' });
const on = await measure([
  baseline,
  {
    name: 'pino line + httpRequest, TRACING on (span per request)',
    app: pinoApp,
    headers: { traceparent: TRACEPARENT },
  },
]);
const loadAfter = readFileSync('/proc/loadavg', 'utf8').trim();

console.log(
  `bench:request-log — CPU per request (µs), ${REQUESTS} requests × ${ROUNDS} rounds, median (range)`,
);
console.log(`load average: ${loadBefore} (start), ${loadAfter} (end)`);
const print = (m: Map<string, number[]>) => {
  const base = median(m.get(baseline.name)!);
  for (const [name, xs] of m) {
    const med = median(xs);
    const delta =
      name === baseline.name
        ? ''
        : `  (${med - base >= 0 ? '+' : ''}${(med - base).toFixed(1)} µs vs baseline)`;
    console.log(
      `  ${name.padEnd(58)} ${med.toFixed(1)} µs  (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})${delta}`,
    );
  }
};
print(results);
console.log('  with tracing started (the baseline rerun beside it):');
print(on);
if (bytes === 0) throw new Error('no request line was written');
