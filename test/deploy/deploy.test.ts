/**
 * `npm run deploy` against a recording fake of gcloud, terraform, curl and npm on PATH (fake-cli.ts):
 * the exact sequence on an empty project, a second run that changes nothing, a failure halfway that
 * says where and how to resume (and moves no traffic), and --dry-run printing every command it would run.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BOOTSTRAP_APIS } from '../../scripts/deploy/steps.ts';
import { deploy } from '../../scripts/deploy.ts';

const FAKE = fileURLToPath(new URL('./fake-cli.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'wnm-deploy-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Call {
  program: string;
  args: string[];
  tfVars: string[];
}

/** A fresh fake project: a bin folder of shims, the state and log files, a repo with dist/jobs/ops. */
function fakeProject(name: string) {
  const dir = join(root, name);
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(dir, 'repo/dist/jobs/ops'), { recursive: true });
  writeFileSync(join(dir, 'repo/dist/jobs/ops/index.js'), 'console.log("ops")\n');
  for (const program of ['gcloud', 'terraform', 'curl', 'npm']) {
    writeFileSync(join(bin, program), `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" ${program} "$@"\n`);
    chmodSync(join(bin, program), 0o755);
  }
  const env = {
    PATH: `${bin}:/usr/bin:/bin`,
    FAKE_STATE: join(dir, 'state.json'),
    FAKE_LOG: join(dir, 'calls.jsonl'),
    FAKE_DIR: dir,
    TF_VAR_upstash_redis_rest_url: 'https://eu1-example.upstash.io',
    TF_VAR_upstash_redis_rest_token: 'secret-upstash-token-0123456789',
  };
  const calls = (): Call[] => {
    try {
      return readFileSync(env.FAKE_LOG, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Call);
    } catch {
      return [];
    }
  };
  const run = async (extra: string[] = [], more: Record<string, string> = {}) => {
    writeFileSync(env.FAKE_LOG, '');
    const lines: string[] = [];
    const code = await deploy(['--project', 'water-demo-1', '--region', 'europe-west1', ...extra], {
      env: { ...env, ...more },
      out: (l) => lines.push(l),
      cwd: join(dir, 'repo'),
    });
    return { code, output: lines.join('\n'), calls: calls() };
  };
  return { run, env };
}

