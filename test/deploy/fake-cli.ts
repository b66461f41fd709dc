/**
 * A recording fake of `gcloud`, `terraform` and `curl` for the deploy command's tests, installed on PATH
 * as three shims that run this file. It appends every call to FAKE_LOG (one JSON line: the program, its
 * arguments, which TF_VAR_ variables it saw) and keeps what "exists" in FAKE_STATE, so a second run finds
 * everything in place. FAKE_FAIL=substring makes the calls whose command line contains it fail.
 *
 * The first-admin-key job seals a fresh key to the public key it is given, like the real job, and
 * remembers only the key's hash.
 */
import { constants, createHash, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What shared/ops/first-admin-key.ts's sealTo does (not imported: each fake call must start fast). */
const sealTo = (publicKeyDer: string, secret: string) =>
  publicEncrypt(
    {
      key: createPublicKey({ key: Buffer.from(publicKeyDer, 'base64url'), format: 'der', type: 'spki' }),
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: 'sha256',
    },
    Buffer.from(secret),
  ).toString('base64url');

interface Revision {
  latestCreated: string;
  latestReady: string;
  traffic: { revisionName?: string; percent: number; latestRevision?: boolean; tag?: string; url?: string }[];
}

interface State {
  services: string[];
  buckets: Record<string, { versioning: boolean }>;
  repositories: string[];
  images: string[];
  applied?: string;
  revisions: Record<string, Revision>;
  executions: number;
  adminKeyHash?: string;
  adminKeyId?: string;
  logs: Record<string, Record<string, unknown>>;
}

const [program, ...args] = process.argv.slice(2) as [string, ...string[]];
const statePath = process.env.FAKE_STATE!;
const state: State = existsSync(statePath)
  ? JSON.parse(readFileSync(statePath, 'utf8'))
  : { services: [], buckets: {}, repositories: [], images: [], revisions: {}, executions: 0, logs: {} };
const tfVars = Object.keys(process.env)
  .filter((k) => k.startsWith('TF_VAR_'))
  .sort();
appendFileSync(process.env.FAKE_LOG!, `${JSON.stringify({ program, args, tfVars })}\n`);

const line = [program, ...args].join(' ');
const fail = process.env.FAKE_FAIL;
const save = () => writeFileSync(statePath, JSON.stringify(state));
const finish = (code: number, stdout = '', stderr = '') => {
  save();
  process.stdout.write(stdout);
  process.stderr.write(stderr);
  process.exit(code);
};
if (fail && line.includes(fail)) finish(1, '', `injected failure: ${fail}\n`);

const flag = (name: string) => {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.slice(name.length + 1) : args[i + 1];
};
const has = (...words: string[]) => words.every((w, i) => args[i] === w);
const FUNCTIONS = ['wnm-aggregator', 'wnm-api', 'wnm-dispatcher'];

if (program === 'gcloud') {
  if (has('services', 'list')) finish(0, state.services.join('\n'));
  if (has('services', 'enable')) {
    state.services.push(...args.slice(2).filter((a) => a.endsWith('.googleapis.com')));
    finish(0);
  }
  if (has('storage', 'buckets', 'describe')) finish(state.buckets[args[3]!] ? 0 : 1, '', 'not found');
  if (has('storage', 'buckets', 'create')) {
    state.buckets[args[3]!] = { versioning: false };
    finish(0);
  }
  if (has('storage', 'buckets', 'update')) {
    state.buckets[args[3]!]!.versioning = args.includes('--versioning');
    finish(0);
  }
  if (has('artifacts', 'repositories', 'describe')) finish(state.repositories.includes(args[3]!) ? 0 : 1);
  if (has('artifacts', 'repositories', 'create')) {
    state.repositories.push(args[3]!);
    finish(0);
  }
  if (has('artifacts', 'docker', 'images', 'describe')) finish(state.images.includes(args[4]!) ? 0 : 1);
  if (has('builds', 'submit')) {
    state.images.push(flag('--tag')!);
    finish(0);
  }
  if (has('run', 'jobs', 'execute')) {
    const job = args[3]!;
    const execution = `${job}-${String(++state.executions).padStart(4, '0')}`;
    const jobArgs = flag('--args')?.split(',') ?? [];
    if (job === 'wnm-first-admin-key') {
      const publicKey = jobArgs.find((a) => a.startsWith('--public-key='))!.slice('--public-key='.length);
      if (state.adminKeyHash) {
        state.logs[execution] = { event: 'ops.first_admin_key', created: false, keyId: state.adminKeyId };
      } else {
        const id = randomBytes(5).toString('hex');
        const token = `wnm_${id}_${randomBytes(32).toString('base64url')}`;
        state.adminKeyId = id;
        state.adminKeyHash = createHash('sha256').update(token).digest('hex');
        state.logs[execution] = {
          event: 'ops.first_admin_key',
          created: true,
          keyId: id,
          sealedToken: sealTo(publicKey, token),
        };
      }
    }
    finish(0, `${execution}\n`);
  }
  if (has('logging', 'read')) {
    const execution = /execution_name"="([^"]+)"/.exec(args[2]!)?.[1];
    const payload = execution ? state.logs[execution] : undefined;
    finish(0, JSON.stringify(payload ? [{ jsonPayload: payload }] : []));
  }
  if (has('run', 'services', 'describe')) {
    const r = state.revisions[args[3]!];
    if (!r) finish(1, '', 'service not found');
    finish(
      0,
      JSON.stringify({
        status: {
          latestCreatedRevisionName: r!.latestCreated,
          latestReadyRevisionName: r!.latestReady,
          traffic: r!.traffic,
        },
      }),
    );
  }
  if (has('run', 'services', 'update-traffic')) {
    const r = state.revisions[args[3]!]!;
    const tag = flag('--set-tags');
    if (tag) {
      const [name, revision] = tag.split('=') as [string, string];
      r.traffic.push({
        revisionName: revision,
        percent: 0,
        tag: name,
        url: `https://${name}---${args[3]}.run.app`,
      });
    }
    const to = flag('--to-revisions');
    if (to) r.traffic = [{ revisionName: to.split('=')[0]!, percent: 100 }];
    finish(0);
  }
  finish(2, '', `fake gcloud: unexpected ${line}\n`);
}

if (program === 'terraform') {
  const sub = args.find((a) => !a.startsWith('-'));
  const desired = JSON.stringify(args.filter((a) => a.startsWith('-var=')));
  if (sub === 'init') finish(0);
  if (sub === 'plan') {
    if (state.applied === desired) finish(0, 'No changes.');
    writeFileSync(join(process.env.FAKE_DIR!, 'tfplan'), desired);
    finish(2, 'Plan: 40 to add.');
  }
  if (sub === 'apply') {
    if (args.at(-1) !== 'tfplan') finish(1, '', 'fake terraform: apply only a saved plan');
    state.applied = readFileSync(join(process.env.FAKE_DIR!, 'tfplan'), 'utf8');
    for (const service of FUNCTIONS) {
      const previous = state.revisions[service];
      const n = previous ? Number(previous.latestCreated.split('-').at(-1)) + 1 : 1;
      const revision = `${service}-${String(n).padStart(5, '0')}`;
      // A new service routes to its latest revision; later revisions get no traffic (all_traffic_on_latest_revision = false).
      state.revisions[service] = {
        latestCreated: revision,
        latestReady: revision,
        traffic: previous?.traffic ?? [{ percent: 100, latestRevision: true, revisionName: revision }],
      };
    }
    finish(0, 'Apply complete!');
  }
  if (sub === 'output') {
    const value = (v: unknown) => ({ value: v });
    finish(
      0,
      JSON.stringify({
        api_url: value('https://wnm-api.run.app'),
        dashboard_url: value('https://console.cloud.google.com/monitoring/dashboards/builder/1'),
        function_names: value({ aggregator: 'wnm-aggregator', api: 'wnm-api', dispatcher: 'wnm-dispatcher' }),
        ops_jobs: value({ migrate: 'wnm-migrate', 'first-admin-key': 'wnm-first-admin-key' }),
        scheduler_jobs: value({ cycle: 'wnm-cycle', maintenance: 'wnm-maintenance' }),
      }),
    );
  }
  finish(2, '', `fake terraform: unexpected ${line}\n`);
}

if (program === 'curl') finish(0, '{"status":"ok"}');
if (program === 'npm') finish(0);
finish(2, '', `fake: unexpected program ${program}\n`);
