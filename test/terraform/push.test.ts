/**
 * The functions have no Eventarc trigger: our push subscriptions (terraform/pubsub.tf) post the plain
 * Pub/Sub push body to FUNCTION_URL/projects/P/topics/T, and the functions framework must turn it into
 * the CloudEvent the handlers are registered for. This drives the real framework with the body Pub/Sub
 * sends, on the path Terraform configures.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { loadTerraform, resource } from './config.ts';

type PushedMessage = { message?: { data?: string; attributes?: Record<string, string>; messageId?: string } };
const received: ff.CloudEvent<PushedMessage>[] = [];
ff.cloudEvent<PushedMessage>('push-probe', (event: ff.CloudEvent<PushedMessage>) => {
  received.push(event);
});

const server = getTestServer('push-probe');
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

test('a push on the path Terraform configures reaches a CloudEvent handler with data and attributes', async () => {
  const config = await loadTerraform();
  const endpoint = String(
    (resource(config, 'google_pubsub_subscription.push').body.push_config as Record<string, unknown>[])[0]
      ?.push_endpoint,
  );
  // FUNCTION_URL/projects/${var.project_id}/topics/TOPIC, with the URL and values filled in.
  const path = endpoint
    .replace(/^\$\{[^}]+\.uri\}/, '')
    .replace('${var.project_id}', 'water-utility-prod')
    .replace('${each.value.topic_name}', 'wnm-cycle');
  assert.equal(path, '/projects/water-utility-prod/topics/wnm-cycle');

  const body = {
    message: {
      data: Buffer.from(JSON.stringify({ kind: 'maintenance' })).toString('base64'),
      attributes: { kind: 'maintenance' },
      messageId: '1234567890',
      publishTime: '2025-01-01T03:17:00.000Z',
    },
    subscription: 'projects/water-utility-prod/subscriptions/wnm-dispatcher-cycle',
    deliveryAttempt: 2,
  };
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 204);

  const [event] = received;
  assert.equal(event?.type, 'google.cloud.pubsub.topic.v1.messagePublished');
  assert.equal(event?.source, '//pubsub.googleapis.com/projects/water-utility-prod/topics/wnm-cycle');
  assert.deepEqual(event?.data?.message?.attributes, { kind: 'maintenance' });
  assert.equal(event?.data?.message?.messageId, '1234567890');
  assert.deepEqual(JSON.parse(Buffer.from(event?.data?.message?.data ?? '', 'base64').toString()), {
    kind: 'maintenance',
  });
});
