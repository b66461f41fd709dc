/**
 * The servers bench:api runs, each in its own process pinned to core 0, and the CPU they use:
 * - **in the functions framework**, as Cloud Run runs a function: the framework's own entry point
 *   (`functions-framework`, build/src/main.js) with FUNCTION_TARGET / FUNCTION_SOURCE / PORT /
 *   K_SERVICE / NODE_ENV=production in the environment, serving a source folder or file — for the API
 *   the built bundle `npm run build` writes to dist/functions/api, exactly what Terraform deploys;
 * - **on @hono/node-server** (a script that reports its port over IPC): the bare baseline and the
 *   in-process row.
 * CPU time is read from /proc/PID/stat (user + system, clock ticks), the same way for both hosts.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export interface Host {
  name: string;
  port: number;
  pid: number;
  child: ChildProcess;
}

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** CPU time (µs, user + system) the process has used so far. */
export function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** A free loopback port (the bench takes no fixed port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const nodeArgs = (profileDir?: string) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);

/** The functions framework's entry point (its `functions-framework` bin, what Cloud Run starts). */
export const FRAMEWORK_MAIN = join(
  dirname(createRequire(import.meta.url).resolve('@google-cloud/functions-framework')),
  'main.js',
);

/**
 * Serves `source` (a folder with a package.json, or a file) as the HTTP function `target` in the
 * functions framework's own server on core 0, and waits until it answers `readyPath`.
 */
export async function startInFramework(
  name: string,
  opts: {
    source: string;
    target: string;
    env: Record<string, string>;
    readyPath: string;
    profileDir?: string | undefined;
    /** The working directory (Cloud Run's is the function's folder, /workspace; default: this process's). */
    cwd?: string | undefined;
  },
  children: ChildProcess[],
): Promise<Host> {
  const port = await freePort();
  const child = spawn(
    'taskset',
    ['-c', '0', process.execPath, ...nodeArgs(opts.profileDir), FRAMEWORK_MAIN],
    {
      cwd: opts.cwd,
      env: {
        ...process.env,
        ...opts.env,
        // What Cloud Run sets for a function (the buildpack runs the framework with NODE_ENV=production).
        PORT: String(port),
        FUNCTION_TARGET: opts.target,
        FUNCTION_SOURCE: opts.source,
        FUNCTION_SIGNATURE_TYPE: 'http',
        K_SERVICE: opts.target,
        NODE_ENV: 'production',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.push(child);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  for (let i = 0; ; i++) {
    if (exited !== undefined) throw new Error(`${name}: the functions framework exited with ${exited}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}${opts.readyPath}`);
      await res.arrayBuffer();
      break;
    } catch {
      if (i > 600) throw new Error(`${name}: not serving on ${port} after 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { name, port, pid: child.pid!, child };
}

/** Starts a @hono/node-server script on core 0; it reports its port over IPC. */
export function startOnNodeServer(
  name: string,
  script: string,
  argv: string[],
  env: Record<string, string>,
  children: ChildProcess[],
  profileDir?: string,
): Promise<Host> {
  const child = spawn('taskset', ['-c', '0', process.execPath, ...nodeArgs(profileDir), script, ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(child);
  return new Promise<Host>((resolve, reject) => {
    child.once('message', (m) =>
      resolve({ name, port: (m as { port: number }).port, pid: child.pid!, child }),
    );
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}
