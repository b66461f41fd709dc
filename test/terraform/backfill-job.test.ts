/**
 * Policy of the bulk backfill job (terraform/backfill.tf): its own identity with the narrowest grants
 * (DATABASE_URL, the readings dataset, BigQuery jobs), secrets by reference only, N resumable tasks of
 * the ops image's `backfill` command in the database's subnet, and an environment the command reads.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envVarsOf } from '../../shared/config.ts';
import { type Body, defaultOf, loadTerraform, nested, resource, resourcesOfType } from './config.ts';

const config = await loadTerraform();
const job = resource(config, 'google_cloud_run_v2_job.backfill');
const task = nested(job.body, 'template', 'template');
const container = nested(task, 'containers');
const ACCOUNT = '${google_service_account.backfill_job.member}';

describe('the bulk backfill job', () => {
  test('runs as its own service account, used by nothing else', () => {
    assert.equal(task.service_account, '${google_service_account.backfill_job.email}');
    const account = resource(config, 'google_service_account.backfill_job');
    assert.equal(account.body.account_id, '${var.name_prefix}-backfill-job');
    const everywhere = JSON.stringify(
      [...config.parsed.entries()].filter(([f]) => !f.endsWith('backfill.tf')),
    );
    assert.doesNotMatch(everywhere, /google_service_account\.backfill_job/);
  });

  test('holds exactly: DATABASE_URL, BigQuery jobs, read access to the readings dataset', () => {
    const grants = config.resources
      .filter((r) => r.type.endsWith('_iam_member') && r.body.member === ACCOUNT)
      .map((r) => [r.type, r.body.role])
      .sort();
    assert.deepEqual(grants, [
      ['google_bigquery_dataset_iam_member', 'roles/bigquery.dataViewer'],
      ['google_project_iam_member', 'roles/bigquery.jobUser'],
      ['google_secret_manager_secret_iam_member', 'roles/secretmanager.secretAccessor'],
    ]);
    const secret = resource(
      config,
      'google_secret_manager_secret_iam_member.backfill_job_reads_database_url',
    );
    assert.equal(secret.body.secret_id, '${google_secret_manager_secret.env["DATABASE_URL"].id}');
    const dataset = resource(config, 'google_bigquery_dataset_iam_member.backfill_job_reads_readings');
    assert.equal(dataset.body.dataset_id, '${local.bigquery_dataset_id}');
    // No condition-free project role beyond jobUser (which exists only at project level).
    const project = resourcesOfType(config, 'google_project_iam_member').filter(
      (g) => g.body.member === ACCOUNT,
    );
    assert.deepEqual(
      project.map((g) => g.body.role),
      ['roles/bigquery.jobUser'],
    );
  });

  test('takes DATABASE_URL by reference to Secret Manager: no secret value in the job or its state', () => {
    const envs = container.env as Body[];
    const url = envs.find((e) => e.name === 'DATABASE_URL')!;
    assert.equal(url.value, undefined);
    assert.equal(
      nested(url, 'value_source', 'secret_key_ref').secret,
      '${google_secret_manager_secret.env["DATABASE_URL"].secret_id}',
    );
    const plain = config.locals.backfill_job_env as Body;
    for (const name of Object.keys(plain)) {
      assert.doesNotMatch(name, /URL|TOKEN|SECRET|PASSWORD|KEY$/, `${name} must not be a plain value`);
    }
    assert.doesNotMatch(
      JSON.stringify(job.body),
      /random_password|secret_data|var\.database_url|local\.database_url/,
    );
  });

  test('N resumable tasks of the ops image’s backfill command, in the database’s subnet', () => {
    assert.equal(container.image, '${var.ops_image}');
    assert.deepEqual(container.args, ['backfill']);
    const template = nested(job.body, 'template');
    assert.equal(template.task_count, '${var.backfill_job.tasks}');
    assert.equal(template.parallelism, '${var.backfill_job.parallelism}');
    assert.equal(task.max_retries, '${var.backfill_job.max_retries}');
    const defaults = defaultOf(config, 'backfill_job');
    assert.ok(defaults !== undefined);
    // Its connections must fit in the reserve the functions' budget leaves: checked at plan.
    const lifecycle = nested(job.body, 'lifecycle');
    const precondition = (lifecycle.precondition as Body[])[0]!;
    assert.equal(
      precondition.condition,
      '${var.backfill_job.parallelism * 3 <= var.sql_reserved_connections}',
    );
    const vpc = (task.dynamic as Record<string, Body[]>).vpc_access![0]!;
    assert.equal(vpc.for_each, '${var.use_cloud_sql ? [google_compute_subnetwork.functions[0]] : []}');
    assert.equal(nested(vpc, 'content').egress, 'PRIVATE_RANGES_ONLY');
  });

  test('its environment is variables the code reads, from the BigQuery source, checking (not running) migrations', () => {
    const env = config.locals.backfill_job_env as Body;
    // The dispatcher's sections cover the command's: core, database, source, cycle.
    const known = new Set(envVarsOf('dispatcher'));
    for (const name of [...Object.keys(env), 'DATABASE_URL', 'DATABASE_CA_CERT']) {
      assert.ok(known.has(name), `${name} is not read by shared/config.ts`);
    }
    assert.equal(env.READINGS_SOURCE, 'bigquery');
    assert.equal(env.MIGRATE_ON_START, false);
    assert.equal(env.BIGQUERY_DATASET, '${local.bigquery_dataset_id}');
  });
});
