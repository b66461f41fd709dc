import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envVarsOf, FUNCTION_SECTIONS, type FunctionName } from '../../shared/config.ts';
import { type Body, loadTerraform, nested, resource } from './config.ts';

/**
 * Variables the code reads that the cloud deliberately leaves unset, and why. Anything else the code
 * reads must be set by Terraform, and Terraform must set nothing the code doesn't read: when
 * shared/config.ts gains or loses a variable, this test fails until terraform/functions.tf follows.
 */
const NOT_SET_IN_THE_CLOUD: Record<string, string> = {
  FIRESTORE_EMULATOR_HOST: 'emulators are for local runs and tests; the cloud uses the real Firestore',
  PUBSUB_EMULATOR_HOST: 'emulators are for local runs and tests; the cloud uses the real Pub/Sub',
  COORDINATION_BACKEND: 'defaults to firestore when GOOGLE_CLOUD_PROJECT is set',
  BUS_BACKEND: 'defaults to pubsub when GOOGLE_CLOUD_PROJECT is set',
  BIGQUERY_API_ENDPOINT: 'only tests point BigQuery at a loopback server',
  TRACE_OTLP_URL: 'only tests point the span exporter at a loopback receiver; the cloud uses Cloud Trace',
  SIMULATOR_SEED: 'the simulator stands in for BigQuery locally; the cloud reads BigQuery',
  SIMULATOR_NODES: 'the simulator stands in for BigQuery locally; the cloud reads BigQuery',
  PORT: 'reserved: Cloud Run sets it for every instance',
  API_DEV_MODE: 'development conveniences stay off in the cloud (the default)',
  WEBHOOK_ALLOW_HOSTS: 'exempts a local webhook receiver from the SSRF checks: tests and local runs only',
};

/** Variables Node.js or the C library read, not our configuration. */
const READ_BY_THE_RUNTIME = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'];

const config = await loadTerraform();
const plainEnv = config.locals.function_env as Record<string, Record<string, unknown>>;
const secretEnv = config.locals.function_secret_env as Record<string, string[]>;
const functionNames = Object.keys(FUNCTION_SECTIONS) as FunctionName[];

describe('environment variables Terraform gives each function', () => {
  test('Terraform configures exactly the functions the code defines', () => {
    assert.deepEqual(Object.keys(plainEnv).sort(), [...functionNames].sort());
    assert.deepEqual(Object.keys(secretEnv).sort(), [...functionNames].sort());
  });

  for (const fn of functionNames) {
    test(`${fn}: every variable set is read, and every variable read is set or deliberately unset`, () => {
      const plain = Object.keys(plainEnv[fn] ?? {});
      const secret = secretEnv[fn] ?? [];
      assert.deepEqual(
        plain.filter((v) => secret.includes(v)),
        [],
        'a variable is set both plainly and as a secret',
      );

      // NODE_OPTIONS is read by Node.js itself (heap sizes per function), not by our configuration, and
      // MALLOC_ARENA_MAX by the C library (the aggregator's malloc arenas, as bench:cycle runs it).
      assert.equal(plainEnv[fn]?.NODE_OPTIONS, `\${var.functions.${fn}.node_options}`);
      const set = [...plain, ...secret].filter((v) => !READ_BY_THE_RUNTIME.includes(v)).sort();
      const read = envVarsOf(fn);
      assert.deepEqual(
        set.filter((v) => !read.includes(v)),
        [],
        `Terraform sets variables ${fn} does not read`,
      );
      assert.deepEqual(
        read.filter((v) => !set.includes(v) && !(v in NOT_SET_IN_THE_CLOUD)),
        [],
        `${fn} reads variables Terraform does not set (set them in functions.tf, or list them above with a reason)`,
      );
      assert.deepEqual(
        set.filter((v) => v in NOT_SET_IN_THE_CLOUD),
        [],
        'a variable listed as not set in the cloud is set',
      );
    });
  }

  test("the aggregator's malloc arenas are set as bench:cycle runs it (2, read from functions.tf)", () => {
    assert.equal(plainEnv.aggregator?.MALLOC_ARENA_MAX, '2');
  });

  test('the not-set list names only variables some function reads', () => {
    const readByAny = new Set(functionNames.flatMap((fn) => envVarsOf(fn)));
    assert.deepEqual(
      Object.keys(NOT_SET_IN_THE_CLOUD).filter((v) => !readByAny.has(v)),
      [],
    );
  });

  test('the functions receive those lists: plain variables and secrets per function', () => {
    const fn = resource(config, 'google_cloudfunctions2_function.function');
    const service = nested(fn.body, 'service_config');
    assert.equal(service.environment_variables, '${local.function_env[each.key]}');
    const [secrets] = (service.dynamic as Record<string, Body[]>).secret_environment_variables ?? [];
    assert.ok(secrets, 'secrets are mounted through a dynamic block');
    assert.equal(secrets.for_each, '${toset(local.function_secret_env[each.key])}');
    assert.equal(nested(secrets, 'content').key, '${secret_environment_variables.value}');
  });

  test('the cloud runs on the real services: the project is set, BigQuery is the readings source', () => {
    for (const fn of functionNames) assert.equal(plainEnv[fn]?.GOOGLE_CLOUD_PROJECT, '${var.project_id}');
    assert.equal(plainEnv.dispatcher?.READINGS_SOURCE, 'bigquery');
    assert.equal(plainEnv.dispatcher?.MAX_DELIVERY_ATTEMPTS, '${var.max_delivery_attempts}');
  });
});
