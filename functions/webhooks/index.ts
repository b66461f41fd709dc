/**
 * The webhook delivery worker: CloudEvents from the webhook-deliveries topic (fan-out ticks and one
 * message per delivery) and its dead letters. Runs with its own service account: the only identity
 * that makes requests to subscribers' URLs. Throwing makes Pub/Sub redeliver (with backoff).
 */
import * as ff from '@google-cloud/functions-framework';
import type { PubSubCloudEvent } from '../../shared/adapters/bus/bus.ts';
import { inMessageSpan } from '../../shared/adapters/bus/trace.ts';
import { loadConfig } from '../../shared/config.ts';
import { once } from '../../shared/once.ts';
import { handleWebhookEvent } from '../../shared/webhooks/worker.ts';
import { startFunctionTracing } from '../../shared/wiring/telemetry.ts';
import { webhookDeps } from '../../shared/wiring/webhooks.ts';

const config = loadConfig();
export const tracing = startFunctionTracing(config, 'webhooks');
const deps = once(() => webhookDeps(config));

export async function webhooks(event: PubSubCloudEvent): Promise<void> {
  await tracing;
  await inMessageSpan('webhooks', event, async () => handleWebhookEvent(await deps(), event));
}

ff.cloudEvent('webhooks', (event: ff.CloudEvent<unknown>) => webhooks(event as PubSubCloudEvent));
