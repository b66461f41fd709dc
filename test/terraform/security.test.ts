/**
 * Security of the deployment (issue 15): pull requests never run as the deployer, the apply applies the
 * approved saved plan exactly, the function-build identity holds no project-wide build role, and no
 * secret reaches the Terraform state.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  type Body,
  defaultOf,
  loadTerraform,
  nested,
  resource,
  resourcesOfType,
  TERRAFORM_DIR,
} from './config.ts';
import { loadProviderSchemas } from './schema-check.ts';

const config = await loadTerraform();
const schemas = loadProviderSchemas('google-provider-schema-7.42.0.json');
const REPO = join(TERRAFORM_DIR, '..');

/** The text of each step of a Cloud Build file, by id (the YAML's `- id:` items). */
function steps(file: string): Map<string, string> {
  const text = readFileSync(join(REPO, file), 'utf8');
  const out = new Map<string, string>();
  for (const part of text.split(/\n {2}- id: /).slice(1)) {
    out.set(part.split('\n')[0]!.trim(), part);
  }
  return out;
}

describe('Cloud Build identities per trigger', () => {
  test('pull-request checks run as the checks account, which may only write logs', () => {
    const checks = resource(config, 'google_cloudbuild_trigger.checks');
    assert.equal(checks.body.service_account, '${google_service_account.checks["enabled"].id}');
    assert.ok(nested(checks.body, 'github').pull_request, 'the checks trigger is the pull-request one');
    assert.deepEqual(checks.body.substitutions, { _MODE: 'checks' });
    const grants = config.resources.filter((r) =>
      String(r.body.member).includes('google_service_account.checks'),
    );
    assert.deepEqual(
      grants.map((g) => [g.type, g.body.role]),
      [['google_project_iam_member', 'roles/logging.logWriter']],
    );
  });

  test('only the deployment branch runs as the deployer, and its apply waits for an approval', () => {
    const deployer = '${google_service_account.deployer["enabled"].id}';
    const asDeployer = resourcesOfType(config, 'google_cloudbuild_trigger').filter(
      (t) => t.body.service_account === deployer,
    );
    assert.deepEqual(asDeployer.map((t) => t.name).sort(), ['apply', 'plan']);
    const plan = resource(config, 'google_cloudbuild_trigger.plan');
    assert.ok(nested(plan.body, 'github').push, 'plan runs on pushes to the branch');
    assert.equal(nested(plan.body, 'github').pull_request, undefined);
    const apply = resource(config, 'google_cloudbuild_trigger.apply');
    assert.equal(nested(apply.body, 'approval_config').approval_required, true);
    assert.equal(nested(apply.body, 'git_file_source').path, 'cloudbuild-apply.yaml');
    assert.equal(apply.body.github, undefined, 'apply is started by the plan build, not by a push');
  });
});

describe('plan approval that means something', () => {
  const ci = steps('cloudbuild.yaml');
  const cd = steps('cloudbuild-apply.yaml');

  test('the pipeline never applies; its plan steps run only in plan mode and save the plan with its hash', () => {
    assert.doesNotMatch([...ci.values()].join('\n'), /terraform apply/);
    for (const id of ['tfvars', 'ops-image', 'plan', 'save-plan-and-request-apply']) {
      assert.match(ci.get(id) ?? '', /\[ "\$\{_MODE\}" = plan \] \|\| exit 0/, `${id} runs in checks mode`);
    }
    const plan = ci.get('plan')!;
    assert.match(plan, /terraform plan .*-out=tfplan/);
    assert.match(plan, /terraform show -no-color tfplan/, 'the approver reads the full plan in this log');
    assert.match(plan, /sha256sum tfplan/);
    assert.match(
      ci.get('save-plan-and-request-apply')!,
      /plans\/\$COMMIT_SHA\/[\s\S]*triggers run "\$\{_APPLY_TRIGGER\}"/,
    );
  });

  test('the apply build checks the saved plan’s hash, applies that file, then releases from the migrate step', () => {
    const apply = cd.get('apply')!;
    const check = apply.indexOf('sha256sum -c tfplan.sha256');
    const run = apply.indexOf('terraform apply -input=false -lock-timeout=5m tfplan');
    assert.ok(check >= 0 && run > check, 'hash checked before the apply of the saved plan');
    assert.doesNotMatch(apply, /terraform plan/);
    assert.match(cd.get('fetch-plan')!, /plans\/\$\{_PLAN_SHA\}\/plan\.tgz/);
    assert.match(cd.get('release')!, /scripts\/deploy\.ts .*--resume-from migrate/s);
  });
});

