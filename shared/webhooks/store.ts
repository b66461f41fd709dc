/**
 * What webhooks need from storage (types only): the API's side (subscriptions, the delivery log,
 * replay) and the delivery worker's (fan-out of new events to deliveries, attempts). The PostgreSQL
 * adapter implements both (adapters/postgres/webhooks.ts).
 */
import type { EventKind } from '../anomaly/events.ts';

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface WebhookSubscription {
  id: string;
  tenantId: string;
  url: string;
  /** The event kinds sent; every kind when it holds them all. */
  events: EventKind[];
  description: string | null;
  createdAt: string;
}

export interface NewSubscription extends Omit<WebhookSubscription, 'createdAt'> {
  /** The signing secret, encrypted (secrets.ts): the signer needs it back, so it cannot be hashed. */
  secretEnc: string;
}

export interface DeliveryAttempt {
  attempt: number;
  at: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookDelivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  attemptLog: DeliveryAttempt[];
}

export interface WebhookStore {
  create(sub: NewSubscription): Promise<WebhookSubscription>;
  list(tenantId: string): Promise<WebhookSubscription[]>;
  find(tenantId: string, id: string): Promise<WebhookSubscription | null>;
  /** Deleted (no more deliveries; its log stays readable), or false when there was none. */
  remove(tenantId: string, id: string): Promise<boolean>;
  /** The subscription's deliveries, newest first, each with its attempts. */
  deliveries(tenantId: string, subscriptionId: string, limit: number): Promise<WebhookDelivery[]>;
  /** Puts a delivery back in the queue (the next fan-out sends it again); null when there is none. */
  requeue(tenantId: string, subscriptionId: string, deliveryId: string): Promise<WebhookDelivery | null>;
}

/** One delivery as the worker sends it. */
export interface DeliveryJob {
  id: string;
  tenantId: string;
  eventId: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  url: string;
  secretEnc: string;
  /** The subscription was deleted since. */
  deleted: boolean;
}

export interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookWorkerStore {
  /**
   * In one transaction: turns events past the fan-out position into deliveries (one per matching
   * subscription; `body` renders the request body), marks queued deliveries (new and replayed) sent
   * and hands their ids to `publish` before committing — so a failed publish leaves them queued.
   * Returns how many were published.
   */
  fanout(
    body: (e: { eventId: string; kind: EventKind; at: string; anomaly: unknown }) => string,
    publish: (deliveryIds: string[]) => Promise<void>,
    limit: number,
  ): Promise<number>;
  job(deliveryId: string): Promise<DeliveryJob | null>;
  /** Logs an attempt and sets the delivery's status. */
  recordAttempt(deliveryId: string, result: AttemptResult, status: DeliveryStatus): Promise<void>;
  /** Marks a delivery dead without an attempt (dead-lettered by Pub/Sub, subscription deleted). */
  markDead(deliveryId: string, reason: string): Promise<void>;
}
