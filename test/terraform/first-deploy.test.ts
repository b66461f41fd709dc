/**
 * What a first deployment on an empty project needs from the Terraform (issue 15): alerts on new
 * log-based metrics wait until Monitoring can see them, the Pub/Sub agent exists before its grants,
 * migrations and the first admin key run as Cloud Run jobs inside the VPC, and no new revision takes
 * traffic (or migrates at its cold start) before `npm run deploy` has migrated and smoke-tested it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  type Body,
  interpolations,
  loadTerraform,
  nested,
  referencesIn,
  resource,
  resourcesOfType,
  TERRAFORM_DIR,
} from './config.ts';

const config = await loadTerraform();

/** Every reference in the interpolations of a parsed value's strings. */
async function referencesOf(value: unknown): Promise<string[]> {
  const strings: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') strings.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  const refs: string[] = [];
  for (const text of strings) for (const e of interpolations(text)) refs.push(...(await referencesIn(e)));
  return refs;
}

describe('alerts on log-based metrics wait until alerting can see the metric', () => {
  const wait = resource(config, 'time_sleep.log_metrics_visible');

  test('the wait covers every log-based metric', async () => {
    const triggered = new Set(
      (await referencesOf(wait.body.triggers)).map((r) => r.split('.').slice(0, 2).join('.')),
    );
    for (const metric of resourcesOfType(config, 'google_logging_metric')) {
      assert.ok(triggered.has(`google_logging_metric.${metric.name}`), `the wait misses ${metric.name}`);
    }
    assert.match(String(wait.body.create_duration), /^([5-9]|1[0-5])m$/, 'minutes, as the 404s last');
  });

  test('every alert policy whose condition names a log-based metric depends on the wait', async () => {
    let checked = 0;
    for (const policy of resourcesOfType(config, 'google_monitoring_alert_policy')) {
      const refs = await referencesOf(policy.body.conditions);
      if (!refs.some((r) => r.startsWith('google_logging_metric.'))) continue;
      checked++;
      assert.deepEqual(
        policy.body.depends_on,
        ['${time_sleep.log_metrics_visible}'],
        `${policy.name} names a log-based metric but does not wait for it`,
      );
    }
    assert.ok(checked >= 1, 'data_stale at least');
    assert.deepEqual(resource(config, 'google_monitoring_alert_policy.data_stale').body.depends_on, [
      '${time_sleep.log_metrics_visible}',
    ]);
  });

  test('the time provider is pinned to a bounded version', () => {
    const versions = readFileSync(`${TERRAFORM_DIR}versions.tf`, 'utf8');
    assert.match(versions, /time\s*=\s*\{\s*source\s*=\s*"hashicorp\/time"\s*version\s*=\s*"~> 0\.13"/);
    assert.match(
      versions,
      /google-beta\s*=\s*\{\s*source\s*=\s*"hashicorp\/google-beta"\s*version\s*=\s*"~> 7\.42"/,
    );
  });
});

describe('the Pub/Sub service agent exists before it is granted anything', () => {
  test('every grant to it goes through the service identity resource', () => {
    const identity = resource(config, 'google_project_service_identity.pubsub');
    assert.equal(identity.body.service, 'pubsub.googleapis.com');
    assert.equal(identity.body.provider, '${google-beta}');
    assert.match(
      String(config.locals.pubsub_service_agent),
      /google_project_service_identity\.pubsub\.email/,
    );
    const grants = config.resources.filter((r) => r.body.member === '${local.pubsub_service_agent}');
    assert.deepEqual(grants.map((g) => `${g.type}.${g.name}`).sort(), [
      'google_pubsub_subscription_iam_member.pubsub_agent_acks_dead_lettered',
      'google_pubsub_subscription_iam_member.pubsub_agent_acks_webhook_dead_lettered',
      'google_pubsub_topic_iam_member.pubsub_agent_dead_letters',
      'google_pubsub_topic_iam_member.pubsub_agent_webhook_dead_letters',
      'google_service_account_iam_member.pubsub_agent_signs_push_tokens',
    ]);
    // No grant spells the agent's address by hand (which would bypass the ordering).
    const text = JSON.stringify([...config.parsed.values()]);
    assert.doesNotMatch(text, /gcp-sa-pubsub\.iam\.gserviceaccount\.com/);
  });
});

describe('operations jobs', () => {
  const jobs = resource(config, 'google_cloud_run_v2_job.ops');
  const spec = (key: string) => (config.locals.ops_jobs as Record<string, Body>)[key]!;

  test('migrate and first-admin-key run the ops image as their own account', () => {
    assert.deepEqual(Object.keys(config.locals.ops_jobs as Body).sort(), ['first-admin-key', 'migrate']);
    assert.deepEqual(spec('migrate').args, ['migrate']);
    assert.deepEqual(spec('first-admin-key').args, ['first-admin-key']);
    assert.equal(jobs.body.for_each, '${local.ops_jobs}');
    const task = nested(jobs.body, 'template', 'template');
    assert.equal(task.service_account, '${google_service_account.ops_job.email}');
    assert.equal(task.max_retries, 0);
    const container = nested(task, 'containers');
    assert.equal(container.image, '${var.ops_image}');
    assert.equal(container.args, '${each.value.args}');
  });

  test('they reach the private database: DATABASE_URL from Secret Manager, the functions subnet', () => {
    const task = nested(jobs.body, 'template', 'template');
    const container = nested(task, 'containers');
    const secretEnv = (container.env as Body[]).find((e) => e.name === 'DATABASE_URL')!;
    assert.equal(
      nested(secretEnv, 'value_source', 'secret_key_ref').secret,
      '${google_secret_manager_secret.env["DATABASE_URL"].secret_id}',
    );
    const vpc = (task.dynamic as Record<string, Body[]>).vpc_access![0]!;
    assert.equal(vpc.for_each, '${var.use_cloud_sql ? [google_compute_subnetwork.functions[0]] : []}');
    assert.equal(nested(vpc, 'content').egress, 'PRIVATE_RANGES_ONLY');
    // The job's account holds no project-wide role.
    const projectGrants = resourcesOfType(config, 'google_project_iam_member').filter((g) =>
      String(g.body.member).includes('ops_job'),
    );
    assert.deepEqual(projectGrants, []);
  });

  test('the job environment is what the ops job reads: tenant, rate limit, a pool of one', () => {
    const env = config.locals.ops_job_env as Body;
    assert.equal(env.TENANT_ID, '${var.tenant_id}');
    assert.equal(env.PG_POOL_MAX, 1);
    assert.equal(env.RATE_LIMIT_PER_MINUTE, '${var.api_settings.rate_limit_per_minute}');
  });
});

describe('no new revision serves, or migrates, before the deploy command has migrated and tested it', () => {
  const fn = resource(config, 'google_cloudfunctions2_function.function');

  test('a deployed revision takes no traffic by itself', () => {
    assert.equal(nested(fn.body, 'service_config').all_traffic_on_latest_revision, false);
  });

  test('no function migrates at its cold start', () => {
    for (const [name, env] of Object.entries(config.locals.function_env as Record<string, Body>)) {
      assert.equal(env.MIGRATE_ON_START, false, `${name} would migrate at cold start`);
    }
  });

  test('the README smoke test calls /health, the route that answers without a key', () => {
    const readme = readFileSync(`${TERRAFORM_DIR}README.md`, 'utf8');
    assert.doesNotMatch(readme, /\/api\/v1\/health/);
  });
});

describe('operators drive the schedule', () => {
  test('a custom role runs, pauses and resumes jobs, and nothing more; granted to scheduler_operators', () => {
    const role = resource(config, 'google_project_iam_custom_role.scheduler_operator');
    const permissions = role.body.permissions as string[];
    for (const p of ['cloudscheduler.jobs.run', 'cloudscheduler.jobs.pause', 'cloudscheduler.jobs.enable']) {
      assert.ok(permissions.includes(p), p);
    }
    assert.deepEqual(
      permissions.filter((p) => /\.(create|update|delete|setIamPolicy)$/.test(p)),
      [],
    );
    const grant = resource(config, 'google_project_iam_member.scheduler_operators');
    assert.equal(grant.body.for_each, '${toset(var.scheduler_operators)}');
    assert.equal(grant.body.role, '${google_project_iam_custom_role.scheduler_operator.name}');
  });
});