describe('the function-build identity', () => {
  test('holds no project-wide build role: logs at project level, sources and images on their resources', () => {
    const member = '${google_service_account.function_build.member}';
    const grants = config.resources.filter((r) => r.body.member === member);
    assert.deepEqual(grants.map((g) => `${g.type} ${g.body.role}`).sort(), [
      'google_artifact_registry_repository_iam_member roles/artifactregistry.writer',
      'google_project_iam_member roles/logging.logWriter',
      'google_storage_bucket_iam_member roles/storage.objectViewer',
    ]);
    const fn = resource(config, 'google_cloudfunctions2_function.function');
    assert.equal(
      nested(fn.body, 'build_config').docker_repository,
      '${google_artifact_registry_repository.functions.id}',
    );
    const all = JSON.stringify([...config.parsed.values()]);
    assert.doesNotMatch(all, /cloudbuild\.builds\.builder/);
  });
});

describe('the database server is verified', () => {
  test('every function and the ops jobs get the instance CA (verify-ca)', () => {
    assert.match(
      String(config.locals.database_ca_cert),
      /google_sql_database_instance\.main\[0\]\.server_ca_cert\[0\]\.cert/,
    );
    for (const [name, env] of Object.entries(config.locals.function_env as Record<string, Body>)) {
      assert.equal(env.DATABASE_CA_CERT, '${local.database_ca_cert}', name);
    }
    const container = nested(
      resource(config, 'google_cloud_run_v2_job.ops').body,
      'template',
      'template',
      'containers',
    );
    const ca = (container.dynamic as Record<string, Body[]>).env!.find((e) =>
      String(e.for_each).includes('DATABASE_CA_CERT'),
    );
    assert.ok(ca, 'the ops jobs verify the server too');
  });
});

