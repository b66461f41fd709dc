/**
 * `npm start`: the whole system on one machine, on embedded defaults — no cloud account, no server
 * to install. PostgreSQL is PGlite over the wire protocol (data kept in .data/, so a restart keeps
 * it), the bus delivers real Pub/Sub CloudEvents in-process, coordination and cache are in-process,
 * readings come from the built-in simulator (or a CSV file). Each embedded part switches to the real
 * one by configuration (see README: DATABASE_URL, UPSTASH_REDIS_REST_URL/TOKEN, …).
 *
 *   npm start                              simulator, 7-day backfill, a cycle every 30 minutes
 *   npm start -- --speed 60                demo: simulated time runs 60× faster (a cycle every 30 s)
 *   npm start -- --source csv:../shared/data/bwdf/dma-inflows.csv
 *   npm start -- --days 2 --nodes 200 --port 8081 --fresh
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import cliProgress from 'cli-progress';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.ts';
import { createLocalStack } from '../dev/local-stack.ts';
import { terminalLog } from '../dev/terminal-log.ts';
import { postgresKeyStore } from '../shared/adapters/postgres/api-stores.ts';
import { oldestWatermarkMs } from '../shared/adapters/postgres/registry.ts';
import { createApp } from '../shared/api/app.ts';
import { ensureDevKey } from '../shared/api/auth/dev-key.ts';
import { ConfigError, loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';

const { values: args } = parseArgs({
  options: {
    source: { type: 'string' },
    days: { type: 'string', default: '7' },
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
                    [--data-dir DIR] [--speed N] [--fresh] [--json-logs]
  The JSON logs go to a file under the data dir's parent (.data/logs/); --json-logs (or LOG_LEVEL set)
  prints them on stdout instead.`);
  process.exit(0);
}

const HOUR = 3_600_000;
const BACKFILL_STEP_MS = 6 * HOUR;
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
  const stack = await createLocalStack(config, logger);
  const source = stack.dispatcher.source;
  const network = await source.network();
  console.log(`▸ schema migrated; readings from ${source.name} (${network.nodes.length} nodes)`);

  // The API comes up first and serves whatever the backfill has stored so far; the key and the URLs
  // come with it, so the API is usable while the history fills.
  const app = createApp(stack.api);
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: '127.0.0.1' });
  const base = `http://localhost:${config.PORT}`;
  const devKey = await ensureDevKey(postgresKeyStore(stack.storage.sql), {
    tenantId: config.TENANT_ID,
    file: join(dataRoot, 'dev-api-key'),
  });
  const example = network.nodes[0]?.id ?? 'NODE';
  const inlet = network.nodes.find((n) => n.kind === 'inlet')?.id;
  console.log(`▸ API listening on ${base} (it serves what the backfill has stored so far)
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
    const env = `DATABASE_URL=${embedded.url} PG_POOL_MAX=1`;
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
  let simNow = align(span ? span.toMs + 1 : Date.now());
  const days = args.days === 'all' ? Number.POSITIVE_INFINITY : Number(args.days);
  const earliest = span ? span.fromMs : Number.NEGATIVE_INFINITY;
  const backfillFrom = Math.max(earliest, simNow - days * 24 * HOUR);
  const from = Math.max(backfillFrom, (await oldestWatermarkMs(stack.storage.sql)) ?? backfillFrom);

  if (from < simNow) {
    const steps = Math.ceil((simNow - from) / BACKFILL_STEP_MS);
    console.log(
      `▸ backfill ${new Date(from).toISOString()} → ${new Date(simNow).toISOString()} (${steps} windows)`,
    );
    const bar = new cliProgress.SingleBar(
      {
        format:
          '  {bar} {percentage}% | {value}/{total} windows | {readings} readings | {eta_formatted} left',
      },
      cliProgress.Presets.shades_classic,
    );
    if (terminal) terminal.quiet = true;
    bar.start(steps, 0, { readings: 0 });
    let readings = 0;
    for (let t = from + BACKFILL_STEP_MS, i = 1; i <= steps; t += BACKFILL_STEP_MS, i++) {
      const result = await stack.cycle(Math.min(t, simNow), backfillFrom);
      readings += result.readings;
      bar.update(i, { readings });
    }
    bar.stop();
    if (terminal) {
      terminal.quiet = false;
      const summary = terminal.summary();
      if (summary) console.log(`  during the backfill: ${summary}`);
    }
  }

  console.log(`▸ ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (the URLs above)
  Next cycle every ${config.CYCLE_MINUTES} min of ${speed > 1 ? `simulated time (${speed}× faster)` : 'time'}. Ctrl-C stops.`);

  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    if (span) return; // a file has no new data
    simNow += cycleMs;
    running = running.then(async () => {
      const r = await stack.cycle(speed > 1 ? simNow : align(Date.now()));
      console.log(`▸ cycle ${r.runId}: ${r.nodes} nodes, ${r.readings} readings`);
    });
  }, cycleMs / speed);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\n▸ stopping …');
    clearInterval(timer);
    await running.catch(() => {});
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stack.close();
    await embedded?.stop();
    await terminal?.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
