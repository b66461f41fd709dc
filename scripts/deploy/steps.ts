/**
 * Longer than 400 lines because the nine steps of a deployment read best in order, in one file.
 *
 * The steps of `npm run deploy`, in order. Each is safe to run again: it looks before it creates, and
 * Terraform applies only a saved plan with changes. Later steps read what earlier ones made through
 * lazy getters (the image name from dist/, Terraform's outputs), so a run can resume at any step.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sealingKeyPair } from '../../shared/ops/first-admin-key.ts';
import type { Shell } from './shell.ts';

export interface DeployOptions {
  project: string;
  region: string;
  namePrefix: string;
  stateBucket: string;
  /** Extra variables for Terraform (-var-file), besides project, region and the ops image. */
  varFile?: string | undefined;
  /**
   * Terraform creates the Upstash Redis database in this primary region (upstash/upstash provider,
   * TF_VAR_upstash_email / TF_VAR_upstash_api_key); unset: an existing one (TF_VAR_upstash_redis_rest_url / _token).
   */
  upstashCreate?: string | undefined;
}

/** APIs needed before Terraform runs (it enables the rest itself, apis.tf). */
export const BOOTSTRAP_APIS = [
  'artifactregistry.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudresourcemanager.googleapis.com',
  'logging.googleapis.com',
  'run.googleapis.com',
  'serviceusage.googleapis.com',
];

/** Environment variables handed to Terraform as secrets (never on a command line, masked in output). */
export const SECRET_ENV = [
  'TF_VAR_upstash_redis_rest_url',
  'TF_VAR_upstash_redis_rest_token',
  'TF_VAR_upstash_email',
  'TF_VAR_upstash_api_key',
  'TF_VAR_external_database_url',
];

interface Outputs {
  apiUrl: string;
  dashboardUrl: string;
  functions: Record<string, string>;
  opsJobs: Record<string, string>;
  cycleJob: string;
}

export interface Context {
  o: DeployOptions;
  sh: Shell;
  repo: string;
  env: NodeJS.ProcessEnv;
  planned?: 'changes' | 'none';
  adminKey?: { created: true; token: string; keyId: string } | { created: false; keyId: string };
  cache: { image?: string; outputs?: Outputs };
}

export interface Step {
  id: string;
  what: string;
  run(ctx: Context): Promise<void>;
}

const gcloud = (ctx: Context, ...args: string[]) => ['gcloud', ...args, '--project', ctx.o.project];
const terraform = (...args: string[]) => ['terraform', '-chdir=terraform', ...args];

/** Content hash of a folder (paths and bytes), the ops image's tag: same code, same image. */
export function folderHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(`${relative(dir, path)}\0`).update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest('hex').slice(0, 20);
}

export function opsImage(ctx: Context): string {
  if (ctx.cache.image) return ctx.cache.image;
  const tag = ctx.sh.dryRun ? 'HASH_OF_DIST_JOBS_OPS' : folderHash(join(ctx.repo, 'dist/jobs/ops'));
  ctx.cache.image = `${ctx.o.region}-docker.pkg.dev/${ctx.o.project}/${ctx.o.namePrefix}-ops/ops:${tag}`;
  return ctx.cache.image;
}

async function outputs(ctx: Context): Promise<Outputs> {
  if (ctx.cache.outputs) return ctx.cache.outputs;
  const p = ctx.o.namePrefix;
  const { stdout } = await ctx.sh.run(terraform('output', '-json'), { dryRun: { code: 0, stdout: '' } });
  if (ctx.sh.dryRun) {
    ctx.cache.outputs = {
      apiUrl: '<api_url>',
      dashboardUrl: '<dashboard_url>',
      functions: { api: `${p}-api`, dispatcher: `${p}-dispatcher`, aggregator: `${p}-aggregator` },
      opsJobs: { migrate: `${p}-migrate`, 'first-admin-key': `${p}-first-admin-key` },
      cycleJob: `${p}-cycle`,
    };
    return ctx.cache.outputs;
  }
  const json = JSON.parse(stdout) as Record<string, { value: unknown }>;
  const value = <T>(name: string) => {
    if (!json[name]) throw new Error(`terraform output has no ${name}: was the apply step run?`);
    return json[name].value as T;
  };
  ctx.cache.outputs = {
    apiUrl: value<string>('api_url'),
    dashboardUrl: value<string>('dashboard_url'),
    functions: value<Record<string, string>>('function_names'),
    opsJobs: value<Record<string, string>>('ops_jobs'),
    cycleJob: value<Record<string, string>>('scheduler_jobs').cycle!,
  };
  return ctx.cache.outputs;
}

/** Executes a job and waits; returns the execution's name. */
async function executeJob(ctx: Context, job: string, args?: string[]): Promise<string> {
  const { stdout } = await ctx.sh.run(
    gcloud(
      ctx,
      'run',
      'jobs',
      'execute',
      job,
      '--region',
      ctx.o.region,
      '--wait',
      ...(args ? [`--args=${args.join(',')}`] : []),
      '--format=value(metadata.name)',
    ),
    { dryRun: { code: 0, stdout: `${job}-EXECUTION` } },
  );
  return stdout.trim();
}