describe('no secret in the Terraform state', () => {
  const google = schemas.provider_schemas['registry.terraform.io/hashicorp/google']!.resource_schemas!;

  test('no resource sets an attribute the schema marks sensitive (only write-only ones)', () => {
    const problems: string[] = [];
    for (const r of config.resources) {
      const attributes = (google[r.type]?.block.attributes ?? {}) as Record<
        string,
        { sensitive?: boolean; write_only?: boolean }
      >;
      for (const key of Object.keys(r.body)) {
        if (attributes[key]?.sensitive && !attributes[key]?.write_only)
          problems.push(`${r.type}.${r.name}.${key}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('secret values go through secret_data_wo with a version; the password is ephemeral and write-only', () => {
    const version = resource(config, 'google_secret_manager_secret_version.env');
    assert.equal(version.body.secret_data, undefined);
    assert.equal(version.body.secret_data_wo, '${local.secret_values[each.key]}');
    assert.equal(version.body.secret_data_wo_version, '${var.secrets_version}');
    assert.deepEqual(resourcesOfType(config, 'random_password'), []);
    assert.deepEqual(
      config.ephemeral.map((e) => `${e.type}.${e.name}`),
      ['random_password.sql_app'],
    );
    const user = resource(config, 'google_sql_user.app');
    assert.equal(user.body.password, undefined);
    assert.equal(user.body.password_wo, '${ephemeral.random_password.sql_app[0].result}');
    assert.equal(user.body.password_wo_version, '${var.secrets_version}');
  });

  test('every sensitive input is ephemeral, so it is kept out of the state and saved plans', () => {
    const sensitive = [...config.variables].filter(([, v]) => v.sensitive === true);
    assert.deepEqual(sensitive.map(([n]) => n).sort(), [
      'external_database_url',
      'upstash_api_key',
      'upstash_redis_rest_token',
      'upstash_redis_rest_url',
    ]);
    for (const [name, v] of sensitive) assert.equal(v.ephemeral, true, `${name} is not ephemeral`);
  });

  test('no output exposes a secret value', () => {
    const outputs = JSON.stringify([...config.outputs.values()] as Body[]);
    assert.doesNotMatch(outputs, /secret_values|database_url|upstash_redis_rest|random_password/);
  });
});

describe('Upstash by variable: an existing database, or one the upstash provider creates', () => {
  const db = resource(config, 'upstash_redis_database.cache');

  test('the database is created only when upstash_database is set: global, TLS, a budget, no auto-scaling', () => {
    assert.equal(config.locals.upstash_created, '${var.upstash_database != null}');
    assert.equal(db.body.count, '${local.upstash_created ? 1 : 0}');
    assert.equal(db.body.region, 'global');
    assert.equal(db.body.primary_region, '${var.upstash_database.primary_region}');
    assert.equal(db.body.tls, true);
    assert.equal(db.body.auto_scale, false);
    assert.equal(db.body.budget, '${var.upstash_database.budget}');
    assert.equal(defaultOf(config, 'upstash_database'), null, 'an existing database by default');
  });

  test("the functions' secrets take the created database's REST endpoint and token, else the existing one's", () => {
    assert.equal((config.locals.secret_values as Body).UPSTASH_REDIS_REST_URL, '${local.upstash_rest_url}');
    assert.equal(
      (config.locals.secret_values as Body).UPSTASH_REDIS_REST_TOKEN,
      '${local.upstash_rest_token}',
    );
    assert.equal(
      config.locals.upstash_rest_url,
      '${local.upstash_created ? "https://${one(upstash_redis_database.cache[*].endpoint)}" : var.upstash_redis_rest_url}',
    );
    assert.equal(
      config.locals.upstash_rest_token,
      '${local.upstash_created ? one(upstash_redis_database.cache[*].rest_token) : var.upstash_redis_rest_token}',
    );
  });

  test('exactly one source: the existing URL and token are refused with upstash_database, required without', () => {
    for (const name of ['upstash_redis_rest_url', 'upstash_redis_rest_token']) {
      const v = config.variables.get(name)!;
      assert.equal(v.default, null);
      const [validation] = v.validation as Body[];
      assert.match(
        String(validation!.condition),
        new RegExp(
          `^\\$\\{var\\.${name} == null \\? var\\.upstash_database != null : \\(var\\.upstash_database == null && `,
        ),
      );
    }
    for (const name of ['upstash_email', 'upstash_api_key']) {
      const [validation] = config.variables.get(name)!.validation as Body[];
      assert.equal(validation!.condition, `\${var.upstash_database == null || var.${name} != null}`);
    }
  });

  test("the provider's API key never reaches the state; what the created database's state holds is said", () => {
    const provider = config.providers.get('upstash')!;
    assert.match(String(provider.api_key), /var\.upstash_api_key/);
    const key = config.variables.get('upstash_api_key')!;
    assert.equal(key.ephemeral, true);
    assert.equal(key.sensitive, true);
    // The provider has no write-only attributes: its token and password stay in its state (documented).
    const text = readFileSync(join(TERRAFORM_DIR, 'upstash.tf'), 'utf8');
    assert.match(text, /keeps the database's password, REST token and read-only REST\n# token/);
    assert.doesNotMatch(JSON.stringify([...config.outputs.values()]), /rest_token|password|endpoint/);
  });
});
