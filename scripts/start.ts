/**
 * `npm start`: the whole system on one machine, on embedded defaults — no cloud account, no server
 * to install. PostgreSQL is PGlite over the wire protocol (data kept in .data/, so a restart keeps
 * it), the bus delivers real Pub/Sub CloudEvents in-process, coordination and cache are in-process,
 * readings come from the built-in simulator (or a CSV file). Each embedded part switches to the real
 * one by configuration (see README: DATABASE_URL, UPSTASH_REDIS_REST_URL/TOKEN, …).
 *
 *   npm start                              simulator, 35 days of history (bulk, then the last day by
 *                                          cycles), a cycle every 30 minutes
 *   npm start -- --speed 60                demo: simulated time runs 60× faster (a cycle every 30 s)
 *   npm start -- --source csv:../shared/data/bwdf/dma-inflows.csv
 *   npm start -- --days 2 --nodes 200 --port 8081 --fresh
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import cliProgress from 'cli-progress';
import { buildConsole } from '../console/build.ts';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.ts';
import { createLocalStack } from '../dev/local-stack.ts';
import { terminalLog } from '../dev/terminal-log.ts';
import { postgresKeyStore } from '../shared/adapters/postgres/api-stores.ts';
import { oldestWatermarkMs } from '../shared/adapters/postgres/registry.ts';
import { createApp } from '../shared/api/app.ts';
import { ensureDevKey } from '../shared/api/auth/dev-key.ts';
import { ConfigError, loadConfig } from '../shared/config.ts';
import { bulkBackfill } from '../shared/cycle/backfill/index.ts';
import type { Network } from '../shared/domain/readings.ts';
import { createLogger } from '../shared/log.ts';

/**
 * Days of history by default: every detector and forecast has what it needs behind the last day
 * (forecasts and bursts 3 weeks, baselines 4, night-flow leaks 28 reference nights and the recent ones).
 */
const DEFAULT_DAYS = 35;

