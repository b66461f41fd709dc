/**
 * Load generators for bench:api. h2load (Debian's nghttp2-client, C, one thread) is the default: it
 * is not the bottleneck (it drives a bare Hono server at ~30,000 req/s on one core, with CPU to
 * spare). Without it, autocannon in this process — which saturates before the servers do, so the
 * ratios it yields are compressed (the bench says so). Latency percentiles come from h2load's
 * per-request log.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Answers per status code other than 200 (h2load only). */
  statuses?: Record<string, number>;
  /** CPU time of the load generator per request, µs (h2load only). */
  generatorCpuUs?: number;
  /** Share of one core the generator used over the run, warm-up included (h2load only). */
  generatorBusy?: number;
}

export interface LoadSpec {
  port: number;
  /** Paths, requested in turn (shuffled by the caller). */
  paths: string[];
  headers: Record<string, string>;
  connections: number;
  durationS: number;
  /** Core the generator runs on (taskset). */
  core: string;
  scratch: string;
}

export function h2loadAvailable(): boolean {
  try {
    execFileSync('h2load', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

export async function runH2load(spec: LoadSpec): Promise<LoadResult> {
  const uris = join(spec.scratch, `uris-${spec.port}.txt`);
  const log = join(spec.scratch, `h2load-${spec.port}.log`);
  writeFileSync(uris, spec.paths.map((p) => `http://127.0.0.1:${spec.port}${p}`).join('\n'));
  const args = [
    '-c',
    spec.core,
    'h2load',
    '--h1',
    '-t',
    '1',
    '-c',
    String(spec.connections),
    '-D',
    String(spec.durationS),
    '--warm-up-time=1',
    `--log-file=${log}`,
    '-i',
    uris,
    ...Object.entries(spec.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
  ];
  // bash's `times` prints the CPU its children used: the generator's own CPU per request.
  const script = 'taskset "$@"; rc=$?; echo CPU; times; exit $rc';
  const child = spawn('bash', ['-c', script, 'bash', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`h2load exited with ${code}: ${out.slice(-500)}`));
      else resolve();
    });
  });
  // `times` prints the shell's own line, then its children's.
  const cpu = /CPU\n.*\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(out);
  const generatorCpuS = cpu ? 60 * Number(cpu[1]) + Number(cpu[2]) + 60 * Number(cpu[3]) + Number(cpu[4]) : 0;
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const rps = num(/finished in [\d.]+s, ([\d.]+) req\/s/);
  const done = num(/requests: \d+ total, \d+ started, (\d+) done/);
  const failed = num(/(\d+) failed/);
  const errored = num(/(\d+) errored/);
  const timeouts = num(/(\d+) timeout/);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const non2xx = codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : Number.NaN;
  // The log: start time (µs), status, duration (µs), one request per line.
  const lines = readFileSync(log, 'utf8').split('\n');
  const durations = new Float64Array(lines.length);
  let n = 0;
  const statuses: Record<string, number> = {};
  for (const line of lines) {
    const cols = line.split('\t');
    if (cols.length < 3) continue;
    durations[n++] = Number(cols[2]) / 1000;
    if (cols[1] !== '200') statuses[cols[1]!] = (statuses[cols[1]!] ?? 0) + 1;
  }
  const sorted = durations.subarray(0, n).sort();
  rmSync(log, { force: true });
  return {
    rps,
    requests: done,
    p50: round(percentile(sorted, 0.5)),
    p99: round(percentile(sorted, 0.99)),
    errors: errored + timeouts + (failed - non2xx > 0 ? failed - non2xx : 0),
    non2xx,
    statuses,
    generatorCpuUs: (generatorCpuS * 1e6) / Math.max(1, done),
    generatorBusy: generatorCpuS / (spec.durationS + 1),
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The fallback: autocannon in this process. */
export async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  let i = 0;
  const r = await autocannon({
    url: `http://127.0.0.1:${spec.port}`,
    connections: spec.connections,
    duration: spec.durationS,
    requests: [
      {
        method: 'GET',
        headers: spec.headers,
        setupRequest: (req) => ({ ...req, path: spec.paths[i++ % spec.paths.length]! }),
      },
    ],
  });
  return {
    rps: r.requests.average,
    requests: r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}
