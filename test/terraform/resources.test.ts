import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  type Body,
  defaultOf,
  literalOrDefault,
  loadTerraform,
  nested,
  parseTerraformFiles,
  resource,
  resourcesOfType,
  TERRAFORM_DIR,
} from './config.ts';
import { unresolvedReferences } from './references.ts';

const config = await loadTerraform();

/** Minutes of the hour a cron minute field fires at (*, N, a-b, lists, /step). */
function cronMinutes(field: string): number[] {
  const minutes = new Set<number>();
  for (const part of field.split(',')) {
    const [range, step = '1'] = part.split('/');
    const [from, to] =
      range === '*'
        ? [0, 59]
        : range!.includes('-')
          ? range!.split('-').map(Number)
          : [Number(range), step === '1' ? Number(range) : 59];
    for (let m = from!; m <= to!; m += Number(step)) minutes.add(m);
  }
  return [...minutes].sort((a, b) => a - b);
}

/** True when a five-field cron expression fires every `every` minutes, around the clock. */
function firesEvery(cron: string, every: number): boolean {
  const [minute, ...rest] = cron.trim().split(/\s+/);
  if (rest.length !== 4 || rest.some((f) => f !== '*')) return false;
  const m = cronMinutes(minute!);
  const gaps = m.map((v, i) => (i + 1 < m.length ? m[i + 1]! - v : 60 - v + m[0]!));
  return gaps.every((g) => g === every);
}

const topicNameOf = (expr: unknown) =>
  /^\$\{google_pubsub_topic\.([\w-]+)\.(?:id|name)\}$/.exec(String(expr))?.[1];

