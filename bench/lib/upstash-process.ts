/**
 * The Upstash-protocol harness (dev/peers/upstash-server.ts) in a process of its own, as Upstash is a
 * server of its own: in the bench's process it shared one event loop with the load (the miss mode's
 * clients, h2load's bookkeeping, the table), so a busy bench showed up as Redis latency in the API's
 * Server-Timing. With a long keep-alive like Upstash's own.
 *
 * As a script (the child): starts the server and answers `stats` messages. As a module: `startUpstashProcess`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startUpstashServer } from '../../dev/peers/upstash-server.ts';

interface Stats {
  connectionsAccepted: number;
  requestsServed: number;
}

export interface UpstashProcess {
  url: string;
  token: string;
  pid: number;
  /** Connections accepted and requests answered so far. */
  stats(): Promise<Stats>;
  close(): Promise<void>;
}

/** Starts the harness in a child process (pinned to `core` when given) over the real Redis at `redisUrl`. */
export async function startUpstashProcess(redisUrl: string, core?: string): Promise<UpstashProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [redisUrl], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const { url, token } = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; token: string }));
    child.once('exit', (code) => reject(new Error(`the Upstash harness exited with ${code}`)));
  });
  if (core) {
    const { execFileSync } = await import('node:child_process');
    execFileSync('taskset', ['-cp', core, String(child.pid)], { stdio: 'ignore' });
  }
  return {
    url,
    token,
    pid: child.pid!,
    stats: () =>
      new Promise<Stats>((resolve) => {
        child.once('message', (m) => resolve(m as Stats));
        child.send('stats');
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

if (import.meta.main) {
  const server = await startUpstashServer({ redisUrl: process.argv[2]!, keepAliveTimeoutMs: 60_000 });
  process.send?.({ url: server.url, token: server.token });
  process.on('message', (m) => {
    if (m === 'stats') {
      process.send?.({
        connectionsAccepted: server.connectionsAccepted,
        requestsServed: server.requestsServed,
      });
    }
  });
  process.on('SIGTERM', () => {
    void server.close().finally(() => process.exit(0));
  });
}
