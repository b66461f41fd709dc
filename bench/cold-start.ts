/**
 * bench:cold-start — how long each function's built bundle takes to import in a fresh Node process
 * (median of several runs; target ≤ 250 ms), and which npm packages the import loads: the API bundle
 * must load neither the BigQuery nor the Pub/Sub client.
 *
 * Bundles come from `npm run build` (dist/functions/<name>/, the file its package.json's "main" names;
 * built now if missing).
 * Each bundle is measured with TRACING=off (the baseline: nothing of OpenTelemetry loads) and, beside
 * it, TRACING=cloud, where the import also waits for the function's tracing to start (the SDK and
 * the Cloud Trace exporter imported, the provider made) — for the event-driven functions, which start
 * it at import. The API starts its tracing once its first response has been sent, so its import row
 * is the import alone.
 *
 * What a user of the API feels is the time to the first answered request as deployed: a fresh process
 * runs the functions framework's own entry (`functions-framework --target=api`, what Cloud Run
 * functions runs) on the built bundle, and `GET /health` is sent the moment it says it serves. The
 * time from spawning the process to that response (Node's own start included) is the API's cold
 * start, with TRACING=off and cloud (target ≤ 250 ms for both), and cloud with Upstash configured as in
 * production (the cache and rate limiter's clients load with the app on the first request).
 *
 * Each function folder is first put through what Cloud Build runs after `npm ci`: its `gcp-build` script,
 * if any (the API's makes the V8 code cache it starts with: scripts/compile-cache/).
 *
 * With `--baseline DIR` (another checkout, its node_modules in place) its bundles are built and
 * measured the same way, alternating run by run with ours: medians of wall time and of CPU, and ours ÷
 * base for each (on a busy machine the CPU ratio is the steadier one).
 * "npm packages loaded" counts the packages the import loads from node_modules: since issue 14 the
 * bundles inline theirs, so it is the framework (and, tracing started, OpenTelemetry).
 *
 *   npm run bench:cold-start [-- --runs 7] [-- --no-build] [-- --baseline ../wt-main]
 *   (BENCH_PORT: the framework's port, else a free one)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { terraformNodeOptions } from '../scripts/deployed-node-options.ts';
import { bundleEntry } from './lib/cpu-steps.ts';
import { freePort } from './lib/hosts.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    'no-build': { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const TARGET_MS = 250;
const FORBIDDEN: Record<string, string[]> = { api: ['@google-cloud/bigquery', '@google-cloud/pubsub'] };
/** HTTP functions: their tracing starts after the first response; measured to the first answered request. */
const HTTP_FUNCTIONS = ['api'];
const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist/functions');

if (!args['no-build'] || !existsSync(dist)) {
  execFileSync(process.execPath, [join(root, 'scripts/build.ts')], { cwd: root, stdio: 'ignore' });
}

/**
 * Runs in the fresh process: records every module resolved (module.registerHooks sees both import
 * and require), imports the bundle, prints the import time and the npm packages loaded.
 */
const probe = (bundle: string) => `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.add(r.url); return r; } });
const t0 = performance.now();
const c0 = process.cpuUsage();
const mod = await import(${JSON.stringify(pathToFileURL(bundle).href)});
if (mod.tracing && ${JSON.stringify(!HTTP_FUNCTIONS.includes(basename(dirname(bundle))))}) await mod.tracing;
const ms = performance.now() - t0;
const c1 = process.cpuUsage(c0);
const cpuMs = (c1.user + c1.system) / 1000;
const packages = new Set();
for (const url of loaded) {
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(url);
  if (m) packages.add(m[1]);
}
process.stdout.write(JSON.stringify({ ms, cpuMs, packages: [...packages].sort() }));
process.exit(0);
`;

const env = {
  PATH: process.env.PATH ?? '',
  LOG_LEVEL: 'error',
  // A configuration a function starts with; nothing is connected at import time.
  DATABASE_URL: 'postgres://bench@127.0.0.1:9/none',
  METADATA_SERVER_DETECTION: 'none',
};

const baseRoot = args.baseline ? resolve(args.baseline) : undefined;
if (baseRoot)
  execFileSync(process.execPath, [join(baseRoot, 'scripts/build.ts')], { cwd: baseRoot, stdio: 'ignore' });

/**
 * What Cloud Build does in a function's folder: `npm ci` of the package-lock.json `npm run build` wrote
 * beside the bundle (the framework and the lazy clients, laid out as that lockfile says: the instances load
 * the framework's require graph from there, not from the repo's dev tree), then its `gcp-build` script when
 * it has one (the API's makes V8's code cache of its start, scripts/compile-cache/). The install is offline,
 * from npm's cache (the repo's `npm ci` filled it); without it the folder resolves packages from the
 * checkout's node_modules, as before, and the bench says so. Undone when the bench ends, so dist/ stays as
 * `npm run build` wrote it.
 */
