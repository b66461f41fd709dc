import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadTerraform, parseTerraformFiles, TERRAFORM_DIR } from './config.ts';
import { checkAgainstSchemas, loadProviderSchemas } from './schema-check.ts';

// The schema file must match the google provider constraint versions.tf pins.
const GOOGLE_CONSTRAINT = '~> 7.42';
const schemas = loadProviderSchemas('google-provider-schema-7.42.0.json');

describe('terraform/ against the provider schemas', () => {
  test('pins the google provider to the major the schema describes', () => {
    const versions = readFileSync(`${TERRAFORM_DIR}versions.tf`, 'utf8');
    const google = /google\s*=\s*\{[^}]*version\s*=\s*"([^"]+)"/.exec(versions);
    assert.equal(google?.[1], GOOGLE_CONSTRAINT);
  });

  test('every resource, data source and nested block is valid', async () => {
    const config = await loadTerraform();
    assert.ok(config.resources.length > 50, 'parsed the whole configuration');
    assert.deepEqual(checkAgainstSchemas(config, schemas), []);
  });
});

describe('the schema check catches', () => {
  const check = async (hcl: string) =>
    checkAgainstSchemas(await parseTerraformFiles({ 'x.tf': hcl }), schemas);

  test('a misspelt attribute in a nested block, with its path', async () => {
    const problems = await check(`
      resource "google_pubsub_subscription" "s" {
        name  = "s"
        topic = "t"
        dead_letter_policy {
          dead_letter_topic     = "d"
          max_delivery_attemps = 5
        }
      }`);
    assert.deepEqual(problems, [
      'x.tf: google_pubsub_subscription.s.dead_letter_policy: unknown max_delivery_attemps',
    ]);
  });

  test('a misspelt attribute inside a dynamic block', async () => {
    const problems = await check(`
      resource "google_cloudfunctions2_function" "f" {
        name     = "f"
        location = "europe-west1"
        service_config {
          dynamic "secret_environment_variables" {
            for_each = ["A"]
            content {
              key        = secret_environment_variables.value
              project_id = "p"
              secret     = "s"
              versoin    = "1"
            }
          }
        }
      }`);
    assert.deepEqual(problems, [
      'x.tf: google_cloudfunctions2_function.f.service_config.secret_environment_variables: unknown versoin',
      'x.tf: google_cloudfunctions2_function.f.service_config.secret_environment_variables: missing required version',
    ]);
  });

  test('a missing required attribute and a missing required block', async () => {
    const problems = await check(`
      resource "google_secret_manager_secret" "s" {
        labels = { a = "b" }
      }`);
    assert.deepEqual(problems, [
      'x.tf: google_secret_manager_secret.s: missing required secret_id',
      'x.tf: google_secret_manager_secret.s: missing required block replication',
    ]);
  });

  test('a computed-only attribute that is set, and an unknown block', async () => {
    const problems = await check(`
      resource "google_cloudfunctions2_function" "f" {
        name     = "f"
        location = "europe-west1"
        url      = "https://example.com"
        trigger {
          x = 1
        }
      }`);
    assert.deepEqual(problems.sort(), [
      'x.tf: google_cloudfunctions2_function.f: unknown trigger',
      "x.tf: google_cloudfunctions2_function.f: url is computed-only and can't be set",
    ]);
  });

  test('a resource type no schema covers', async () => {
    const problems = await check('resource "google_compute_instance" "vm" {}');
    assert.deepEqual(problems, [
      'x.tf: google_compute_instance.vm: type not covered by the provider schemas',
    ]);
  });
});
