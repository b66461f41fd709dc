/**
 * bench:cold-start — how long each function's built bundle takes to import in a fresh Node process
 * (median of several runs; target ≤ 250 ms), and which npm packages the import loads: the API bundle
 * must load neither the BigQuery nor the Pub/Sub client.
 *
 * Bundles come from `npm run build` (dist/functions/<name>/index.js; built now if missing).
 * Each bundle is measured with TRACING=off (the baseline: nothing of OpenTelemetry loads) and, beside
 * it, TRACING=cloud, where the import also waits for the function's tracing to start (the SDK and
 * the Cloud Trace exporter imported, the provider made), as a first request would.
 *
 *   npm run bench:cold-start [-- --runs 7] [-- --no-build]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, 'no-build': { type: 'boolean', default: false } },
});
const RUNS = Number(args.runs);
const TARGET_MS = 250;
const FORBIDDEN: Record<string, string[]> = { api: ['@google-cloud/bigquery', '@google-cloud/pubsub'] };
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
if (mod.tracing) await mod.tracing;
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

const rows: string[][] = [];
let pass = true;
for (const name of readdirSync(dist).sort()) {
  const bundle = join(dist, name, 'index.js');
  if (!existsSync(bundle)) continue;
  for (const tracing of ['off', 'cloud'] as const) {
    const times: number[] = [];
    const cpu: number[] = [];
    let packages: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe(bundle)], {
        cwd: join(dist, name),
        env: { ...env, TRACING: tracing },
        encoding: 'utf8',
      });
      const r = JSON.parse(out) as { ms: number; cpuMs: number; packages: string[] };
      times.push(r.ms);
      cpu.push(r.cpuMs);
      packages = r.packages;
    }
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
  `≤ ${TARGET_MS} ms`,
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(
  'bench:cold-start — import of each built bundle in a fresh Node process (TRACING=cloud: and its tracing started)',
);
console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log(pass ? 'PASS' : 'FAIL');
process.exitCode = pass ? 0 : 1;
