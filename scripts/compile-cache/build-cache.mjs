/**
 * `npm run gcp-build` in the API function's folder (Cloud Build runs it after `npm ci`, in the folder
 * and on the Node the instances run): starts the function once as Cloud Run would
 * (`functions-framework --target=api`) with Node's compile cache on, answers one GET /health (then
 * GET /openapi.json, which loads every route module), stops it, and leaves V8's code cache of what
 * that loaded in ./compile-cache for start.mjs.
 * It runs with the NODE_OPTIONS the instances get (package.json's `config.nodeOptions`, which `npm run build`
 * takes from Terraform's node_options default): a deployment that overrides them starts without the cache.
 * The start needs no database or Redis (connections open on use); placeholder settings stand in for
 * the instance's. A failure leaves no cache and does not fail the deployment: the function then
 * starts as it would without one.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nodeOptions = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).config?.nodeOptions ?? '';
const cacheDir = join(here, 'compile-cache');
const TIMEOUT_MS = 60_000;

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function build() {
  rmSync(cacheDir, { recursive: true, force: true });
  const port = await freePort();
  // The framework's own entry (its package bin), as installed for this folder.
  const main = fileURLToPath(new URL('./main.js', import.meta.resolve('@google-cloud/functions-framework')));
  const child = spawn(process.execPath, [main, '--target=api', '--signature-type=http', `--port=${port}`], {
    cwd: here,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? here,
      NODE_COMPILE_CACHE: cacheDir,
      // The flags the instances run with (package.json's config.nodeOptions, from Terraform's node_options):
      // V8's cache tag depends on them (heap sizes too), and a cache made under other flags is not used.
      NODE_OPTIONS: nodeOptions,
      TRACING: 'off',
      LOG_LEVEL: 'error',
      METADATA_SERVER_DETECTION: 'none',
      // Placeholders: nothing connects before a request needs it, and /health needs neither.
      DATABASE_URL: 'postgres://build@127.0.0.1:1/build',
      UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:1',
      UPSTASH_REDIS_REST_TOKEN: 'build',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
  try {
    await new Promise((resolve, reject) => {
      let out = '';
      child.once('exit', (code) => reject(new Error(`the function exited (${code}) before answering`)));
      child.stdout.on('data', (data) => {
        if (out.includes('URL:')) return;
        out += data.toString();
        if (!out.includes('URL:')) return;
        get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
          res.resume();
          res.once('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`GET /health answered ${res.statusCode}`));
            // The document imports every route module (loaded on first use): their code is cached too.
            // Best effort: the cache of /health's start stands whatever this answers.
            get({ host: '127.0.0.1', port, path: '/openapi.json', agent: false }, (doc) => {
              doc.resume();
              doc.once('end', resolve);
            }).once('error', () => resolve());
          });
        }).once('error', reject);
      });
    });
  } finally {
    // The framework exits on SIGTERM; Node writes the cache as the process exits.
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    clearTimeout(timer);
  }
}

try {
  await build();
  console.log(`compile cache written to ${cacheDir}`);
} catch (err) {
  rmSync(cacheDir, { recursive: true, force: true });
  console.warn(
    `no compile cache (the function starts without one): ${err instanceof Error ? err.message : err}`,
  );
}
