/**
 * `npm run backfill -- --cloud` against the recording fake of gcloud (fake-cli.ts): it executes the
 * backfill job with N tasks and the range as the job's arguments, and a failed execution says to rerun.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { backfillCli } from '../../scripts/backfill.ts';

const FAKE = fileURLToPath(new URL('./fake-cli.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wnm-backfill-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(dir, 'bin');
mkdirSync(bin);
writeFileSync(join(bin, 'gcloud'), `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" gcloud "$@"\n`);
chmodSync(join(bin, 'gcloud'), 0o755);
const env = {
  PATH: `${bin}:/usr/bin:/bin`,
  FAKE_STATE: join(dir, 'state.json'),
  FAKE_LOG: join(dir, 'calls.jsonl'),
};
const calls = () =>
  readFileSync(env.FAKE_LOG, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { program: string; args: string[] });

test('--cloud executes the job once with N tasks, each task a shard of the same range', async () => {
  writeFileSync(env.FAKE_LOG, '');
  const out: string[] = [];
  const code = await backfillCli(
    ['--from', '2025-06-01', '--to', '2026-06-01', '--tasks', '20', '--cloud', '--project', 'water-demo-1'],
    { env, out: (l) => out.push(l) },
  );
  assert.equal(code, 0, out.join('\n'));
  assert.deepEqual(calls(), [
    {
      program: 'gcloud',
      args: [
        'run',
        'jobs',
        'execute',
        'wnm-backfill',
        '--project',
        'water-demo-1',
        '--region',
        'europe-west1',
        '--tasks',
        '20',
        '--args=backfill,--from=2025-06-01T00:00:00.000Z,--to=2026-06-01T00:00:00.000Z',
        '--wait',
        '--format=value(metadata.name)',
      ],
      tfVars: [],
    },
  ]);
  assert.match(out.at(-1)!, /execution wnm-backfill-0001 finished: 20 task\(s\)/);
});

test('a failed execution exits 1 and says the rerun resumes', async () => {
  writeFileSync(env.FAKE_LOG, '');
  const out: string[] = [];
  const code = await backfillCli(
    [
      '--from',
      '2025-06-01',
      '--to',
      '2026-06-01',
      '--tasks',
      '4',
      '--cloud',
      '--project',
      'p',
      '--job',
      'x-backfill',
    ],
    { env: { ...env, FAKE_FAIL: 'x-backfill' }, out: (l) => out.push(l) },
  );
  assert.equal(code, 1);
  assert.equal(calls()[0]?.args[3], 'x-backfill');
  assert.match(out.join('\n'), /injected failure/);
  assert.match(out.join('\n'), /rerun the same command/);
});

test('bad input is refused before anything runs', async () => {
  writeFileSync(env.FAKE_LOG, '');
  const out: string[] = [];
  assert.equal(
    await backfillCli(['--from', '2026-06-01', '--to', '2025-06-01'], { env, out: (l) => out.push(l) }),
    2,
  );
  assert.equal(
    await backfillCli(['--from', '2025-06-01', '--to', '2026-06-01', '--tasks', '0'], {
      env,
      out: (l) => out.push(l),
    }),
    2,
  );
  assert.equal(
    await backfillCli(['--from', '2025-06-01', '--to', '2026-06-01', '--cloud'], {
      env,
      out: (l) => out.push(l),
    }),
    2,
  );
  assert.deepEqual(calls(), []);
  assert.match(out.join('\n'), /--to after/);
  assert.match(out.join('\n'), /--tasks must be/);
  assert.match(out.join('\n'), /--cloud needs --project/);
});
