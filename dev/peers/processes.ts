/**
 * Child processes for the Google Cloud emulators, and the small network helpers to start them.
 *
 * The emulators are Java programs behind shell wrappers: each is started in its own process group
 * (detached) so that stopping it kills the wrapper and its java child together.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const SDK = '/usr/lib/google-cloud-sdk/platform';

export const EMULATOR_COMMANDS = {
  pubsub: (port: number) => [
    `${SDK}/pubsub-emulator/bin/cloud-pubsub-emulator`,
    '--host=127.0.0.1',
    `--port=${port}`,
  ],
  firestore: (port: number) => [
    `${SDK}/cloud-firestore-emulator/cloud_firestore_emulator`,
    'start',
    '--host=127.0.0.1',
    `--port=${port}`,
  ],
} as const;

export type EmulatorName = keyof typeof EMULATOR_COMMANDS;

export interface EmulatorProcess {
  /** host:port, the form PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST take. */
  host: string;
  logFile: string;
  /** Kills the whole process group (the wrapper script and its java child). */
  kill(): void;
}

/** Process groups of the emulators started by this process and still running. */
const liveGroups = new Set<number>();
let exitHooksInstalled = false;

function killGroup(pid: number): void {
  liveGroups.delete(pid);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

/**
 * Detached emulators would outlive this process: kill them when it ends, by exit or by SIGINT/SIGTERM
 * (the test runner sends SIGTERM to a test file it cancels), even while one is still starting.
 */
function killGroupsOnExit(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAll = () => {
    for (const pid of liveGroups) killGroup(pid);
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      // Keep the default behaviour (terminate) unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** A port that was free a moment ago (the kernel picks it; a race with another process is unlikely). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}

/** Polls `GET url` until it answers 2xx, or throws after `timeoutMs` naming what it waited for. */
export async function waitForHttp(
  url: string,
  what: string,
  timeoutMs: number,
  isAlive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`${what} exited before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
      lastError = `HTTP ${res.status}`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(200);
  }
  throw new Error(`${what} not ready at ${url} after ${timeoutMs} ms (${lastError})`);
}

/**
 * Starts an emulator on a free loopback port and waits until it answers HTTP.
 * The child is unref'd: it never keeps the starting process alive, and the caller must kill() it.
 */
export async function startEmulator(name: EmulatorName, timeoutMs = 60_000): Promise<EmulatorProcess> {
  const port = await freePort();
  const [command, ...args] = EMULATOR_COMMANDS[name](port);
  const logFile = join(tmpdir(), `wnm-${name}-emulator-${process.pid}-${port}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(command!, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  const pid = child.pid;
  if (pid !== undefined) {
    liveGroups.add(pid);
    killGroupsOnExit();
  }
  let exited = false;
  let spawnError: Error | undefined;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', (error) => {
    spawnError = error;
    exited = true;
  });
  const kill = () => {
    if (pid !== undefined) killGroup(pid);
  };
  const host = `127.0.0.1:${port}`;
  try {
    await waitForHttp(`http://${host}/`, `the ${name} emulator`, timeoutMs, () => !exited);
  } catch (error) {
    kill();
    const reason = spawnError ? `${spawnError.message}; ` : '';
    throw new Error(`${reason}${(error as Error).message} (log: ${logFile})`);
  }
  return { host, logFile, kill };
}

/** Checks that an emulator someone else started answers at host:port. */
export async function probeEmulator(name: EmulatorName, host: string): Promise<void> {
  await waitForHttp(`http://${host}/`, `the ${name} emulator`, 5000);
}