const { values: args } = parseArgs({
  options: {
    source: { type: 'string' },
    days: { type: 'string', default: String(DEFAULT_DAYS) },
    end: { type: 'string' },
    nodes: { type: 'string' },
    port: { type: 'string' },
    'data-dir': { type: 'string', default: '.data/pglite' },
    speed: { type: 'string', default: '1' },
    fresh: { type: 'boolean', default: false },
    'json-logs': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(`usage: npm start -- [--source simulator|csv:PATH] [--days N|all] [--nodes N] [--port N]
                    [--data-dir DIR] [--speed N] [--fresh] [--json-logs] [--end ISO]
  --days: history to fill (default ${DEFAULT_DAYS}); --end: where it ends (default now; then the
  cycles run on simulated time from there, a reproducible run)
  The JSON logs go to a file under the data dir's parent (.data/logs/); --json-logs (or LOG_LEVEL set)
  prints them on stdout instead.`);
  process.exit(0);
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BACKFILL_STEP_MS = 6 * HOUR;
/** The last part of a fresh history that ordinary cycles (with the analytics) fill; the rest is bulk. */
const RECENT_CYCLES_MS = DAY;
/** What the analytics need behind them (shared/anomaly/README.md, shared/forecast via forecast-training.ts). */
const NEEDS = 'forecasts and bursts need 3 weeks, baselines 3–4, night-flow leaks 11–32 nights';

const formatDays = (ms: number) => `${Math.round((ms / DAY) * 10) / 10} days`;

const progressBar = (format: string) =>
  new cliProgress.SingleBar({ format: `  ${format}` }, cliProgress.Presets.shades_classic);

/** What the API serves after the backfill, asked of the API itself: forecasts of the inlets, anomalies by type. */
async function servedSummary(
  app: ReturnType<typeof createApp>,
  token: string,
  network: Network,
  historyMs: number,
): Promise<string> {
  const headers = { Authorization: `Bearer ${token}` };
  const inlets = network.nodes.filter((n) => n.kind === 'inlet');
  let forecasts = 0;
  for (const n of inlets) {
    if ((await app.request(`/api/v1/predictions/${n.id}`, { headers })).status === 200) forecasts++;
  }
  let districtForecasts = 0;
  for (const d of network.districts) {
    if ((await app.request(`/api/v1/predictions/${d.id}`, { headers })).status === 200) districtForecasts++;
  }
  const byType = new Map<string, number>();
  let cursor: string | null = null;
  do {
    const page = await app.request(`/api/v1/anomalies?limit=200${cursor ? `&cursor=${cursor}` : ''}`, {
      headers,
    });
    if (page.status !== 200) break;
    const body = (await page.json()) as { data: { type: string }[]; next: string | null };
    for (const a of body.data) byType.set(a.type, (byType.get(a.type) ?? 0) + 1);
    cursor = body.next;
  } while (cursor);
  const types = [...byType].sort((a, b) => b[1] - a[1]).map(([t, c]) => `${t} ${c}`);
  return (
    `▸ history: ${formatDays(historyMs)} (${NEEDS}); ` +
    `forecasts for ${forecasts} of ${inlets.length} inlet meters and ${districtForecasts} of ${network.districts.length} districts (/api/v1/status says which model serves each); ` +
    `anomalies: ${types.length ? types.join(', ') : 'none'}`
  );
}
const speed = Number(args.speed);
if (!Number.isFinite(speed) || speed < 1 || speed > 10_000) {
  console.error('--speed must be a number between 1 and 10000');
  process.exit(2);
}

if (args.source) process.env.READINGS_SOURCE = args.source;
if (args.nodes) process.env.SIMULATOR_NODES = args.nodes;
if (args.port) process.env.PORT = args.port;
// JSON logs on stdout only when asked (a flag, or LOG_LEVEL set); otherwise to a file, and the terminal
// shows a readable line per notable event (dev/terminal-log.ts).
const logsOnStdout = args['json-logs'] || process.env.LOG_LEVEL !== undefined;
process.env.LOG_LEVEL ??= 'info';
const dataRoot = dirname(args['data-dir']);

async function main() {
  const t0 = performance.now();
  let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
  if (!process.env.DATABASE_URL) {
    if (args.fresh) rmSync(args['data-dir'], { recursive: true, force: true });
    // Room for this process's one connection and the CLIs a user runs beside it (printed below).
    embedded = await startEmbeddedPostgres({ dataDir: args['data-dir'], maxConnections: 8 });
    console.log(`▸ embedded PostgreSQL (PGlite, data in ${args['data-dir']}) at ${embedded.url}`);
    process.env.DATABASE_URL = embedded.url;
    // PGlite is one backend: pglite-socket interleaves the extended-protocol messages of concurrent
    // connections outside transactions (responses get mixed), so the whole process uses one connection.
    process.env.PG_POOL_MAX = '1';
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const terminal = logsOnStdout
    ? undefined
    : terminalLog({ file: join(dataRoot, 'logs', `start-${stamp}.jsonl`) });
  const logger = createLogger({ level: config.LOG_LEVEL, ...(terminal ? { sink: terminal.sink } : {}) });
  // Readings pushed through the API are stamped with the cycles' clock (simulated when sped up or ended).
  let ingestNow = Date.now;
  const stack = await createLocalStack(config, logger, { ingestClock: () => ingestNow() });
  const source = stack.dispatcher.source;
  const network = await source.network();
  console.log(`▸ schema migrated; readings from ${source.name} (${network.nodes.length} nodes)`);

  // The operator console's static files (esbuild, well under a second), served by the API under /console.
  const consoleBuild = await buildConsole();
  // The API comes up first and serves whatever the backfill has stored so far; the key and the URLs
  // come with it, so the API is usable while the history fills.
  const app = createApp({ ...stack.api, consoleDir: consoleBuild.dir });
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: '127.0.0.1' });
  const base = `http://localhost:${config.PORT}`;
  const devKey = await ensureDevKey(postgresKeyStore(stack.storage.sql), {
    tenantId: config.TENANT_ID,
    file: join(dataRoot, 'dev-api-key'),
  });
  const example = network.nodes[0]?.id ?? 'NODE';
  const inlet = network.nodes.find((n) => n.kind === 'inlet')?.id;
  console.log(`▸ console: ${base}/console/#key=${devKey.token}
    (signs in with the development key; the key stays in that browser tab only)
▸ API listening on ${base} (it serves what the backfill has stored so far)
▸ development API key (admin of tenant ${config.TENANT_ID}${devKey.created ? ', new' : ''}):
    ${devKey.token}
  e.g. curl -H "Authorization: Bearer ${devKey.token}" ${base}/api/v1/nodes
▸ the API:
    ${base}/health
    ${base}/api/v1/nodes
    ${base}/api/v1/nodes/${example}
    ${base}/api/v1/nodes/${example}/metrics?range=24h
    ${base}/api/v1/nodes/${example}/readings
    ${base}/api/v1/anomalies?type=burst,night_flow_leak${
      inlet
        ? `
    ${base}/api/v1/predictions/${inlet}`
        : ''
    }
    ${base}/api/v1/status
    ${base}/docs   (OpenAPI: ${base}/openapi.json)`);
  if (embedded) {
    // The same database and the same readings (a cycle run by hand must see this run's network).
    const env = [
      `DATABASE_URL=${embedded.url}`,
      'PG_POOL_MAX=1',
      ...(args.source ? [`READINGS_SOURCE=${args.source}`] : []),
      ...(args.nodes ? [`SIMULATOR_NODES=${args.nodes}`] : []),
    ].join(' ');
    console.log(`▸ the CLIs work beside this run on its database (PGlite is one backend: one connection each):
    ${env} npm run keys -- list
    ${env} npm run keys -- create --tenant ${config.TENANT_ID} --role reader --name dashboard
    ${env} npm run cycle -- --once
    ${env} npm run billing -- list`);
  }
  if (terminal) {
    console.log(
      `▸ JSON logs go to ${terminal.file} (npm start -- --json-logs, or LOG_LEVEL=…, prints them here)`,
    );
  }

  // Where the data ends: now for live sources, the end of the file for CSV.
  const span = await source.span?.();
  const cycleMs = config.CYCLE_MINUTES * 60_000;
  const align = (ms: number) => Math.floor(ms / cycleMs) * cycleMs;
  const endMs = args.end === undefined ? undefined : Date.parse(args.end);
  if (endMs !== undefined && !Number.isFinite(endMs)) {
    console.error(`--end must be an ISO date or time (got ${args.end})`);
    process.exit(2);
  }
  let simNow = align(endMs ?? (span ? span.toMs + 1 : Date.now()));
  // Just after the last cycle's end: in the next cycle's window.
  if (speed > 1 || endMs !== undefined) ingestNow = () => simNow + 1;
  const days = args.days === 'all' ? Number.POSITIVE_INFINITY : Number(args.days);
  const earliest = span ? span.fromMs : Number.NEGATIVE_INFINITY;
  const backfillFrom = Math.max(earliest, simNow - days * 24 * HOUR);
  const from = Math.max(backfillFrom, (await oldestWatermarkMs(stack.storage.sql)) ?? backfillFrom);

  // A fresh database gets its older history through the bulk backfill (partials, watermarks, latest
  // values: tens of times faster than cycles) and the last day through ordinary cycles, so the per-instant
  // analytics (anomalies, quality, forecasts, water balance) run over it with weeks of history behind.
  let cyclesFrom = from;
  const fresh = (await oldestWatermarkMs(stack.storage.sql)) === null;
  if (fresh && simNow - from > RECENT_CYCLES_MS + BACKFILL_STEP_MS) {
    const bulkTo = simNow - RECENT_CYCLES_MS;
    console.log(
      `▸ history ${new Date(from).toISOString()} → ${new Date(simNow).toISOString()} (${formatDays(simNow - from)}): ` +
        `bulk backfill to ${new Date(bulkTo).toISOString()}, then ordinary cycles with the analytics`,
    );
    const bar = progressBar('{bar} {percentage}% | bulk | {value}/{total} nodes | {readings} readings');
    if (terminal) terminal.quiet = true;
    bar.start(1, 0, { readings: 0 });
    const backfillStore = stack.storage.stores.backfill;
    await bulkBackfill(
      {
        stores: { backfill: embedded ? embedded.bulkStore(backfillStore) : backfillStore },
        source,
        settings: stack.dispatcher.settings,
        logger: stack.aggregator.logger,
      },
      {
        fromMs: from,
        toMs: bulkTo,
        // One writer on PGlite (one backend); the default on a real PostgreSQL.
        ...(embedded ? { writers: 1 } : {}),
        onProgress: (p) => {
          bar.setTotal(p.nodesTotal);
          bar.update(p.nodesDone, { readings: p.readings.toLocaleString('en') });
        },
      },
    ).finally(() => bar.stop());
    cyclesFrom = bulkTo;
  }

  if (cyclesFrom < simNow) {
    const steps = Math.ceil((simNow - cyclesFrom) / BACKFILL_STEP_MS);
    console.log(
      `▸ cycles ${new Date(cyclesFrom).toISOString()} → ${new Date(simNow).toISOString()} (${steps} windows)`,
    );
    const bar = progressBar(
      '{bar} {percentage}% | cycles | {value}/{total} windows | {readings} readings | {eta_formatted} left',
    );
    if (terminal) terminal.quiet = true;
    bar.start(steps, 0, { readings: 0 });
    let readings = 0;
    for (let t = cyclesFrom + BACKFILL_STEP_MS, i = 1; i <= steps; t += BACKFILL_STEP_MS, i++) {
      const result = await stack.cycle(Math.min(t, simNow), backfillFrom);
      readings += result.readings;
      bar.update(i, { readings });
    }
    bar.stop();
  }
  if (terminal) {
    terminal.quiet = false;
    const summary = terminal.summary();
    if (summary) console.log(`  meanwhile: ${summary}`);
  }
  console.log(await servedSummary(app, devKey.token, network, simNow - backfillFrom));

  console.log(`▸ ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (the URLs above); the console: ${base}/console/#key=${devKey.token}
  Next cycle every ${config.CYCLE_MINUTES} min of ${speed > 1 ? `simulated time (${speed}× faster)` : 'time'}. Ctrl-C stops.`);

  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    if (span) return; // a file has no new data
    simNow += cycleMs;
    running = running.then(async () => {
      const r = await stack.cycle(speed > 1 || endMs !== undefined ? simNow : align(Date.now()));
      console.log(`▸ cycle ${r.runId}: ${r.nodes} nodes, ${r.readings} readings`);
    });
  }, cycleMs / speed);
  // Cloud Scheduler's minute tick of the webhook fan-out (replays, operators' transitions).
  const webhookTimer = setInterval(() => {
    stack.tickWebhooks().catch(() => {});
  }, 60_000);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\n▸ stopping …');
    clearInterval(timer);
    clearInterval(webhookTimer);
    await running.catch(() => {});
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stack.close();
    await embedded?.stop();
    terminal?.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