describe('Pub/Sub', () => {
  const topics = new Set(resourcesOfType(config, 'google_pubsub_topic').map((t) => t.name));
  const subscriptions = resourcesOfType(config, 'google_pubsub_subscription');

  /** Topic expressions of a subscription, through its for_each local when it has one. */
  function topicsOf(body: Body): unknown[] {
    if (body.topic !== '${each.value.topic}') return [body.topic];
    const local = /^\$\{local\.([\w-]+)\}$/.exec(String(body.for_each))?.[1];
    assert.ok(local, 'a for_each subscription takes its topics from a local');
    return Object.values(config.locals[local] as Record<string, Body>).map((entry) => entry.topic);
  }

  test('has the cycle, node work, network roll-up, webhook and dead-letter topics', () => {
    assert.deepEqual([...topics].sort(), [
      'cycle',
      'dead_letter',
      'network_rollup',
      'node_work',
      'webhook_dead_letter',
      'webhook_deliveries',
    ]);
  });

  test('every subscription reads a declared topic and dead-letters to a declared topic', () => {
    const deadLetterTopics = new Set(
      subscriptions
        .flatMap((s) => (s.body.dead_letter_policy as Body[] | undefined) ?? [])
        .map((p) => topicNameOf(p.dead_letter_topic)),
    );
    assert.deepEqual([...deadLetterTopics].sort(), ['dead_letter', 'webhook_dead_letter']);
    for (const sub of subscriptions) {
      const read = topicsOf(sub.body).map(topicNameOf);
      for (const topic of read)
        assert.ok(topic && topics.has(topic), `${sub.name} reads an undeclared topic`);
      // Subscriptions on the dead-letter topic itself can't dead-letter: that would loop onto their own topic.
      if (read.every((t) => deadLetterTopics.has(t))) {
        assert.equal(sub.body.dead_letter_policy, undefined, `${sub.name} reads dead letters`);
        if (sub.body.push_config === undefined) continue; // the operators' hold
      } else {
        const policy = nested(sub.body, 'dead_letter_policy');
        assert.ok(
          topics.has(topicNameOf(policy.dead_letter_topic)!),
          `${sub.name}: dead-letter topic not declared`,
        );
        assert.equal(
          policy.max_delivery_attempts,
          read.includes('webhook_deliveries')
            ? '${var.webhook_max_attempts + 2}'
            : '${var.max_delivery_attempts}',
        );
      }
      assert.ok(sub.body.retry_policy, `${sub.name} retries with backoff`);
      const push = nested(sub.body, 'push_config');
      assert.equal(
        nested(push, 'oidc_token').service_account_email,
        '${google_service_account.push_invoker.email}',
      );
      assert.match(String(push.push_endpoint), /\/projects\/\$\{var\.project_id\}\/topics\//);
    }
  });

  test('pushes the cycle to the dispatcher, and node work, roll-ups and dead letters to the aggregator', () => {
    const routes: string[] = [];
    for (const sub of subscriptions.filter((s) => s.body.push_config !== undefined)) {
      const endpoint = String(nested(sub.body, 'push_config').push_endpoint);
      if (endpoint.includes('[each.value.function]')) {
        const local = /^\$\{local\.([\w-]+)\}$/.exec(String(sub.body.for_each))![1]!;
        for (const entry of Object.values(config.locals[local] as Record<string, Body>)) {
          routes.push(`${topicNameOf(entry.topic)} -> ${entry.function}`);
        }
      } else {
        const fn = /google_cloudfunctions2_function\.function\["(\w+)"\]/.exec(endpoint)?.[1];
        routes.push(`${topicNameOf(sub.body.topic)} -> ${fn}`);
      }
    }
    assert.deepEqual(routes.sort(), [
      'cycle -> dispatcher',
      'dead_letter -> aggregator',
      'network_rollup -> aggregator',
      'node_work -> aggregator',
      'webhook_dead_letter -> webhooks',
      'webhook_deliveries -> webhooks',
    ]);
  });

  test('the Pub/Sub service agent may dead-letter: publish to the dead-letter topic, ack every push subscription', () => {
    const publish = resource(config, 'google_pubsub_topic_iam_member.pubsub_agent_dead_letters');
    assert.deepEqual(
      [publish.body.topic, publish.body.role, publish.body.member],
      ['${google_pubsub_topic.dead_letter.id}', 'roles/pubsub.publisher', '${local.pubsub_service_agent}'],
    );
    const ack = resource(config, 'google_pubsub_subscription_iam_member.pubsub_agent_acks_dead_lettered');
    assert.deepEqual(
      [ack.body.for_each, ack.body.role, ack.body.member],
      ['${google_pubsub_subscription.push}', 'roles/pubsub.subscriber', '${local.pubsub_service_agent}'],
    );
    // The agent is the Pub/Sub service identity, created (apis.tf) before any grant to it.
    assert.equal(
      config.locals.pubsub_service_agent,
      'serviceAccount:${google_project_service_identity.pubsub.email}',
    );
    const identity = resource(config, 'google_project_service_identity.pubsub');
    assert.equal(identity.body.service, 'pubsub.googleapis.com');
    assert.equal(identity.body.provider, '${google-beta}');
  });
});

describe('Cloud Scheduler', () => {
  test('the cycle job publishes to the cycle topic every 30 minutes', () => {
    const job = resource(config, 'google_cloud_scheduler_job.cycle');
    const schedule = String(literalOrDefault(config, job.body.schedule));
    assert.ok(firesEvery(schedule, 30), `cycle schedule "${schedule}"`);
    assert.equal(job.body.time_zone, '${var.schedule_time_zone}');
    assert.equal(nested(job.body, 'http_target').uri, '${local.scheduler_publish_uri}');
    assert.match(String(config.locals.scheduler_publish_uri), /google_pubsub_topic\.cycle\.id\}:publish$/);
    const example = readFileSync(`${TERRAFORM_DIR}terraform.tfvars.example`, 'utf8');
    const exampleSchedule = /^cycle_schedule\s*=\s*"([^"]+)"/m.exec(example)?.[1];
    assert.ok(
      exampleSchedule === undefined || firesEvery(exampleSchedule, 30),
      'the example keeps 30 minutes',
    );
  });

  test('the cron reading is right', () => {
    assert.ok(firesEvery('*/30 * * * *', 30));
    assert.ok(firesEvery('0,30 * * * *', 30));
    assert.ok(firesEvery('15-59/30 * * * *', 30));
    assert.ok(!firesEvery('*/15 * * * *', 30));
    assert.ok(!firesEvery('0 * * * *', 30));
    assert.ok(!firesEvery('*/30 8-18 * * *', 30));
  });

  test('the maintenance job sends kind=maintenance on the same topic', () => {
    const job = resource(config, 'google_cloud_scheduler_job.maintenance');
    assert.equal(nested(job.body, 'http_target').uri, '${local.scheduler_publish_uri}');
    const message = (config.locals.maintenance_message as { messages: Body[] }).messages[0]!;
    assert.deepEqual(message.attributes, { kind: 'maintenance' });
  });
});

