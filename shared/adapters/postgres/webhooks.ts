/**
 * webhook_subscriptions, webhook_deliveries, webhook_attempts and webhook_fanout (owner module): the
 * API's subscriptions and delivery log, and the worker's fan-out and attempts. Every API statement is
 * scoped by tenant.
 */
import { createHash } from 'node:crypto';
import type { EventKind } from '../../anomaly/events.ts';
import type {
  AttemptResult,
  DeliveryAttempt,
  DeliveryJob,
  DeliveryStatus,
  NewSubscription,
  WebhookDelivery,
  WebhookSubscription,
} from '../../webhooks/store.ts';
import { readEvents } from './anomaly-events.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

interface SubscriptionRow {
  id: string;
  tenant_id: string;
  url: string;
  events: EventKind[];
  description: string | null;
  created_at: Date;
}

const subscription = (r: SubscriptionRow): WebhookSubscription => ({
  id: r.id,
  tenantId: r.tenant_id,
  url: r.url,
  events: r.events,
  description: r.description,
  createdAt: r.created_at.toISOString(),
});

export async function insertSubscription(db: Db, s: NewSubscription): Promise<WebhookSubscription> {
  const [row] = await db<SubscriptionRow[]>`
    insert into webhook_subscriptions (id, tenant_id, url, events, secret_enc, description)
    values (${s.id}, ${s.tenantId}, ${s.url}, ${s.events}::text[], ${s.secretEnc}, ${s.description})
    returning id, tenant_id, url, events, description, created_at`;
  return subscription(row!);
}

export async function listSubscriptions(db: Db, tenantId: string): Promise<WebhookSubscription[]> {
  const rows = await db<SubscriptionRow[]>`
    select id, tenant_id, url, events, description, created_at from webhook_subscriptions
    where tenant_id = ${tenantId} and deleted_at is null order by created_at, id`;
  return rows.map(subscription);
}

export async function findSubscription(
  db: Db,
  tenantId: string,
  id: string,
): Promise<WebhookSubscription | null> {
  const rows = await db<SubscriptionRow[]>`
    select id, tenant_id, url, events, description, created_at from webhook_subscriptions
    where tenant_id = ${tenantId} and id = ${id} and deleted_at is null`;
  return rows[0] ? subscription(rows[0]) : null;
}

/** Soft delete: the delivery log stays readable, nothing more is sent. */
export async function deleteSubscription(db: Db, tenantId: string, id: string): Promise<boolean> {
  const r = await db`
    update webhook_subscriptions set deleted_at = now()
    where tenant_id = ${tenantId} and id = ${id} and deleted_at is null`;
  return r.count > 0;
}

interface DeliveryRow {
  id: string;
  subscription_id: string;
  event_id: string;
  event_kind: EventKind;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
}

const deliveryColumns = (p: string) =>
  `${p}id, ${p}subscription_id, ${p}event_id::text as event_id, ${p}event_kind, ${p}status, ${p}attempts,
   ${p}last_status_code, ${p}last_error, ${p}last_attempt_at, ${p}delivered_at, ${p}created_at`;

const delivery = (r: DeliveryRow, attemptLog: DeliveryAttempt[]): WebhookDelivery => ({
  id: r.id,
  subscriptionId: r.subscription_id,
  eventId: `evt_${r.event_id}`,
  eventType: `anomaly.${r.event_kind}`,
  status: r.status,
  attempts: r.attempts,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  lastAttemptAt: r.last_attempt_at?.toISOString() ?? null,
  deliveredAt: r.delivered_at?.toISOString() ?? null,
  createdAt: r.created_at.toISOString(),
  attemptLog,
});

async function withAttempts(db: Db, rows: DeliveryRow[]): Promise<WebhookDelivery[]> {
  if (rows.length === 0) return [];
  const attempts = await db<(DeliveryAttempt & { delivery_id: string; at: Date })[]>`
    select delivery_id, attempt, at, status_code as "statusCode", error, duration_ms as "durationMs"
    from webhook_attempts where delivery_id = any(${rows.map((r) => r.id)}::text[]) order by id`;
  const by = new Map<string, DeliveryAttempt[]>();
  for (const a of attempts) {
    const list = by.get(a.delivery_id) ?? [];
    list.push({
      attempt: a.attempt,
      at: a.at.toISOString(),
      statusCode: a.statusCode,
      error: a.error,
      durationMs: a.durationMs,
    });
    by.set(a.delivery_id, list);
  }
  return rows.map((r) => delivery(r, by.get(r.id) ?? []));
}

export async function listDeliveries(
  db: Db,
  tenantId: string,
  subscriptionId: string,
  limit: number,
): Promise<WebhookDelivery[]> {
  const rows = await db<DeliveryRow[]>`
    select ${db.unsafe(deliveryColumns(''))} from webhook_deliveries
    where tenant_id = ${tenantId} and subscription_id = ${subscriptionId}
    order by created_at desc, id desc limit ${limit}`;
  return withAttempts(db, rows);
}

/** Back in the queue, with a fresh budget of attempts; the next fan-out publishes it. */
export async function requeueDelivery(
  db: Db,
  tenantId: string,
  subscriptionId: string,
  id: string,
): Promise<WebhookDelivery | null> {
  const rows = await db<DeliveryRow[]>`
    update webhook_deliveries d set status = 'pending', queued_at = null, attempts_at_queue = attempts
    from webhook_subscriptions s
    where d.id = ${id} and d.tenant_id = ${tenantId} and d.subscription_id = ${subscriptionId}
      and s.id = d.subscription_id and s.deleted_at is null
    returning ${db.unsafe(deliveryColumns('d.'))}`;
  const got = await withAttempts(db, rows);
  return got[0] ?? null;
}

