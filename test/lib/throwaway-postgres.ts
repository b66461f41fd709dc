/**
 * A throw-away PostgreSQL cluster this test owns, so it can stop and restart it (TESTING.md:
 * initdb + pg_ctl as the postgres user, about a second to start).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../dev/peers/processes.ts';

const BIN = '/usr/lib/postgresql/15/bin';

export interface ThrowawayPostgres {
  url: string;
  stop(): void;
  start(): void;
  destroy(): void;
}

export const canRunThrowawayPostgres = (): boolean => existsSync(join(BIN, 'initdb'));

function asPostgres(args: string[]) {
  const command = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  if (process.getuid?.() === 0)
    execFileSync('runuser', ['-u', 'postgres', '--', 'sh', '-c', command], { stdio: 'pipe' });
  else execFileSync('sh', ['-c', command], { stdio: 'pipe' });
}

/** `prepare` runs in the cluster's folder before start (as the test, with the folder's path), e.g. to write certificates. */
export async function startThrowawayPostgres(
  options: { settings?: string[]; prepare?: (dir: string) => void } = {},
): Promise<ThrowawayPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'wnm-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  asPostgres([join(BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres']);
  options.prepare?.(dir);
  const extra = (options.settings ?? []).map((s) => ` -c ${s}`).join('');
  const start = () =>
    asPostgres([
      join(BIN, 'pg_ctl'),
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -c fsync=off -k ${dir}${extra}`,
      '-w',
      'start',
    ]);
  const stop = () => asPostgres([join(BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