describe('functions', () => {
  const fn = resource(config, 'google_cloudfunctions2_function.function');

  test('run on nodejs24 from the hash-named bundle of their own dist folder', () => {
    for (const f of resourcesOfType(config, 'google_cloudfunctions2_function')) {
      assert.equal(nested(f.body, 'build_config').runtime, 'nodejs24');
    }
    assert.equal(nested(fn.body, 'build_config').entry_point, '${each.key}');
    const bundle = config.data.find((d) => d.type === 'archive_file' && d.name === 'function_bundle')!;
    assert.equal(bundle.body.source_dir, '${path.module}/../dist/functions/${each.key}');
    const object = resource(config, 'google_storage_bucket_object.function_bundle');
    assert.match(
      String(object.body.name),
      /data\.archive_file\.function_bundle\[each\.key\]\.output_(sha256|md5)/,
    );
  });

  test('at max scale their PostgreSQL pools fit under the connection limit, and the plan checks it', () => {
    const type = String(config.variables.get('functions')!.type);
    let connections = 0;
    for (const [, name, body] of type.matchAll(/(\w+) = optional\(object\(\{([\s\S]*?)\}\), \{\}\)/g)) {
      const setting = (key: string) =>
        Number(new RegExp(`${key}\\s*=\\s*optional\\(number, (\\d+)\\)`).exec(body!)?.[1]);
      assert.ok(
        setting('max_instance_count') >= 1 && setting('pg_pool_max') >= 1,
        `${name} has sizing defaults`,
      );
      connections += setting('max_instance_count') * setting('pg_pool_max');
    }
    assert.ok(connections > 0);
    const limit = Number(defaultOf(config, 'sql_max_connections'));
    const reserve = Number(defaultOf(config, 'sql_reserved_connections'));
    assert.ok(connections + reserve <= limit, `${connections} + ${reserve} reserved > ${limit}`);

    const precondition = nested(fn.body, 'lifecycle', 'precondition');
    assert.match(
      String(precondition.condition),
      /local\.database_connections_at_max_scale \+ var\.sql_reserved_connections <= local\.database_max_connections/,
    );
    assert.match(
      String(config.locals.database_connections_at_max_scale),
      /f\.max_instance_count \* f\.pg_pool_max/,
    );
  });
});

describe('Cloud SQL', () => {
  const instance = resource(config, 'google_sql_database_instance.main');
  const settings = nested(instance.body, 'settings');

  test('has no public IP: private network only, encrypted connections only', () => {
    const ip = nested(settings, 'ip_configuration');
    assert.equal(ip.ipv4_enabled, false);
    assert.equal(ip.private_network, '${google_compute_network.vpc[0].id}');
    assert.equal(ip.authorized_networks, undefined);
    assert.equal(ip.ssl_mode, 'ENCRYPTED_ONLY');
  });

  test('keeps backups with point-in-time recovery and is protected from deletion', () => {
    const backups = nested(settings, 'backup_configuration');
    assert.equal(backups.enabled, true);
    assert.equal(backups.point_in_time_recovery_enabled, true);
    assert.equal(literalOrDefault(config, instance.body.deletion_protection), true);
    assert.equal(literalOrDefault(config, settings.deletion_protection_enabled), true);
  });
});

describe('variables and references', () => {
  test('every variable is in variables.tf, sorted, with a type, a description and (unless bool) a validation', () => {
    const text = readFileSync(`${TERRAFORM_DIR}variables.tf`, 'utf8');
    const declared = [...text.matchAll(/^variable "([^"]+)"/gm)].map((m) => m[1]!);
    assert.deepEqual(
      declared,
      [...config.variables.keys()].sort(),
      'all variables, in order, in variables.tf',
    );
    assert.deepEqual(declared, [...declared].sort());
    for (const [name, body] of config.variables) {
      assert.match(String(body.type ?? ''), /^\$\{.+\}$/s, `${name} has a type`);
      assert.ok(
        typeof body.description === 'string' && body.description.length > 20,
        `${name} has a description`,
      );
      if (body.type !== '${bool}') assert.ok(body.validation, `${name} has a validation`);
    }
  });

  test('the README documents every input and every output', () => {
    const readme = readFileSync(`${TERRAFORM_DIR}README.md`, 'utf8');
    const rows = new Set([...readme.matchAll(/^\| `([\w-]+)` \|/gm)].map((m) => m[1]));
    for (const name of [...config.variables.keys(), ...config.outputs.keys()]) {
      assert.ok(rows.has(name), `README.md has no table row for ${name}`);
    }
  });

  test('every reference resolves to a declared resource, data source, variable or local', async () => {
    assert.deepEqual(await unresolvedReferences(config), []);
  });

  test('the reference check catches an undeclared local and a count resource used without an index', async () => {
    const broken = await parseTerraformFiles({
      'x.tf': `
        locals {
          name = "\${local.prefx}-topic"
        }
        resource "google_compute_network" "vpc" {
          count = 1
          name  = local.name
        }
        resource "google_compute_subnetwork" "s" {
          name    = "s"
          network = google_compute_network.vpc.id
        }`,
    });
    assert.deepEqual(await unresolvedReferences(broken), [
      'google_compute_subnetwork.s.network: google_compute_network.vpc.id: google_compute_network.vpc has count, index it with [n]',
      'locals.name: local.prefx: no local prefx',
    ]);
  });
});
