/**
 * A newcomer's first `npm start`: the real command in its own process, on its embedded defaults
 * (PGlite over the wire protocol, in-process bus, coordination and cache, the simulator) — no peer
 * of the test harness is handed to it. It must backfill, print a working key and URLs, answer them,
 * run the statements the cycle prepares on the embedded server, and stop cleanly on Ctrl-C.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The environment of a fresh shell: nothing that would point the local run at the test peers. */
function newcomerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      /^(DATABASE_URL|PG_|UPSTASH_|REDIS_|FIRESTORE_|PUBSUB_|BUS_|COORDINATION_|GOOGLE_|BIGQUERY_|READINGS_|TEST_|WNM_)/.test(
        k,
      )
    )
      continue;
    env[k] = v;
  }
  return { ...env, LOG_LEVEL: 'warning', METADATA_SERVER_DETECTION: 'none' };
}

describe('npm start on embedded defaults', () => {
  let child: ChildProcess;
  let output = '';
  let dataDir: string;
  let base: string;
  let token: string;
  let example: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'wnm-start-'));
    const port = await freePort();
    child = spawn(
      process.execPath,
      [
        'scripts/start.ts',
        '--days',
        '1',
        '--nodes',
        '12',
        '--port',
        String(port),
        '--data-dir',
        join(dataDir, 'pglite'),
      ],
      { cwd: ROOT, env: newcomerEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    // Ready when it prints the URLs to try (the backfill ran first), or failed when it exits.
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (/▸ ready in [\d.]+ s/.test(output) && /\/docs/.test(output)) resolve();
      };
      child.stdout!.on('data', check);
      child.on('exit', (code) =>
        reject(new Error(`npm start exited (${code}) before it was ready:\n${output}`)),
      );
    });
    base = `http://localhost:${port}`;
    token = /Bearer (wnm_[\w-]+)/.exec(output)?.[1] ?? '';
    example = new RegExp(`${base}/api/v1/nodes/([^/\\s]+)/metrics`).exec(output)?.[1] ?? '';
  });

  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('prints a development key and an example node', () => {
    assert.match(token, /^wnm_/, output);
    assert.notEqual(example, '', output);
    assert.notEqual(example, 'NODE', 'the backfill stored no nodes');
  });

  test('answers the URLs it printed, from what the backfill stored', async () => {
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    const auth = { headers: { Authorization: `Bearer ${token}` } };
    const nodes = await fetch(`${base}/api/v1/nodes`, auth);
    assert.equal(nodes.status, 200);
    const list = (await nodes.json()) as { data: { id: string }[] };
    assert.equal(list.data.length, 12);
    const metrics = await fetch(`${base}/api/v1/nodes/${example}/metrics?range=24h`, auth);
    assert.equal(metrics.status, 200, await metrics.clone().text());
    const body = (await metrics.json()) as { nodeId: string; metrics: Record<string, { count: number }> };
    assert.equal(body.nodeId, example);
    assert.ok(
      Object.values(body.metrics).some((m) => m.count > 0),
      JSON.stringify(body),
    );
    const status = await fetch(`${base}/api/v1/status`, auth);
    assert.equal(status.status, 200);
    const runs = ((await status.json()) as { runs: { status: string }[] }).runs;
    assert.ok(runs.length > 0 && runs.every((r) => r.status === 'done'), JSON.stringify(runs));
  });

  test('stops cleanly on Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    assert.equal(await exited, 0, output);
    assert.match(output, /stopping/);
  });
});
