import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Body, loadTerraform, nested, resource, resourcesOfType } from './config.ts';

const config = await loadTerraform();
const functions = resourcesOfType(config, 'google_cloudfunctions2_function');
const iamMembers = config.resources.filter((r) => r.type.endsWith('_iam_member'));

function allStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) allStrings(v, out);
  else if (value && typeof value === 'object')
    for (const v of Object.values(value as Body)) allStrings(v, out);
  return out;
}

/** The service account resource name behind `${google_service_account.NAME[...].email}`-like values. */
const serviceAccountOf = (value: unknown) =>
  typeof value === 'string' ? /^\$\{google_service_account\.([\w-]+)[[.]/.exec(value)?.[1] : undefined;

describe('identities', () => {
  test('every function runs as a service account of its own', () => {
    assert.equal(functions.length, 1, 'one for_each resource deploys the three functions');
    const seen = new Set<string>();
    for (const fn of functions) {
      const email = nested(fn.body, 'service_config').service_account_email;
      if (fn.body.for_each !== undefined) {
        // One account per instance: the accounts are keyed by the same for_each as the functions.
        const match = /^\$\{google_service_account\.([\w-]+)\[each\.key\]\.email\}$/.exec(String(email));
        assert.ok(match, `${fn.name}: service_account_email is ${email}`);
        const accounts = resource(config, `google_service_account.${match[1]}`);
        assert.equal(accounts.body.for_each, fn.body.for_each);
        assert.match(String(accounts.body.account_id), /\$\{each\.key\}/);
        seen.add(match[1]!);
      } else {
        const name = serviceAccountOf(email);
        assert.ok(name && !seen.has(name), `${fn.name} needs an account no other function uses`);
        seen.add(name);
      }
    }
    // Nothing else acts as the runtime accounts: push and scheduler calls have their own identities.
    const pushTokens = resourcesOfType(config, 'google_pubsub_subscription')
      .filter((s) => s.body.push_config !== undefined)
      .map((s) => nested(s.body, 'push_config', 'oidc_token').service_account_email);
    const schedulerTokens = resourcesOfType(config, 'google_cloud_scheduler_job').map(
      (j) => nested(j.body, 'http_target', 'oauth_token').service_account_email,
    );
    const invokers = [...pushTokens, ...schedulerTokens].map(serviceAccountOf);
    assert.ok(invokers.length >= 2);
    for (const account of invokers) {
      assert.ok(account && !seen.has(account), `invocations must not use a function's account (${account})`);
    }
    assert.deepEqual([...new Set(invokers)].sort(), ['push_invoker', 'scheduler']);
  });

  test('no primitive role (owner, editor, viewer) appears anywhere', () => {
    const primitive = [...config.parsed.values()]
      .flatMap((p) => allStrings(p))
      .filter((s) => /roles\/(owner|editor|viewer)\b/.test(s));
    assert.deepEqual(primitive, []);
  });

  test('runtime accounts get project-wide roles only where IAM has no narrower resource', () => {
    const projectGrants = resourcesOfType(config, 'google_project_iam_member').filter((g) =>
      /google_service_account\.function\[/.test(String(g.body.member)),
    );
    const roles = projectGrants.map((g) => g.body.role).sort();
    assert.deepEqual(roles, [
      'roles/bigquery.jobUser',
      'roles/datastore.user',
      'roles/telemetry.tracesWriter',
    ]);
    // Spans go to Cloud Trace (its OTLP endpoint) from every function; the role only writes spans.
    const trace = projectGrants.find((g) => g.body.role === 'roles/telemetry.tracesWriter')!;
    assert.equal(trace.body.for_each, '${var.functions}');
    assert.equal(trace.body.member, '${google_service_account.function[each.key].member}');
    const firestore = projectGrants.find((g) => g.body.role === 'roles/datastore.user')!;
    assert.match(
      String(nested(firestore.body, 'condition').expression),
      /resource\.name == .*google_firestore_database\.coordination/,
      'Firestore access is confined to the coordination database',
    );
  });

  test('the API alone is public; the dispatcher, aggregator and webhooks accept internal traffic only', () => {
    assert.deepEqual(config.locals.function_ingress, {
      dispatcher: 'ALLOW_INTERNAL_ONLY',
      aggregator: 'ALLOW_INTERNAL_ONLY',
      api: 'ALLOW_ALL',
      webhooks: 'ALLOW_INTERNAL_ONLY',
    });
    for (const fn of functions) {
      assert.equal(nested(fn.body, 'service_config').ingress_settings, '${local.function_ingress[each.key]}');
    }
    const publicGrants = iamMembers.filter(
      (g) => g.body.member === 'allUsers' || g.body.member === 'allAuthenticatedUsers',
    );
    assert.deepEqual(
      publicGrants.map((g) => [g.type, g.body.name, g.body.role]),
      [
        [
          'google_cloud_run_v2_service_iam_member',
          '${google_cloudfunctions2_function.function["api"].service_config[0].service}',
          'roles/run.invoker',
        ],
      ],
    );
    const invokes = resource(config, 'google_cloud_run_v2_service_iam_member.push_invokes');
    assert.equal(invokes.body.for_each, '${toset(["dispatcher", "aggregator", "webhooks"])}');
    assert.equal(invokes.body.member, '${google_service_account.push_invoker.member}');
  });
});

describe('secrets', () => {
  const secretEnv = config.locals.function_secret_env as Record<string, string[]>;
  const secretIds = config.locals.secret_ids as Record<string, string>;

  test('access is granted per secret and per function, never project-wide', () => {
    const projectWide = resourcesOfType(config, 'google_project_iam_member').filter((g) =>
      /secretmanager/.test(String(g.body.role)),
    );
    assert.deepEqual(projectWide, []);

    const all = resourcesOfType(config, 'google_secret_manager_secret_iam_member');
    // Besides the functions, the ops jobs (jobs.tf) read exactly one secret: DATABASE_URL.
    const ops = all.filter((g) => g.body.member === '${google_service_account.ops_job.member}');
    assert.deepEqual(
      ops.map((g) => [g.body.secret_id, g.body.role, g.body.for_each]),
      [
        [
          '${google_secret_manager_secret.env["DATABASE_URL"].id}',
          'roles/secretmanager.secretAccessor',
          undefined,
        ],
      ],
    );
    // The backfill job (backfill.tf) reads the same one secret, as its own account.
    const backfill = all.filter((g) => g.body.member === '${google_service_account.backfill_job.member}');
    assert.deepEqual(
      backfill.map((g) => [g.body.secret_id, g.body.role, g.body.for_each]),
      [
        [
          '${google_secret_manager_secret.env["DATABASE_URL"].id}',
          'roles/secretmanager.secretAccessor',
          undefined,
        ],
      ],
    );
    const grants = all.filter((g) => !ops.includes(g) && !backfill.includes(g));
    assert.ok(grants.length > 0);
    for (const grant of grants) {
      assert.equal(grant.body.role, 'roles/secretmanager.secretAccessor');
      assert.match(
        String(grant.body.secret_id),
        /^\$\{google_secret_manager_secret\.env\[each\.value\.secret\]\.id\}$/,
      );
      assert.match(
        String(grant.body.member),
        /^\$\{google_service_account\.function\[each\.value\.function\]\.member\}$/,
      );
      assert.equal(grant.body.for_each, '${local.function_secret_access}');
    }
    // The grants are derived from the very lists the functions mount, so they can't disagree.
    assert.match(String(config.locals.function_secret_access), /local\.function_secret_env/);
    for (const fn of functions) {
      const mounts = (nested(fn.body, 'service_config').dynamic as Record<string, Body[]>)
        .secret_environment_variables;
      assert.equal(mounts?.[0]?.for_each, '${toset(local.function_secret_env[each.key])}');
    }
  });

  test('each function mounts only secrets that exist, and the dispatcher no cache credentials', () => {
    for (const [fn, names] of Object.entries(secretEnv)) {
      for (const name of names) assert.ok(name in secretIds, `${fn} mounts ${name}, which has no secret`);
    }
    assert.deepEqual(secretEnv.dispatcher, ['DATABASE_URL']);
    // The webhook secrets' key: only the API (seals) and the webhooks function (signs) read it.
    assert.deepEqual(secretEnv.webhooks, ['DATABASE_URL', 'WEBHOOK_SECRET_KEY']);
    assert.deepEqual(
      Object.keys(secretEnv)
        .filter((fn) => secretEnv[fn]!.includes('WEBHOOK_SECRET_KEY'))
        .sort(),
      ['api', 'webhooks'],
    );
    assert.deepEqual(Object.keys(secretIds).sort(), [
      'DATABASE_URL',
      'UPSTASH_REDIS_REST_TOKEN',
      'UPSTASH_REDIS_REST_URL',
      'WEBHOOK_SECRET_KEY',
    ]);
  });
});
