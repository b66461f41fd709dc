/**
 * What the analytics (data quality, anomalies, forecasts, water balance) add to the cycle: the same
 * simulated network run twice, with ANALYTICS_ENABLED=false and =true, each in its own PostgreSQL
 * database and Redis prefix (Upstash protocol). Both are warmed up with the same history — four weeks
 * at 5-minute resolution (what the seasonal baseline and the forecasts look back at), then a day of
 * 1-minute readings through the stack being measured (so the analytics' own state exists) — then the same
 * 30-minute cycles run on both at the same time, each bus delivering one message at a time: the two
 * stacks' messages interleave, so whatever else loads the machine hits both alike, and a node's time
 * is its own work, not time queued for a connection. Prints the mean and median per-node time both ways and their ratio (target ≤ 1.20), and
 * the rollup's time.
 *
 *   node bench/analytics-overhead.ts [--nodes 36] [--weeks 4] [--cycles 8]
 */
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createLocalStack, type LocalStack } from '../dev/local-stack.ts';
import { startPeers } from '../dev/peers/start-peers.ts';
import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';
import { createSimulatorSource } from '../shared/simulator/index.ts';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '36' },
    weeks: { type: 'string', default: '4' },
    cycles: { type: 'string', default: '8' },
  },
});
const NODES = Number(args.nodes);
const WEEKS = Number(args.weeks);
const CYCLES = Number(args.cycles);
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2); // a Monday
const HISTORY_END = T0 + WEEKS * 7 * 24 * HOUR;
const WARM_END = HISTORY_END + 24 * HOUR;

const peers = await startPeers(['postgres', 'redis']);
if (Object.keys(peers.missing).length > 0) {
  console.error('missing peers:', peers.missing);
  process.exit(1);
}
const adminUrl = peers.env.TEST_DATABASE_URL!;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });

interface Measured {
  stack: LocalStack;
  db: string;
  nodeMs: number[];
  rollupMs: number[];
  recording: boolean;
}

const configOf = (db: string, analytics: boolean) =>
  loadConfig({
    DATABASE_URL: adminUrl.replace(/\/[^/]*$/, `/${db}`),
    UPSTASH_REDIS_REST_URL: peers.env.TEST_UPSTASH_URL!,
    UPSTASH_REDIS_REST_TOKEN: peers.env.TEST_UPSTASH_TOKEN!,
    REDIS_KEY_PREFIX: `${db}:`,
    SIMULATOR_NODES: String(NODES),
    SIMULATOR_SEED: '42',
    BUS_BACKEND: 'memory',
    COORDINATION_BACKEND: 'memory',
    ANALYTICS_ENABLED: String(analytics),
    LOG_LEVEL: 'debug',
  });

/** The weeks of history, once: aggregates only, at 5-minute resolution, in daily cycles (fast). */
async function historyTemplate(): Promise<string> {
  const db = `bench_analytics_history_${Date.now()}`;
  await admin.unsafe(`create database ${db}`);
  const history = await createLocalStack(configOf(db, false), createLogger({ level: 'error' }), {
    source: createSimulatorSource({ seed: 42, nodes: NODES, stepMs: 5 * 60_000 }),
  });
  for (let t = T0 + 24 * HOUR; t <= HISTORY_END; t += 24 * HOUR) await history.cycle(t, T0);
  await history.close();
  return db;
}

async function open(analytics: boolean, template: string): Promise<Measured> {
  const db = `bench_analytics_${analytics ? 'on' : 'off'}_${Date.now()}`;
  await admin.unsafe(`create database ${db} template ${template}`);
  const m: Measured = { db, nodeMs: [], rollupMs: [], recording: false, stack: undefined as never };
  const logger = createLogger({
    level: 'debug',
    sink: (line) => {
      if (!m.recording) return;
      const e = JSON.parse(line) as { event?: string; durationMs?: number };
      if (e.event === 'node.aggregated' && typeof e.durationMs === 'number') m.nodeMs.push(e.durationMs);
      if (e.event === 'rollup.finished' && typeof e.durationMs === 'number') m.rollupMs.push(e.durationMs);
    },
  });
  m.stack = await createLocalStack(configOf(db, analytics), logger, { busConcurrency: 1 });
  // A copied database has no planner statistics yet; a production one has.
  await m.stack.storage.sql.unsafe('analyze');
  return m;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[s.length >> 1]!;
};

console.log(`▸ ${NODES} nodes: ${WEEKS} weeks of history at 5-minute resolution in each database …`);
const template = await historyTemplate();
const off = await open(false, template);
const on = await open(true, template);
console.log(`▸ then a day of 1-minute readings in 6-hour cycles through each stack …`);
for (const m of [off, on]) {
  for (let t = HISTORY_END + 6 * HOUR; t <= WARM_END; t += 6 * HOUR) await m.stack.cycle(t);
}
console.log(`▸ ${CYCLES} 30-minute cycles, analytics off and on side by side …`);
const wall = { off: 0, on: 0 };
for (let c = 1; c <= CYCLES; c++) {
  const now = WARM_END + c * 30 * 60_000;
  off.recording = true;
  on.recording = true;
  const timed = async (name: 'off' | 'on', m: Measured) => {
    const t = performance.now();
    await m.stack.cycle(now);
    wall[name] += performance.now() - t;
  };
  await Promise.all([timed('off', off), timed('on', on)]);
  off.recording = false;
  on.recording = false;
}

const row = (name: string, m: Measured, wallMs: number) =>
  `${name.padEnd(14)} per node: mean ${mean(m.nodeMs).toFixed(1).padStart(6)} ms, median ${median(m.nodeMs)
    .toFixed(1)
    .padStart(
      6,
    )} ms (${m.nodeMs.length} messages)   cycle wall ${(wallMs / CYCLES).toFixed(0).padStart(5)} ms` +
  (m.rollupMs.length ? `   rollup ${mean(m.rollupMs).toFixed(0)} ms` : '');
console.log(row('analytics off', off, wall.off));
console.log(row('analytics on', on, wall.on));
const ratio = mean(on.nodeMs) / mean(off.nodeMs);
console.log(
  `per-node time with analytics / without: ${ratio.toFixed(2)} (mean), ${(median(on.nodeMs) / median(off.nodeMs)).toFixed(2)} (median)  ` +
    (ratio <= 1.2 ? 'PASS (≤ 1.20)' : 'FAIL (target ≤ 1.20)'),
);

for (const m of [off, on]) {
  await m.stack.close();
  await admin.unsafe(`drop database ${m.db} with (force)`);
}
await admin.unsafe(`drop database ${template} with (force)`);
await admin.end();
await peers.stop();
process.exit(0);