interface ServiceState {
  latest: string;
  pinned: boolean;
  candidateUrl?: string | undefined;
}

async function serviceState(ctx: Context, service: string): Promise<ServiceState> {
  const { stdout } = await ctx.sh.run(
    gcloud(ctx, 'run', 'services', 'describe', service, '--region', ctx.o.region, '--format=json'),
    { dryRun: { code: 0, stdout: '{}' } },
  );
  const status = ((JSON.parse(stdout || '{}') as { status?: unknown }).status ?? {}) as {
    latestCreatedRevisionName?: string;
    latestReadyRevisionName?: string;
    traffic?: {
      revisionName?: string;
      percent?: number;
      latestRevision?: boolean;
      tag?: string;
      url?: string;
    }[];
  };
  const latest = status.latestCreatedRevisionName ?? `${service}-LATEST`;
  if (!ctx.sh.dryRun && status.latestReadyRevisionName !== latest) {
    throw new Error(
      `${service}: revision ${latest} is not ready (latest ready: ${status.latestReadyRevisionName}); see its logs`,
    );
  }
  const serving = (status.traffic ?? []).filter((t) => (t.percent ?? 0) > 0);
  return {
    latest,
    pinned: serving.length === 1 && serving[0]!.revisionName === latest && !serving[0]!.latestRevision,
    candidateUrl: status.traffic?.find((t) => t.tag === 'candidate')?.url,
  };
}

/** GET url; with a key, sent on stdin as a header so it is on no command line. */
async function smoke(ctx: Context, url: string, key?: string): Promise<void> {
  await ctx.sh.run(
    [
      'curl',
      '-fsS',
      '--max-time',
      '20',
      '--retry',
      '3',
      '--retry-all-errors',
      ...(key ? ['-H', '@-'] : []),
      url,
    ],
    key ? { input: `Authorization: Bearer ${key}\n`, dryRun: { code: 0 } } : { dryRun: { code: 0 } },
  );
}