const cloudBuilt: string[] = [];
const installNotes: string[] = [];
for (const functions of [dist, ...(baseRoot ? [join(baseRoot, 'dist/functions')] : [])]) {
  for (const name of readdirSync(functions)) {
    const dir = join(functions, name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    try {
      execFileSync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'pipe' });
      cloudBuilt.push(join(dir, 'node_modules'));
    } catch (err) {
      rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
      installNotes.push(
        `${dir}: npm ci --offline failed, packages from the checkout's node_modules (${err})`,
      );
    }
    const { scripts } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    if (!scripts?.['gcp-build']) continue;
    execFileSync(process.execPath, ['--run', 'gcp-build'], { cwd: dir, stdio: 'ignore' });
    cloudBuilt.push(join(dir, 'compile-cache'));
  }
}
process.on('exit', () => {
  for (const dir of cloudBuilt) rmSync(dir, { recursive: true, force: true });
});
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
/** The baseline's medians (and its range of wall times) beside ours: wall and CPU, and ours ÷ base for each. */
function versus(ours: { ms: number; cpuMs: number }[], base: { ms: number; cpuMs: number }[]): string {
  if (base.length === 0) return '—';
  const [ms, cpu] = [medianOf(base.map((r) => r.ms)), medianOf(base.map((r) => r.cpuMs))];
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  const range = `${Math.min(...base.map((r) => r.ms)).toFixed(0)}–${Math.max(...base.map((r) => r.ms)).toFixed(0)}`;
  return `${ms.toFixed(0)} ms (${range}; CPU ${cpu.toFixed(0)} ms); ours ÷ base ${ratio(medianOf(ours.map((r) => r.ms)), ms)}, CPU ${ratio(medianOf(ours.map((r) => r.cpuMs)), cpu)}`;
}

/** Imports a bundle in a fresh process: its import time, CPU and the npm packages it loaded. */
function importOnce(dir: string, tracing: string): { ms: number; cpuMs: number; packages: string[] } {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe(bundleEntry(dir))], {
    cwd: dir,
    // As deployed: the checkout's Terraform node_options (under which gcp-build made the shipped code cache).
    env: {
      ...env,
      NODE_OPTIONS: terraformNodeOptions(resolve(dir, '../../..'), basename(dir)),
      TRACING: tracing,
    },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { ms: number; cpuMs: number; packages: string[] };
}

const rows: string[][] = [];
let pass = true;
for (const name of readdirSync(dist).sort()) {
  if (!existsSync(join(dist, name, 'package.json'))) continue;
  const baseDir = baseRoot ? join(baseRoot, 'dist/functions', name) : undefined;
  const withBase = baseDir !== undefined && existsSync(join(baseDir, 'package.json'));
  for (const tracing of ['off', 'cloud'] as const) {
    const times: number[] = [];
    const cpu: number[] = [];
    const base: { ms: number; cpuMs: number }[] = [];
    let packages: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Alternating with the baseline, which goes first on odd runs: both see the same load.
      if (withBase && i % 2 === 1) base.push(importOnce(baseDir, tracing));
      const r = importOnce(join(dist, name), tracing);
      if (withBase && i % 2 === 0) base.push(importOnce(baseDir, tracing));
      times.push(r.ms);
      cpu.push(r.cpuMs);
      packages = r.packages;
    }
    const versusBase = versus(
      times.map((ms, i) => ({ ms, cpuMs: cpu[i]! })),
      base,
    );
    times.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    const median = times[times.length >> 1]!;
    const forbidden = (FORBIDDEN[name] ?? []).filter((p) => packages.includes(p));
    const ok = median <= TARGET_MS && forbidden.length === 0;
    pass &&= ok;
    rows.push([
      name,
      tracing,
      `${median.toFixed(0)} ms`,
      `${times[0]!.toFixed(0)}–${times[times.length - 1]!.toFixed(0)} ms`,
      `${cpu[cpu.length >> 1]!.toFixed(0)} ms`,
      String(packages.length),
      forbidden.length ? `LOADS ${forbidden.join(', ')}` : FORBIDDEN[name] ? 'no BigQuery, no Pub/Sub' : '—',
      versusBase,
      ok ? 'PASS' : 'FAIL',
    ]);
  }
}

/**
 * The first answer's configurations: TRACING off and cloud, and cloud with Upstash configured as in
 * production, where the first request also loads the Upstash client and the keep-alive agent (undici)
 * for the cache and the rate limiter. The URL answers nothing (port 9): /health sends no Redis call.
 */
