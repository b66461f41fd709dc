/**
 * `npm run deploy -- --project P --region R [--dry-run] [--resume-from STEP]`: from an empty Google
 * Cloud project (the caller an owner, `gcloud auth login` and `gcloud auth application-default login`
 * done) to a working, observed system: APIs, state bucket, bundles, the ops image, terraform init/plan/
 * apply of the saved plan, migrations, the first admin key (shown once), smoke tests, traffic.
 *
 * Rerunning it changes nothing; --dry-run prints every step with its exact commands and runs none. A
 * failed step says which, and how to resume. Secrets (Upstash, an external database URL) come from the
 * environment: an existing Upstash database's TF_VAR_upstash_redis_rest_url / _token, or, with
 * `--upstash-create REGION` (Terraform creates it), TF_VAR_upstash_email / TF_VAR_upstash_api_key
 * (terraform/README.md, first deployment).
 */

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createShell } from './deploy/shell.ts';
import { type Context, STEPS } from './deploy/steps.ts';

const USAGE = `usage: npm run deploy -- --project PROJECT --region REGION [--name-prefix wnm] [--state-bucket BUCKET]
                      [--var-file FILE] [--upstash-create UPSTASH_REGION] [--dry-run]
                      [--resume-from ${STEPS.map((s) => s.id).join('|')}]`;

/** The primary regions the upstash provider accepts for a global database (terraform/variables.tf). */
const UPSTASH_REGIONS = [
  'us-east-1',
  'us-west-1',
  'us-west-2',
  'eu-central-1',
  'eu-west-1',
  'sa-east-1',
  'ap-southeast-1',
  'ap-southeast-2',
];

export async function deploy(
  argv: string[],
  io: { env?: NodeJS.ProcessEnv; out?: (line: string) => void; cwd?: string } = {},
): Promise<number> {
  const out = io.out ?? ((line: string) => console.log(line));
  const { values } = parseArgs({
    args: argv,
    options: {
      project: { type: 'string' },
      region: { type: 'string' },
      'name-prefix': { type: 'string', default: 'wnm' },
      'state-bucket': { type: 'string' },
      'var-file': { type: 'string' },
      'upstash-create': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'resume-from': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const { project, region } = values;
  if (!project || !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project)) {
    out(`--project: a Google Cloud project id\n${USAGE}`);
    return 2;
  }
  if (!region || !/^[a-z]+-[a-z]+[0-9]+$/.test(region)) {
    out(`--region: a region such as europe-west1\n${USAGE}`);
    return 2;
  }
  const upstashCreate = values['upstash-create'];
  if (upstashCreate !== undefined && !UPSTASH_REGIONS.includes(upstashCreate)) {
    out(`--upstash-create: the database's primary region, one of ${UPSTASH_REGIONS.join(', ')}`);
    return 2;
  }
  const start = values['resume-from'] ? STEPS.findIndex((s) => s.id === values['resume-from']) : 0;
  if (start < 0) {
    out(`--resume-from: one of ${STEPS.map((s) => s.id).join(', ')}`);
    return 2;
  }
  const env = io.env ?? process.env;
  const repo = io.cwd ?? fileURLToPath(new URL('..', import.meta.url));
  const ctx: Context = {
    o: {
      project,
      region,
      namePrefix: values['name-prefix'],
      stateBucket: values['state-bucket'] ?? `${project}-tfstate`,
      varFile: values['var-file'],
      upstashCreate,
    },
    sh: createShell({ dryRun: values['dry-run'], cwd: repo, env, out }),
    repo,
    env,
    cache: {},
  };
  const terraformStep = STEPS.findIndex((s) => s.id === 'terraform');
  const checkSecrets = !values['dry-run'] && start <= terraformStep && !values['var-file'];
  if (checkSecrets && upstashCreate && !(env.TF_VAR_upstash_email && env.TF_VAR_upstash_api_key)) {
    out(
      '--upstash-create: set TF_VAR_upstash_email and TF_VAR_upstash_api_key (the Upstash account Terraform acts for).',
    );
    return 2;
  }
  if (checkSecrets && upstashCreate && env.TF_VAR_upstash_redis_rest_url) {
    out(
      '--upstash-create creates the database: unset TF_VAR_upstash_redis_rest_url / _token (an existing one).',
    );
    return 2;
  }
  if (checkSecrets && !upstashCreate && !env.TF_VAR_upstash_redis_rest_url) {
    out(
      'Set TF_VAR_upstash_redis_rest_url and TF_VAR_upstash_redis_rest_token (an existing Upstash database), pass --upstash-create REGION (Terraform creates one), or pass --var-file.',
    );
    return 2;
  }
  const again = `npm run deploy -- --project ${project} --region ${region}`;
  for (const [i, step] of STEPS.entries()) {
    if (i < start) {
      out(`[${i + 1}/${STEPS.length}] ${step.id}: skipped (--resume-from)`);
      continue;
    }
    out(`[${i + 1}/${STEPS.length}] ${step.id}: ${step.what}`);
    try {
      await step.run(ctx);
    } catch (err) {
      out(`✖ step ${step.id} failed: ${(err as Error).message}`);
      out('Nothing after it ran; no new revision took traffic unless the release step had started.');
      out(
        `Fix the cause, then rerun \`${again}\` (every step is safe to rerun), or resume here: \`${again} --resume-from ${step.id}\``,
      );
      return 1;
    }
  }
  const outputs = ctx.cache.outputs;
  out('');
  out(values['dry-run'] ? 'Dry run: nothing was changed.' : `Deployed to ${project} (${region}).`);
  if (outputs) {
    out(`  API          ${outputs.apiUrl}   (interactive docs: ${outputs.apiUrl}/docs)`);
    out(`  Dashboard    ${outputs.dashboardUrl}`);
    out(
      `  Run a cycle  npm run schedule -- run --project ${project} --region ${region} --job ${outputs.cycleJob}`,
    );
  }
  if (ctx.adminKey?.created) {
    out(`  Admin key    ${ctx.adminKey.token}`);
    out('               shown once, stored nowhere in plain text: keep it in your password manager now.');
  } else if (ctx.adminKey) {
    out(`  Admin key    the first admin key (${ctx.adminKey.keyId}) exists already; it is not shown again.`);
  }
  return 0;
}

if (import.meta.main) {
  deploy(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
