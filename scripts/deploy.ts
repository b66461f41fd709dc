/**
 * `npm run deploy -- --project P --region R [--dry-run] [--resume-from STEP]`: from an empty Google
 * Cloud project (the caller an owner, `gcloud auth login` and `gcloud auth application-default login`
 * done) to a working, observed system: APIs, state bucket, bundles, the ops image, terraform init/plan/
 * apply of the saved plan, migrations, the first admin key (shown once), smoke tests, traffic.
 *
 * Rerunning it changes nothing; --dry-run prints every step with its exact commands and runs none. A
 * failed step says which, and how to resume. Secrets (Upstash, an external database URL) come from the
 * environment as TF_VAR_upstash_redis_rest_url / _token (terraform/README.md, first deployment).
 */

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createShell } from './deploy/shell.ts';
import { type Context, STEPS } from './deploy/steps.ts';

const USAGE = `usage: npm run deploy -- --project PROJECT --region REGION [--name-prefix wnm] [--state-bucket BUCKET]
                      [--var-file FILE] [--dry-run] [--resume-from ${STEPS.map((s) => s.id).join('|')}]`;

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
    },
    sh: createShell({ dryRun: values['dry-run'], cwd: repo, env, out }),
    repo,
    env,
    cache: {},
  };
  const terraformStep = STEPS.findIndex((s) => s.id === 'terraform');
  if (
    !values['dry-run'] &&
    start <= terraformStep &&
    !env.TF_VAR_upstash_redis_rest_url &&
    !values['var-file']
  ) {
    out(
      'Set TF_VAR_upstash_redis_rest_url and TF_VAR_upstash_redis_rest_token (an Upstash database), or pass --var-file.',
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
