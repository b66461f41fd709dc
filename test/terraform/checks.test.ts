/**
 * The offline checks catch more than names (issue 15): a reference's attribute path is checked against
 * the provider schema (`service_config[0].urll` fails), and enum-like values against the lists kept in
 * schemas/enums.json (`ALIGN_SUMM` fails). Each mistake is made on a temporary copy of the real files.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadTerraform, TERRAFORM_DIR } from './config.ts';
import { badEnumValues, loadEnums } from './enums.ts';
import { badAttributePaths, traversals } from './paths.ts';
import { type BlockSchema, loadProviderSchemas } from './schema-check.ts';

const schemas = loadProviderSchemas('google-provider-schema-7.42.0.json');
const work = mkdtempSync(join(tmpdir(), 'wnm-tf-checks-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A copy of terraform/ with one file edited; the edit must change the file. */
async function withEdit(file: string, from: string, to: string) {
  const dir = mkdtempSync(join(work, 'copy-'));
  cpSync(TERRAFORM_DIR, dir, { recursive: true, filter: (src) => !src.includes('.terraform') });
  const text = readFileSync(join(dir, file), 'utf8');
  assert.ok(text.includes(from), `${file} has no "${from}" to edit`);
  writeFileSync(join(dir, file), text.replace(from, to));
  return loadTerraform(`${dir}/`);
}

describe('attribute paths of references', () => {
  test('every reference in terraform/ names attributes and blocks the schema has, indexed as it nests them', async () => {
    assert.deepEqual(badAttributePaths(await loadTerraform(), schemas), []);
  });

  test('a misspelt attribute behind a dynamic index fails: service_config[0].urll', async () => {
    const config = await withEdit(
      'pubsub.tf',
      'service_config[0].uri}/projects',
      'service_config[0].urll}/projects',
    );
    assert.deepEqual(badAttributePaths(config, schemas), [
      'pubsub.tf: google_cloudfunctions2_function.function[each.value.function].service_config[0].urll: google_cloudfunctions2_function.function.service_config[]: no attribute or block urll',
    ]);
  });

  test('a list block used without its index, and an attribute of a plain resource, fail', async () => {
    const config = await withEdit(
      'outputs.tf',
      'google_pubsub_subscription.dead_letter_hold.name',
      'google_pubsub_subscription.dead_letter_hold.nam',
    );
    assert.deepEqual(badAttributePaths(config, schemas), [
      'outputs.tf: google_pubsub_subscription.dead_letter_hold.nam: google_pubsub_subscription.dead_letter_hold: no attribute or block nam',
    ]);
    const unindexed = await withEdit('iam.tf', 'service_config[0].service', 'service_config.service');
    assert.match(
      badAttributePaths(unindexed, schemas).join('\n'),
      /service_config: a list of blocks, index it before \.service/,
    );
  });

  test('traversals are read through indexes and nested templates, not from string literals', () => {
    assert.deepEqual(
      traversals('var.x ? google_sql_database_instance.main[0].server_ca_cert[0].cert : "a.b_c.d"').map(
        (t) => t.text,
      ),
      ['google_sql_database_instance.main[0].server_ca_cert[0].cert'],
    );
  });
});

describe('enum-like values', () => {
  const enums = loadEnums();

  test('every value terraform/ gives an enum-like attribute is on its list', async () => {
    assert.deepEqual(badEnumValues(await loadTerraform(), enums), []);
  });

  test('a misspelt aligner fails: ALIGN_SUMM', async () => {
    const config = await withEdit('alerts.tf', '"ALIGN_SUM"', '"ALIGN_SUMM"');
    const problems = badEnumValues(config, enums);
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!,
      /^alerts\.tf: google_monitoring_alert_policy\.data_stale\.conditions\.condition_absent\.aggregations\.per_series_aligner = ALIGN_SUMM \(allowed: /,
    );
  });

  test('reducers, comparisons, ingress settings (through a local map) and runtimes are checked too', async () => {
    const cases: [string, string, string, RegExp][] = [
      ['alerts.tf', '"REDUCE_PERCENTILE_95"', '"REDUCE_P95"', /cross_series_reducer = REDUCE_P95/],
      ['alerts.tf', '"COMPARISON_GT"', '"GREATER"', /comparison = GREATER/],
      [
        'functions.tf',
        'api        = "ALLOW_ALL"',
        'api        = "ALLOW_EVERYONE"',
        /ingress_settings = ALLOW_EVERYONE/,
      ],
      ['functions.tf', '"nodejs24"', '"nodejs25"', /runtime = nodejs25/],
      ['functions.tf', '"VPC_EGRESS_PRIVATE_RANGES_ONLY"', '"PRIVATE"', /direct_vpc_egress = PRIVATE /],
    ];
    for (const [file, from, to, expected] of cases) {
      assert.match(
        badEnumValues(await withEdit(file, from, to), enums).join('\n'),
        expected,
        `${file}: ${to}`,
      );
    }
  });

  test('each attribute the lists name exists in its resource type’s schema', () => {
    const names = (block: BlockSchema, out = new Set<string>()) => {
      for (const a of Object.keys(block.attributes ?? {})) out.add(a);
      for (const b of Object.values(block.block_types ?? {})) names(b.block, out);
      return out;
    };
    for (const [type, rules] of Object.entries(enums.attributes)) {
      const schema =
        schemas.provider_schemas['registry.terraform.io/hashicorp/google']!.resource_schemas![type];
      assert.ok(schema, `enums.json names ${type}, which no schema covers`);
      const known = names(schema.block);
      for (const attribute of Object.keys(rules))
        assert.ok(known.has(attribute), `${type} has no ${attribute}`);
    }
  });
});
