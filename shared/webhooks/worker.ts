/**
 * The webhook delivery worker, behind the webhooks function (Pub/Sub push on the webhook-deliveries
 * topic, its own service account). Two kinds of message:
 * - `fanout` (after a cycle wrote events, and every minute from Cloud Scheduler): new events become
 *   deliveries for the matching subscriptions, and every queued delivery (new or replayed) is published
 *   as a `deliver` message;
 * - `deliver`: one signed POST. Success is logged and acked. Failure is logged and thrown, so Pub/Sub
 *   redelivers with its exponential backoff; the attempt that reaches WEBHOOK_MAX_ATTEMPTS marks the
 *   delivery dead instead (acked; an admin replays it from the log). The subscription's own dead-letter
 *   policy, a few attempts later, is the safety net for a worker that crashes: the dead-letter handler
 *   marks the delivery dead.
 */
import type { Bus, OutgoingMessage, PubSubCloudEvent } from '../adapters/bus/bus.ts';
import { renderEvent } from '../anomaly/events.ts';
import type { Logger } from '../log.ts';
import type { SecretBox } from './secrets.ts';
import { sendDelivery } from './send.ts';
import type { WebhookWorkerStore } from './store.ts';
import type { TargetPolicy } from './targets.ts';

export interface WebhookWorkerDeps {
  store: WebhookWorkerStore;
  bus: Bus;
  box: SecretBox;
  policy: TargetPolicy;
  topic: string;
  maxAttempts: number;
  timeoutMs: number;
  logger: Logger;
}

export class DeliveryFailed extends Error {
  override name = 'DeliveryFailed';
}

export const fanoutMessage = (): OutgoingMessage => ({
  data: Buffer.from('{"kind":"fanout"}'),
  attributes: { kind: 'fanout' },
});

const deliverMessage = (deliveryId: string): OutgoingMessage => ({
  data: Buffer.from(JSON.stringify({ kind: 'deliver', deliveryId })),
  attributes: { kind: 'deliver', deliveryId },
});

const PAGE = 500;

/** Fans out until nothing is left; resolves with how many deliveries were queued. */
export async function fanout(deps: WebhookWorkerDeps): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deps.store.fanout(
      renderEvent,
      async (ids) => {
        await deps.bus.publish(deps.topic, ids.map(deliverMessage));
      },
      PAGE,
    );
    total += n;
    if (n < PAGE) return total;
  }
}

export async function deliver(
  deps: WebhookWorkerDeps,
  deliveryId: string,
): Promise<'delivered' | 'dead' | 'retry' | 'skipped'> {
  const job = await deps.store.job(deliveryId);
  if (job?.status !== 'pending') return 'skipped';
  const log = deps.logger.child({ deliveryId, tenantId: job.tenantId, eventId: job.eventId });
  if (job.deleted) {
    await deps.store.markDead(deliveryId, 'subscription deleted');
    return 'dead';
  }
  const result = await sendDelivery(job.url, job.body, deps.box.open(job.secretEnc), job.eventId, {
    policy: deps.policy,
    timeoutMs: deps.timeoutMs,
  });
  const { ok: _ok, ...attempt } = result;
  if (result.ok) {
    await deps.store.recordAttempt(deliveryId, attempt, 'delivered');
    log.info('webhook delivered', { event: 'webhook.delivered', attempt: job.attempts + 1 });
    return 'delivered';
  }
  if (job.attempts + 1 >= deps.maxAttempts) {
    await deps.store.recordAttempt(deliveryId, attempt, 'dead');
    log.error('webhook delivery dead-lettered', {
      event: 'webhook.dead_lettered',
      attempts: job.attempts + 1,
      error: result.error,
    });
    return 'dead';
  }
  await deps.store.recordAttempt(deliveryId, attempt, 'pending');
  log.warn('webhook delivery failed; Pub/Sub retries it', {
    event: 'webhook.failed',
    attempt: job.attempts + 1,
    error: result.error,
  });
  return 'retry';
}

export async function handleWebhookEvent(deps: WebhookWorkerDeps, event: PubSubCloudEvent): Promise<void> {
  const attrs = event.data?.message.attributes ?? {};
  if (attrs.CloudPubSubDeadLetterSourceDeliveryCount !== undefined) {
    if (attrs.kind === 'deliver' && attrs.deliveryId) {
      await deps.store.markDead(attrs.deliveryId, 'dead-lettered by Pub/Sub');
    }
    return;
  }
  if (attrs.kind === 'fanout') {
    await fanout(deps);
    return;
  }
  if (attrs.kind === 'deliver' && attrs.deliveryId) {
    const outcome = await deliver(deps, attrs.deliveryId);
    if (outcome === 'retry') throw new DeliveryFailed(`delivery ${attrs.deliveryId} failed`);
    return;
  }
  deps.logger.error('unknown webhook message', { event: 'message.poison', attributes: attrs });
}