// The delivery worker's side

const deliveryId = (subscriptionId: string, eventId: number) =>
  `dlv_${createHash('sha256').update(`${subscriptionId}:${eventId}`).digest('hex').slice(0, 24)}`;

export async function fanoutDeliveries(
  sql: Sql,
  body: (e: { eventId: string; kind: EventKind; at: string; anomaly: unknown }) => string,
  publish: (ids: string[]) => Promise<void>,
  limit: number,
): Promise<number> {
  return sql.begin(async (tx) => {
    const [cursor] = await tx<{ tx: string; event_id: string }[]>`
      select tx::text as tx, event_id::text as event_id from webhook_fanout for update`;
    const events = await readEvents(tx, null, { tx: cursor!.tx, id: Number(cursor!.event_id) }, limit);
    if (events.length > 0) {
      const subs = await tx<{ id: string; tenant_id: string; events: string[] }[]>`
        select id, tenant_id, events from webhook_subscriptions
        where deleted_at is null and tenant_id = any(${[...new Set(events.map((e) => e.tenantId))]}::text[])`;
      const rows: [string, string, string, number, string, string][] = [];
      for (const e of events) {
        const text = body({ eventId: `evt_${e.position.id}`, kind: e.kind, at: e.at, anomaly: e.anomaly });
        for (const s of subs) {
          if (s.tenant_id === e.tenantId && s.events.includes(e.kind)) {
            rows.push([deliveryId(s.id, e.position.id), s.tenant_id, s.id, e.position.id, e.kind, text]);
          }
        }
      }
      if (rows.length > 0) {
        const col = (i: number) => rows.map((r) => r[i]);
        await tx.unsafe(
          `insert into webhook_deliveries (id, tenant_id, subscription_id, event_id, event_kind, body, status)
           select id, t, s, e, k, b, 'pending'
           from unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[]) as x(id, t, s, e, k, b)
           on conflict (subscription_id, event_id) do nothing`,
          [col(0), col(1), col(2), col(3), col(4), col(5)] as never[],
        );
      }
      const last = events[events.length - 1]!.position;
      await tx`update webhook_fanout set tx = ${last.tx}::xid8, event_id = ${last.id}`;
    }
    const queued = await tx<{ id: string }[]>`
      select id from webhook_deliveries where status = 'pending' and queued_at is null
      order by created_at, id limit ${limit} for update skip locked`;
    const ids = queued.map((r) => r.id);
    if (ids.length === 0) return 0;
    // Published before the commit: if publishing fails, the transaction rolls back and they stay queued.
    await publish(ids);
    await tx`update webhook_deliveries set queued_at = now() where id = any(${ids}::text[])`;
    return ids.length;
  });
}

export async function deliveryJob(db: Db, id: string): Promise<DeliveryJob | null> {
  const rows = await db<
    {
      id: string;
      tenant_id: string;
      event_id: string;
      body: string;
      status: DeliveryStatus;
      attempts: number;
      url: string;
      secret_enc: string;
      deleted: boolean;
    }[]
  >`
    select d.id, d.tenant_id, d.event_id::text as event_id, d.body, d.status,
      d.attempts - d.attempts_at_queue as attempts, s.url, s.secret_enc, s.deleted_at is not null as deleted
    from webhook_deliveries d join webhook_subscriptions s on s.id = d.subscription_id
    where d.id = ${id}`;
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    tenantId: r.tenant_id,
    eventId: `evt_${r.event_id}`,
    body: r.body,
    status: r.status,
    attempts: r.attempts,
    url: r.url,
    secretEnc: r.secret_enc,
    deleted: r.deleted,
  };
}

export async function recordAttempt(
  db: Db,
  id: string,
  result: AttemptResult,
  status: DeliveryStatus,
): Promise<void> {
  await db`
    with d as (
      update webhook_deliveries set attempts = attempts + 1, last_status_code = ${result.statusCode},
        last_error = ${result.error}, last_attempt_at = now(), status = ${status},
        delivered_at = case when ${status} = 'delivered' then now() else delivered_at end
      where id = ${id}
      returning id, attempts)
    insert into webhook_attempts (delivery_id, attempt, status_code, error, duration_ms)
    select id, attempts, ${result.statusCode}, ${result.error}, ${Math.round(result.durationMs)} from d`;
}

export async function markDeliveryDead(db: Db, id: string, reason: string): Promise<void> {
  await db`
    update webhook_deliveries set status = 'dead', last_error = ${reason}
    where id = ${id} and status = 'pending'`;
}

/** Retention: delivered and dead deliveries created before `before` (their attempts go with them). */
export async function purgeFinishedDeliveries(db: Db, before: Date): Promise<number> {
  return (await db`delete from webhook_deliveries where status <> 'pending' and created_at < ${before}`)
    .count;
}

/** The delivery worker's store (shared/webhooks/store.ts WebhookWorkerStore) on one client. */
export function postgresWebhookWorkerStore(sql: Sql) {
  return {
    fanout: (
      body: (e: { eventId: string; kind: EventKind; at: string; anomaly: unknown }) => string,
      publish: (ids: string[]) => Promise<void>,
      limit: number,
    ) => fanoutDeliveries(sql, body, publish, limit),
    job: (id: string) => deliveryJob(sql, id),
    recordAttempt: (id: string, result: AttemptResult, status: DeliveryStatus) =>
      recordAttempt(sql, id, result, status),
    markDead: (id: string, reason: string) => markDeliveryDead(sql, id, reason),
  };
}