export const STEPS: Step[] = [
  {
    id: 'apis',
    what: 'enable the APIs needed before Terraform can enable the rest',
    async run(ctx) {
      const { stdout } = await ctx.sh.run(
        gcloud(ctx, 'services', 'list', '--enabled', '--format=value(config.name)'),
        {
          dryRun: { code: 0, stdout: '' },
        },
      );
      const enabled = new Set(stdout.split('\n').map((s) => s.trim()));
      const missing = BOOTSTRAP_APIS.filter((api) => !enabled.has(api));
      if (missing.length > 0) await ctx.sh.run(gcloud(ctx, 'services', 'enable', ...missing));
    },
  },
  {
    id: 'state-bucket',
    what: 'the Terraform state bucket (versioned, private: it holds the state)',
    async run(ctx) {
      const bucket = `gs://${ctx.o.stateBucket}`;
      const exists = await ctx.sh.run(
        gcloud(ctx, 'storage', 'buckets', 'describe', bucket, '--format=value(name)'),
        { allowFail: true },
      );
      if (exists.code === 0) return;
      await ctx.sh.run(
        gcloud(
          ctx,
          'storage',
          'buckets',
          'create',
          bucket,
          '--location',
          ctx.o.region,
          '--uniform-bucket-level-access',
          '--public-access-prevention',
        ),
      );
      await ctx.sh.run(gcloud(ctx, 'storage', 'buckets', 'update', bucket, '--versioning'));
    },
  },
  {
    id: 'build',
    what: 'build the function bundles and the ops job (dist/)',
    async run(ctx) {
      await ctx.sh.run(['npm', 'run', 'build']);
    },
  },
  {
    id: 'ops-image',
    what: 'push the ops job image (migrations, first admin key), tagged by its content hash',
    async run(ctx) {
      const repository = `${ctx.o.namePrefix}-ops`;
      const exists = await ctx.sh.run(
        gcloud(
          ctx,
          'artifacts',
          'repositories',
          'describe',
          repository,
          '--location',
          ctx.o.region,
          '--format=value(name)',
        ),
        { allowFail: true },
      );
      if (exists.code !== 0) {
        await ctx.sh.run(
          gcloud(
            ctx,
            'artifacts',
            'repositories',
            'create',
            repository,
            '--repository-format=docker',
            '--location',
            ctx.o.region,
          ),
        );
      }
      const image = opsImage(ctx);
      const built = await ctx.sh.run(
        gcloud(
          ctx,
          'artifacts',
          'docker',
          'images',
          'describe',
          image,
          '--format=value(image_summary.digest)',
        ),
        {
          allowFail: true,
        },
      );
      if (built.code !== 0) {
        await ctx.sh.run(
          gcloud(ctx, 'builds', 'submit', 'dist/jobs/ops', '--tag', image, '--region', ctx.o.region),
        );
      }
    },
  },
  {
    id: 'terraform',
    what: 'terraform init, plan to a file, apply exactly that plan (skipped when it changes nothing)',
    async run(ctx) {
      const secretEnv = Object.fromEntries(SECRET_ENV.filter((k) => ctx.env[k]).map((k) => [k, ctx.env[k]!]));
      const options = { env: secretEnv, secret: SECRET_ENV };
      await ctx.sh.run(
        terraform('init', '-input=false', `-backend-config=bucket=${ctx.o.stateBucket}`),
        options,
      );
      const plan = await ctx.sh.run(
        terraform(
          'plan',
          '-input=false',
          '-lock-timeout=5m',
          '-detailed-exitcode',
          '-out=tfplan',
          `-var=project_id=${ctx.o.project}`,
          `-var=region=${ctx.o.region}`,
          `-var=name_prefix=${ctx.o.namePrefix}`,
          `-var=ops_image=${opsImage(ctx)}`,
          ...(ctx.o.varFile ? [`-var-file=${ctx.o.varFile}`] : []),
          ...(ctx.o.upstashCreate ? [`-var=upstash_database={primary_region="${ctx.o.upstashCreate}"}`] : []),
        ),
        { ...options, allowFail: true, dryRun: { code: 2 } },
      );
      if (plan.code !== 0 && plan.code !== 2)
        throw new Error(`terraform plan failed:\n${plan.stderr.trim().slice(-3000)}`);
      ctx.planned = plan.code === 2 ? 'changes' : 'none';
      if (ctx.planned === 'none') {
        ctx.sh.say('  (the plan changes nothing: not applied)');
        return;
      }
      await ctx.sh.run(terraform('apply', '-input=false', '-lock-timeout=5m', 'tfplan'), options);
    },
  },
  {
    id: 'migrate',
    what: 'run the migrate job (before any new revision takes traffic)',
    async run(ctx) {
      await executeJob(ctx, (await outputs(ctx)).opsJobs.migrate!);
    },
  },
  {
    id: 'admin-key',
    what: 'the first admin API key, made by a job and shown here once',
    async run(ctx) {
      const pair = sealingKeyPair();
      const job = (await outputs(ctx)).opsJobs['first-admin-key']!;
      const execution = await executeJob(ctx, job, [
        'first-admin-key',
        `--public-key=${ctx.sh.dryRun ? 'PUBLIC_KEY' : pair.publicKeyDer}`,
      ]);
      const filter = `resource.type="cloud_run_job" AND resource.labels.job_name="${job}" AND labels."run.googleapis.com/execution_name"="${execution}" AND jsonPayload.event="ops.first_admin_key"`;
      // Log lines reach Cloud Logging a few seconds after the job ends.
      for (let attempt = 1; ; attempt++) {
        const { stdout } = await ctx.sh.run(
          gcloud(ctx, 'logging', 'read', filter, '--freshness=1h', '--limit=1', '--format=json'),
          {
            dryRun: { code: 0, stdout: '[]' },
          },
        );
        const entry = (JSON.parse(stdout || '[]') as { jsonPayload?: Record<string, unknown> }[])[0]
          ?.jsonPayload;
        if (entry) {
          const keyId = String(entry.keyId);
          ctx.adminKey =
            entry.created === true
              ? { created: true, keyId, token: pair.open(String(entry.sealedToken)) }
              : { created: false, keyId };
          return;
        }
        if (ctx.sh.dryRun) {
          ctx.adminKey = { created: true, keyId: '<id>', token: '<the new admin key, opened here>' };
          return;
        }
        if (attempt >= 20)
          throw new Error(`no ops.first_admin_key log line from ${execution} after ${attempt} reads`);
        await new Promise((r) => setTimeout(r, 3000));
      }
    },
  },
  {
    id: 'release',
    what: 'smoke-test the new API revision on its own URL, then move traffic to the new revisions',
    async run(ctx) {
      const { functions } = await outputs(ctx);
      for (const [name, service] of Object.entries(functions).sort(([a], [b]) =>
        a === 'api' ? 1 : b === 'api' ? -1 : a < b ? -1 : 1,
      )) {
        const state = await serviceState(ctx, service);
        if (state.pinned) {
          ctx.sh.say(`  ${service}: ${state.latest} already serves all traffic`);
          continue;
        }
        if (name === 'api') {
          let url = state.candidateUrl;
          if (!url) {
            await ctx.sh.run(
              gcloud(
                ctx,
                'run',
                'services',
                'update-traffic',
                service,
                '--region',
                ctx.o.region,
                `--set-tags=candidate=${state.latest}`,
              ),
            );
            url = (await serviceState(ctx, service)).candidateUrl ?? '<candidate_url>';
          }
          await smoke(ctx, `${url}/health`);
          if (ctx.adminKey?.created) await smoke(ctx, `${url}/api/v1/nodes?limit=1`, ctx.adminKey.token);
        }
        await ctx.sh.run(
          gcloud(
            ctx,
            'run',
            'services',
            'update-traffic',
            service,
            '--region',
            ctx.o.region,
            `--to-revisions=${state.latest}=100`,
            ...(name === 'api' ? ['--remove-tags=candidate'] : []),
          ),
        );
      }
    },
  },
  {
    id: 'smoke',
    what: 'smoke-test the public API URL',
    async run(ctx) {
      await smoke(ctx, `${(await outputs(ctx)).apiUrl}/health`);
    },
  },
];