const FIRST_ANSWER_CONFIGS = ['off', 'cloud', 'cloud+upstash'] as const;
const UPSTASH_ENV = { UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9', UPSTASH_REDIS_REST_TOKEN: 'bench' };

/** A port for the framework: BENCH_PORT, else one the kernel hands out. */
async function frameworkPort(): Promise<number> {
  return process.env.BENCH_PORT ? Number(process.env.BENCH_PORT) : freePort();
}

/** CPU ms a process has used so far (user + system). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * Spawns the functions framework on the built bundle and times, from the spawn, the answer to
 * `GET /health` sent as soon as the framework says it serves. The process is ended after.
 */
async function firstRequest(
  checkout: string,
  name: string,
  tracing: (typeof FIRST_ANSWER_CONFIGS)[number],
): Promise<{ ms: number; cpuMs: number }> {
  const port = await frameworkPort();
  const dist = join(checkout, 'dist/functions');
  // The framework the function's own install holds (npm ci above), else the checkout's.
  const framework = 'node_modules/@google-cloud/functions-framework/build/src/main.js';
  const main = existsSync(join(dist, name, framework))
    ? join(dist, name, framework)
    : join(checkout, framework);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [main, `--target=${name}`, '--signature-type=http', `--port=${port}`, `--source=${join(dist, name)}`],
    {
      cwd: join(dist, name),
      env: {
        ...env,
        // The flags the checkout's Terraform deploys (the API's preload), read from its folder as on Cloud Run.
        NODE_OPTIONS: terraformNodeOptions(checkout, name),
        TRACING: tracing === 'off' ? 'off' : 'cloud',
        ...(tracing === 'cloud+upstash' ? UPSTASH_ENV : {}),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    return await new Promise((resolve, reject) => {
      let out = '';
      child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before answering: ${out}`)));
      child.stdout.on('data', (data: Buffer) => {
        const before = out;
        out += data.toString();
        if (before.includes('URL:') || !out.includes('URL:')) return;
        get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
          res.resume();
          res.once('end', () => {
            const ms = performance.now() - t0;
            if (res.statusCode !== 200) reject(new Error(`GET /health answered ${res.statusCode}`));
            else resolve({ ms, cpuMs: cpuMsOf(child.pid!) });
          });
        }).once('error', reject);
      });
    });
  } finally {
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }
}

const firstRows: string[][] = [];
const rangeOf = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} ms`;
for (const name of HTTP_FUNCTIONS) {
  if (!existsSync(join(dist, name, 'package.json'))) continue;
  for (const tracing of FIRST_ANSWER_CONFIGS) {
    const ours: { ms: number; cpuMs: number }[] = [];
    const base: { ms: number; cpuMs: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Alternating, the baseline first on odd runs: both see the same load.
      if (baseRoot && i % 2 === 1) base.push(await firstRequest(baseRoot, name, tracing));
      ours.push(await firstRequest(root, name, tracing));
      if (baseRoot && i % 2 === 0) base.push(await firstRequest(baseRoot, name, tracing));
    }
    const median = medianOf(ours.map((r) => r.ms));
    const ok = median <= TARGET_MS;
    pass &&= ok;
    firstRows.push([
      name,
      tracing,
      `${median.toFixed(0)} ms`,
      rangeOf(ours.map((r) => r.ms)),
      `${medianOf(ours.map((r) => r.cpuMs)).toFixed(0)} ms`,
      versus(ours, base),
      ok ? 'PASS' : 'FAIL',
    ]);
  }
}

const header = [
  'function',
  'TRACING',
  'import (median)',
  `range of ${RUNS}`,
  'CPU (median)',
  'npm packages loaded',
  'clients check',
  'baseline (median)',
  `≤ ${TARGET_MS} ms`,
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(
  'bench:cold-start — import of each built bundle in a fresh Node process (TRACING=cloud: and its tracing started)',
);
console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
for (const note of installNotes) console.log(note);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
if (firstRows.length > 0) {
  const firstHeader = [
    'function',
    'TRACING',
    'spawn → first answer (median)',
    `range of ${RUNS}`,
    'process CPU (median)',
    'baseline (median)',
    `≤ ${TARGET_MS} ms`,
  ];
  const w = firstHeader.map((h, i) => Math.max(h.length, ...firstRows.map((r) => r[i]!.length)));
  const fline = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  console.log(
    '\nfirst answered request: `functions-framework --target=NAME` on the bundle, GET /health as soon as it serves',
  );
  console.log(fline(firstHeader));
  console.log(`|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`);
  for (const r of firstRows) console.log(fline(r));
}
console.log(pass ? 'PASS' : 'FAIL');
process.exitCode = pass ? 0 : 1;