/** A call as one line, with what varies between runs (hashes, keys, execution numbers) normalised. */
const shape = (c: Call) =>
  [c.program, ...c.args]
    .join(' ')
    .replace(/ops:[0-9a-f]{20}/g, 'ops:HASH')
    .replace(/--public-key=[\w-]+/g, '--public-key=KEY')
    .replace(/execution_name"="[\w-]+"/g, 'execution_name"="EXEC"')
    .replace(/-\d{5}/g, '-REV');

const MUTATING =
  /services enable|buckets (create|update)|repositories create|builds submit|terraform -chdir=terraform apply|update-traffic/;

describe('npm run deploy', () => {
  const project = fakeProject('fresh');
  let adminKey = '';

  test('on an empty project: the exact sequence, the saved plan applied, traffic only after migrate and smoke test', async () => {
    const { code, output, calls } = await project.run();
    assert.equal(code, 0, output);
    const P = '--project water-demo-1';
    assert.deepEqual(calls.map(shape), [
      `gcloud services list --enabled --format=value(config.name) ${P}`,
      `gcloud services enable ${BOOTSTRAP_APIS.join(' ')} ${P}`,
      `gcloud storage buckets describe gs://water-demo-1-tfstate --format=value(name) ${P}`,
      `gcloud storage buckets create gs://water-demo-1-tfstate --location europe-west1 --uniform-bucket-level-access --public-access-prevention ${P}`,
      `gcloud storage buckets update gs://water-demo-1-tfstate --versioning ${P}`,
      'npm run build',
      `gcloud artifacts repositories describe wnm-ops --location europe-west1 --format=value(name) ${P}`,
      `gcloud artifacts repositories create wnm-ops --repository-format=docker --location europe-west1 ${P}`,
      `gcloud artifacts docker images describe europe-west1-docker.pkg.dev/water-demo-1/wnm-ops/ops:HASH --format=value(image_summary.digest) ${P}`,
      `gcloud builds submit dist/jobs/ops --tag europe-west1-docker.pkg.dev/water-demo-1/wnm-ops/ops:HASH --region europe-west1 ${P}`,
      'terraform -chdir=terraform init -input=false -backend-config=bucket=water-demo-1-tfstate',
      'terraform -chdir=terraform plan -input=false -lock-timeout=5m -detailed-exitcode -out=tfplan -var=project_id=water-demo-1 -var=region=europe-west1 -var=name_prefix=wnm -var=ops_image=europe-west1-docker.pkg.dev/water-demo-1/wnm-ops/ops:HASH',
      'terraform -chdir=terraform apply -input=false -lock-timeout=5m tfplan',
      'terraform -chdir=terraform output -json',
      `gcloud run jobs execute wnm-migrate --region europe-west1 --wait --format=value(metadata.name) ${P}`,
      `gcloud run jobs execute wnm-first-admin-key --region europe-west1 --wait --args=first-admin-key,--public-key=KEY --format=value(metadata.name) ${P}`,
      `gcloud logging read resource.type="cloud_run_job" AND resource.labels.job_name="wnm-first-admin-key" AND labels."run.googleapis.com/execution_name"="EXEC" AND jsonPayload.event="ops.first_admin_key" --freshness=1h --limit=1 --format=json ${P}`,
      `gcloud run services describe wnm-aggregator --region europe-west1 --format=json ${P}`,
      `gcloud run services update-traffic wnm-aggregator --region europe-west1 --to-revisions=wnm-aggregator-REV=100 ${P}`,
      `gcloud run services describe wnm-dispatcher --region europe-west1 --format=json ${P}`,
      `gcloud run services update-traffic wnm-dispatcher --region europe-west1 --to-revisions=wnm-dispatcher-REV=100 ${P}`,
      `gcloud run services describe wnm-api --region europe-west1 --format=json ${P}`,
      `gcloud run services update-traffic wnm-api --region europe-west1 --set-tags=candidate=wnm-api-REV ${P}`,
      `gcloud run services describe wnm-api --region europe-west1 --format=json ${P}`,
      'curl -fsS --max-time 20 --retry 3 --retry-all-errors https://candidate---wnm-api.run.app/health',
      'curl -fsS --max-time 20 --retry 3 --retry-all-errors -H @- https://candidate---wnm-api.run.app/api/v1/nodes?limit=1',
      `gcloud run services update-traffic wnm-api --region europe-west1 --to-revisions=wnm-api-REV=100 --remove-tags=candidate ${P}`,
      'curl -fsS --max-time 20 --retry 3 --retry-all-errors https://wnm-api.run.app/health',
    ]);
    // Terraform gets the Upstash secrets from its environment, never as -var arguments.
    const tf = calls.filter((c) => c.program === 'terraform' && c.args.includes('plan'));
    assert.deepEqual(tf[0]!.tfVars, ['TF_VAR_upstash_redis_rest_token', 'TF_VAR_upstash_redis_rest_url']);
    assert.ok(!JSON.stringify(calls).includes('secret-upstash-token'));
    assert.ok(!output.includes('secret-upstash-token'));

    // The admin key is printed once, opened from what the job sealed, and was on no command line.
    const printed = output.match(/wnm_[0-9a-f]{10}_[\w-]{43}/g) ?? [];
    assert.equal(printed.length, 1);
    adminKey = printed[0]!;
    assert.ok(!JSON.stringify(calls).includes(adminKey));
    assert.ok(
      !readFileSync(project.env.FAKE_STATE, 'utf8').includes(adminKey),
      'the key is stored nowhere in plain text',
    );
    assert.match(output, /API {10}https:\/\/wnm-api\.run\.app/);
  });

  test('a second run changes nothing: no create, no apply, no traffic move, no new key', async () => {
    const { code, output, calls } = await project.run();
    assert.equal(code, 0, output);
    assert.deepEqual(
      calls.map(shape).filter((c) => MUTATING.test(c)),
      [],
    );
    assert.match(output, /the plan changes nothing: not applied/);
    assert.ok(!output.includes(adminKey));
    assert.match(output, /exists already; it is not shown again/);
    // The migrate job still runs (it applies nothing when the schema is current): a resumed deploy needs it.
    assert.ok(calls.some((c) => shape(c).includes('jobs execute wnm-migrate')));
  });

  test('a failed migration stops before any traffic moves, says where, and a resume finishes the job', async () => {
    const broken = fakeProject('broken');
    const failed = await broken.run([], { FAKE_FAIL: 'jobs execute wnm-migrate' });
    assert.equal(failed.code, 1);
    assert.match(failed.output, /✖ step migrate failed: .*injected failure/s);
    assert.match(
      failed.output,
      /--resume-from migrate`/,
      'it names the command that resumes at the failed step',
    );
    assert.ok(!failed.calls.some((c) => shape(c).includes('update-traffic')), 'no traffic moved');
    assert.ok(
      failed.calls.some((c) => shape(c).includes('apply -input=false')),
      'the apply had run',
    );

    const resumed = await broken.run(['--resume-from', 'migrate']);
    assert.equal(resumed.code, 0, resumed.output);
    const shapes = resumed.calls.map(shape);
    assert.ok(
      !shapes.some((c) =>
        /services enable|terraform -chdir=terraform (init|plan|apply)|builds submit/.test(c),
      ),
    );
    assert.equal(
      shapes.find((c) => c.includes('jobs execute'))?.includes('wnm-migrate'),
      true,
      'it starts at migrate',
    );
    assert.ok(shapes.some((c) => c.includes('--to-revisions=wnm-api-REV=100')));
  });

  test('--dry-run prints every step and its exact commands, and runs none', async () => {
    const dry = fakeProject('dry');
    const { code, output, calls } = await dry.run(['--dry-run']);
    assert.equal(code, 0);
    assert.deepEqual(calls, []);
    for (const expected of [
      '[1/9] apis',
      '$ gcloud storage buckets create gs://water-demo-1-tfstate',
      '$ TF_VAR_upstash_redis_rest_url=*** TF_VAR_upstash_redis_rest_token=*** terraform -chdir=terraform plan',
      '$ TF_VAR_upstash_redis_rest_url=*** TF_VAR_upstash_redis_rest_token=*** terraform -chdir=terraform apply -input=false -lock-timeout=5m tfplan',
      '$ gcloud run jobs execute wnm-migrate',
      "-H @- '<candidate_url>/api/v1/nodes?limit=1' < (stdin)",
      '[9/9] smoke',
      'Dry run: nothing was changed.',
    ]) {
      assert.ok(output.includes(expected), `dry run lacks: ${expected}\n${output}`);
    }
    assert.ok(!output.includes('secret-upstash-token'));
  });

  test('--upstash-create: Terraform creates the Upstash database with the account from the environment', async () => {
    const p = fakeProject('upstash-create');
    // An existing database and a created one are exclusive; creating needs the account's credentials.
    const both = await p.run(['--upstash-create', 'eu-west-1']);
    assert.equal(both.code, 2);
    assert.match(both.output, /--upstash-create: set TF_VAR_upstash_email and TF_VAR_upstash_api_key/);
    const withExisting = await p.run(['--upstash-create', 'eu-west-1'], {
      TF_VAR_upstash_email: 'ops@example.com',
      TF_VAR_upstash_api_key: 'secret-upstash-api-key-0123',
    });
    assert.equal(withExisting.code, 2);
    assert.match(withExisting.output, /unset TF_VAR_upstash_redis_rest_url/);
    const badRegion = await p.run(['--upstash-create', 'europe-west1']);
    assert.equal(badRegion.code, 2);
    assert.match(badRegion.output, /one of us-east-1, .*eu-west-1/);
    for (const r of [both, withExisting, badRegion]) assert.deepEqual(r.calls, []);

    Reflect.deleteProperty(p.env, 'TF_VAR_upstash_redis_rest_url');
    Reflect.deleteProperty(p.env, 'TF_VAR_upstash_redis_rest_token');
    const { code, output, calls } = await p.run(['--upstash-create', 'eu-west-1'], {
      TF_VAR_upstash_email: 'ops@example.com',
      TF_VAR_upstash_api_key: 'secret-upstash-api-key-0123',
    });
    assert.equal(code, 0, output);
    const plan = calls.find((c) => c.program === 'terraform' && c.args.includes('plan'))!;
    assert.ok(plan.args.includes('-var=upstash_database={primary_region="eu-west-1"}'), plan.args.join(' '));
    // The account's key goes to Terraform through its environment only, and is printed nowhere.
    assert.deepEqual(plan.tfVars, ['TF_VAR_upstash_api_key', 'TF_VAR_upstash_email']);
    assert.ok(!JSON.stringify(calls).includes('secret-upstash-api-key'));
    assert.ok(!output.includes('secret-upstash-api-key'));
  });

  test('bad arguments are refused before anything runs', async () => {
    const p = fakeProject('args');
    for (const args of [
      ['--resume-from', 'nowhere'],
      ['--region', 'Europe'],
    ]) {
      const { code, calls } = await p.run(args);
      assert.equal(code, 2);
      assert.deepEqual(calls, []);
    }
  });
});
