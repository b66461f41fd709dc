/**
 * bench:console — the operator console's budgets (issue 17), in headless Chromium (Debian's):
 *   1. JavaScript of the first view, compressed (brotli, and gzip), as the API serves it: ≤ 150 KB;
 *   2. the first view interactive on a local stack: from navigation to the overview drawn with its
 *      data (KPIs, schematic, anomalies: `data-ready`), cold (empty browser cache) and warm: ≤ 1 s;
 *   3. a year of 5-minute points (105,120) drawn by the console's chart code (uPlot): ≤ 500 ms.
 *
 * The stack: the simulator's network (48 nodes, 4 districts, seed 42) processed by real cycles over a
 * day into a fresh database on the PostgreSQL peer, the API in this process with its in-process
 * cache (as `npm start` runs it), serving the console built by console/build.ts.
 *
 *   npm run bench:console
 *   npm run bench:console -- --runs 7 --nodes 48
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { buildConsole } from '../console/build.ts';
import { createLocalStack } from '../dev/local-stack.ts';
import { createTestDatabase } from '../dev/peers/index.ts';
import { postgresKeyStore } from '../shared/adapters/postgres/api-stores.ts';
import { createApp } from '../shared/api/app.ts';
import { createKey } from '../shared/api/auth/keys.ts';
import { loadConfig } from '../shared/config.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    nodes: { type: 'string', default: '48' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
  },
});
const RUNS = Number(args.runs);
const HOUR = 3_600_000;
const TARGETS = { jsKb: 150, firstViewMs: 1000, chartMs: 500 };
const LAUNCH = {
  executablePath: args.chromium,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

const loadBefore = loadavg()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'wnm-bench-console-'));
const built = await buildConsole({
  outDir: dir,
  extraEntries: { 'bench-chart': join(import.meta.dirname, '..', 'console', 'src', 'bench-chart.ts') },
});
const mainJs = built.files.find((f) => f.name.startsWith('main-') && f.name.endsWith('.js'))!;
const benchJs = built.files.find((f) => f.name.startsWith('bench-chart-'))!;

// 1. The first view's JavaScript: the page loads one module (no code splitting), served compressed.
const jsBrotliKb = mainJs.brotli / 1000;
const jsGzipKb = mainJs.gzip / 1000;

// 3. The chart alone, on a bare page (no API): a year of 5-minute points.
const chartServer = createServer((req, res) => {
  if (req.url?.startsWith('/bench-chart.js')) {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(readFileSync(join(dir, benchJs.name)));
    return;
  }
  const css = built.files.find((f) => f.name.endsWith('.css'))!.name;
  if (req.url?.startsWith('/style.css')) {
    res.writeHead(200, { 'content-type': 'text/css' });
    res.end(readFileSync(join(dir, css)));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(
    '<!doctype html><html><head><link rel="stylesheet" href="/style.css"></head><body><script type="module" src="/bench-chart.js"></script></body></html>',
  );
});
await new Promise<void>((resolve) => chartServer.listen(0, '127.0.0.1', resolve));
const chartBase = `http://127.0.0.1:${(chartServer.address() as AddressInfo).port}`;

const browser = await chromium.launch(LAUNCH);
const chartMs: number[] = [];
let drawn = 0;
for (let i = 0; i < RUNS; i++) {
  const page = await browser.newPage({ viewport: { width: 1300, height: 500 } });
  await page.goto(`${chartBase}/?n=105120`);
  await page.waitForSelector('body[data-result]', { timeout: 60_000 });
  const r = JSON.parse((await page.getAttribute('body', 'data-result'))!) as { ms: number; drawn: number };
  chartMs.push(r.ms);
  drawn = r.drawn;
  await page.close();
}
chartServer.close();

// 2. The first view on a local stack.
process.stdout.write(`preparing a local stack (${args.nodes} nodes, a day of cycles) …\n`);
const db = await createTestDatabase();
const config = loadConfig({
  DATABASE_URL: db.url,
  SIMULATOR_SEED: '42',
  SIMULATOR_NODES: args.nodes,
  LOG_LEVEL: 'error',
  BUS_BACKEND: 'memory',
  COORDINATION_BACKEND: 'memory',
  PG_POOL_MAX: '4',
});
const stack = await createLocalStack(config);
const end = Math.floor(Date.now() / (30 * 60_000)) * 30 * 60_000;
await stack.cycle(end - 12 * HOUR, end - 24 * HOUR);
await stack.cycle(end);
const { token } = await createKey(postgresKeyStore(db.sql), {
  tenantId: config.TENANT_ID,
  role: 'operator',
  name: 'bench',
  rateLimitPerMinute: 100_000,
});
const app = createApp({ ...stack.api, consoleDir: dir });
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const cold: number[] = [];
const warm: number[] = [];
let jsTransferred = 0;
for (let i = 0; i < RUNS; i++) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  // The key is in the tab's sessionStorage before the page runs (as after a sign-in).
  await context.addInitScript((key) => sessionStorage.setItem('wnm.console.key', key), token);
  // The page's own clock: when the overview is drawn with its data (navigation start = 0).
  await context.addInitScript(() => {
    const w = window as unknown as { readyAt?: number };
    new MutationObserver((_, obs) => {
      if (w.readyAt === undefined && document.querySelector('main [data-ready="true"]')) {
        w.readyAt = performance.now();
        obs.disconnect();
      }
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const jsIds = new Set<string>();
  let bytes = 0;
  cdp.on('Network.responseReceived', (e) => {
    if (e.type === 'Script') jsIds.add(e.requestId);
  });
  cdp.on('Network.loadingFinished', (e) => {
    if (jsIds.has(e.requestId)) bytes += e.encodedDataLength;
  });
  for (const [list, label] of [
    [cold, 'cold'],
    [warm, 'warm'],
  ] as const) {
    if (label === 'cold') await page.goto(`${base}/console/`);
    else await page.reload();
    await page.waitForSelector('main [data-ready="true"]', { timeout: 30_000 });
    list.push(await page.evaluate(() => (window as unknown as { readyAt: number }).readyAt));
    if (label === 'cold') jsTransferred = bytes;
  }
  await context.close();
}
await browser.close();
await new Promise((resolve) => server.close(resolve));
await stack.close();
await db.drop();
rmSync(dir, { recursive: true, force: true });

const rows = [
  [
    'first-view JS, compressed',
    `${jsBrotliKb.toFixed(1)} KB brotli (${jsGzipKb.toFixed(1)} KB gzip; ${(jsTransferred / 1000).toFixed(1)} KB on the wire incl. headers)`,
    `≤ ${TARGETS.jsKb} KB`,
    verdict(jsBrotliKb <= TARGETS.jsKb && jsGzipKb <= TARGETS.jsKb),
  ],
  [
    'first view with data, cold cache',
    `median ${median(cold).toFixed(0)} ms (runs: ${cold.map((v) => v.toFixed(0)).join(', ')})`,
    `≤ ${TARGETS.firstViewMs} ms`,
    verdict(median(cold) <= TARGETS.firstViewMs),
  ],
  [
    'first view with data, warm cache',
    `median ${median(warm).toFixed(0)} ms (runs: ${warm.map((v) => v.toFixed(0)).join(', ')})`,
    `≤ ${TARGETS.firstViewMs} ms`,
    verdict(median(warm) <= TARGETS.firstViewMs),
  ],
  [
    `chart, ${drawn.toLocaleString('en')} points (a year at 5 min)`,
    `median ${median(chartMs).toFixed(0)} ms (runs: ${chartMs.map((v) => v.toFixed(0)).join(', ')})`,
    `≤ ${TARGETS.chartMs} ms`,
    verdict(median(chartMs) <= TARGETS.chartMs),
  ],
];
console.log(
  `\nbench:console (${RUNS} runs each; load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${availableParallelism()} cores)`,
);
for (const r of rows)
  console.log(`  ${r[0]!.padEnd(44)} ${r[1]!.padEnd(70)} target ${r[2]!.padEnd(10)} ${r[3]}`);
if (rows.some((r) => r[3] === 'FAIL')) process.exitCode = 1;
