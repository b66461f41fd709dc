/**
 * CloudEvent handlers behind the thin function entry points. Pub/Sub's contract: returning acks;
 * throwing makes Pub/Sub redeliver (and, after the subscription's max attempts, dead-letter).
 * Poison messages (bad base64, bad JSON, wrong schema) can never succeed, so they are sent to the
 * dead-letter topic at once and acked instead of being retried.
 */

import type { PubSubCloudEvent } from '../adapters/bus/bus.ts';
import { workKey } from '../adapters/coordination/coordinator.ts';
import { applyNodeBatches, BatchOutOfOrderError, refreshNodeViews } from './aggregate/index.ts';
import type { AggregatorDeps, DispatcherDeps } from './deps.ts';
import { dispatchCycle } from './dispatch/index.ts';
import { runMaintenance } from './maintenance/index.ts';
import {
  cycleMessageSchema,
  type NodeWorkMessage,
  nodeBatchesOf,
  rollupMessage,
  workItemsOf,
} from './messages.ts';
import { networkRollup } from './rollup/index.ts';

export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

/** Decodes and validates a Pub/Sub CloudEvent's payload; throws PoisonMessageError when it cannot be read. */
export function decodeEvent(event: PubSubCloudEvent) {
  const message = event.data?.message;
  if (!message?.data) throw new PoisonMessageError('no message data');
  const text = Buffer.from(message.data, 'base64').toString('utf8');
  if (Buffer.from(text, 'utf8').toString('base64').replace(/=+$/, '') !== message.data.replace(/=+$/, '')) {
    throw new PoisonMessageError('message data is not valid base64 of UTF-8 text');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PoisonMessageError('message data is not JSON');
  }
  const parsed = cycleMessageSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new PoisonMessageError(`message does not match the schema: ${where}`);
  }
  return parsed.data;
}

const isDeadLetter = (event: PubSubCloudEvent) =>
  event.data?.message.attributes?.CloudPubSubDeadLetterSourceDeliveryCount !== undefined;

/**
 * The node batches of one message (one for a single-node message): applied together
 * (`applyNodeBatches`), then each applied node's views refreshed, then ONE group of `finishWork`s for the
 * work items done. A batch that failed (out of order, or failing on its own) makes the message throw
 * after the others are recorded: the redelivery is a no-op for them (their watermarks) and retries it.
 */
async function handleNodes(
  deps: AggregatorDeps,
  msgs: readonly NodeWorkMessage[],
  attempt: number | undefined,
) {
  const first = msgs[0]!;
  const started = performance.now();
  const outcomes = await applyNodeBatches(deps, msgs);
  if (outcomes.some((o) => 'result' in o && (o.result.opened ?? 0) > 0)) await announce(deps, first.tenantId);
  const done: NodeWorkMessage[] = [];
  const failed: { msg: NodeWorkMessage; err: unknown }[] = [];
  await Promise.all(
    outcomes.map(async (o) => {
      // The node's ids go with each line; no child logger per node (a pino child costs more than the
      // debug line, which is off at the default level).
      const ids = { runId: o.msg.runId, nodeId: o.msg.node.id, part: o.msg.part };
      if ('error' in o) {
        failed.push({ msg: o.msg, err: o.error });
        return;
      }
      try {
        await refreshNodeViews(deps, o.msg.node);
      } catch (err) {
        failed.push({ msg: o.msg, err });
        return;
      }
      done.push(o.msg);
      deps.logger.debug('node aggregated', {
        ...ids,
        event: 'node.aggregated',
        applied: o.result.applied,
        readings: o.result.readings,
        rejected: o.result.rejected,
        durationMs: Math.round(performance.now() - started),
      });
    }),
  );
  for (const { msg, err } of failed) {
    deps.logger.warn('node failed; the message will be redelivered', {
      runId: msg.runId,
      nodeId: msg.node.id,
      part: msg.part,
      event: 'node.failed',
      attempt,
      err,
    });
  }
  // Together: one group commit (`coordination/firestore.ts`).
  const { completedRun } = await deps.coordinator.finishWorks(
    first.runId,
    done.map((m) => ({ workKey: workKey(m.node.id, m.part), outcome: 'done' as const })),
  );
  if (completedRun) await publishRollup(deps, first.runId, first.tenantId);
  if (failed.length === 0) return;
  if (msgs.length === 1) throw failed[0]!.err;
  const what = `${failed.length} of ${msgs.length} node batches (${failed
    .slice(0, 5)
    .map((f) => f.msg.node.id)
    .join(', ')})`;
  // Only batches out of order: the message is one, retried later (as a single node's would be).
  if (failed.every((f) => f.err instanceof BatchOutOfOrderError))
    throw new BatchOutOfOrderError(`${what} out of order; the others are applied`);
  throw new Error(`${what} failed; the others are applied`, { cause: failed[0]!.err });
}

/** Opened anomalies are pushed at once; changes the rollup makes (and updates) with the rollup. */
async function announce(deps: AggregatorDeps, tenantId: string) {
  await deps.announceEvents?.(tenantId).catch((err: unknown) =>
    deps.logger.warn('announcing anomaly events failed; streams and the fan-out poll', {
      event: 'events.announce_failed',
      err,
    }),
  );
}

async function publishRollup(deps: AggregatorDeps, runId: string, tenantId: string) {
  await deps.bus.publish(deps.settings.topics.networkRollup, [rollupMessage(runId, tenantId)]);
}

/**
 * A message that exhausted its delivery attempts. A node's: its work item is recorded as failed (the
 * run ends partial, the node's watermark keeps its data for the next cycle). A rollup's: replayed once
 * here; if it fails again, the message is acked and the dispatcher's sweep closes the run (`dispatch/sweep.ts`).
 */
async function handleDeadLetter(deps: AggregatorDeps, event: PubSubCloudEvent) {
  const attrs = event.data?.message.attributes ?? {};
  // A multi-node message's lines name each node it marks failed.
  if (attrs.kind === 'nodes') return deadLetteredNodes(deps, event);
  deps.logger.error('message dead-lettered', {
    event: 'message.dead_lettered',
    runId: attrs.runId,
    nodeId: attrs.nodeId,
    kind: attrs.kind,
    reason: attrs.poison ? 'poison' : 'max delivery attempts',
    deliveryCount: attrs.CloudPubSubDeadLetterSourceDeliveryCount,
  });
  if (attrs.kind === 'node' && attrs.runId && attrs.nodeId && attrs.tenantId) {
    const key = workKey(attrs.nodeId, Number(attrs.part ?? 0));
    const { completedRun } = await deps.coordinator.finishWork(attrs.runId, key, 'failed');
    if (completedRun) await publishRollup(deps, attrs.runId, attrs.tenantId);
  }
  if (attrs.kind === 'rollup' && attrs.runId && attrs.tenantId) {
    try {
      await networkRollup(deps, attrs.runId, attrs.tenantId);
      deps.logger.info('dead-lettered rollup replayed', { event: 'rollup.replayed', runId: attrs.runId });
    } catch (err) {
      deps.logger.error('dead-lettered rollup failed again; the sweep will close the run', {
        event: 'rollup.replay_failed',
        runId: attrs.runId,
        err,
      });
    }
  }
}

/**
 * A dead-lettered multi-node message: its nodes are in its data (read leniently: a poison message's
 * too). The batches whose node's watermark reached their end were applied by an earlier delivery and
 * are recorded done (if that delivery already recorded them, nothing changes); the others failed.
 */
async function deadLetteredNodes(deps: AggregatorDeps, event: PubSubCloudEvent) {
  const attrs = event.data?.message.attributes ?? {};
  let data: unknown = null;
  try {
    data = JSON.parse(Buffer.from(event.data?.message.data ?? '', 'base64').toString('utf8'));
  } catch {}
  const named = workItemsOf(data);
  if (!named) {
    deps.logger.error('a dead-lettered multi-node message names no nodes; the sweep closes its run', {
      event: 'message.dead_lettered_unreadable',
      runId: attrs.runId,
      reason: attrs.poison ? 'poison' : 'max delivery attempts',
    });
    return;
  }
  const batches = (data as { batches: { node?: { id?: unknown }; toIngestMs?: unknown }[] }).batches;
  const ends = new Map<string, number>();
  for (const b of batches) {
    if (typeof b?.node?.id === 'string' && typeof b.toIngestMs === 'number')
      ends.set(b.node.id, b.toIngestMs);
  }
  const watermarks = await deps.stores.aggregate.readWatermarks(named.items.map((i) => i.nodeId));
  const items = named.items.map((i) => {
    const end = ends.get(i.nodeId);
    const applied = end !== undefined && (watermarks.get(i.nodeId) ?? Number.NEGATIVE_INFINITY) >= end;
    return {
      ...i,
      workKey: workKey(i.nodeId, i.part),
      outcome: applied ? ('done' as const) : ('failed' as const),
    };
  });
  for (const i of items) {
    if (i.outcome === 'done') continue;
    deps.logger.error('message dead-lettered', {
      event: 'message.dead_lettered',
      runId: named.runId,
      nodeId: i.nodeId,
      part: i.part,
      kind: 'nodes',
      reason: attrs.poison ? 'poison' : 'max delivery attempts',
      deliveryCount: attrs.CloudPubSubDeadLetterSourceDeliveryCount,
    });
  }
  const { completedRun } = await deps.coordinator.finishWorks(named.runId, items);
  if (completedRun) await publishRollup(deps, named.runId, named.tenantId);
}

export async function handleAggregatorEvent(deps: AggregatorDeps, event: PubSubCloudEvent): Promise<void> {
  if (isDeadLetter(event)) return handleDeadLetter(deps, event);
  let msg: ReturnType<typeof decodeEvent>;
  try {
    msg = decodeEvent(event);
  } catch (err) {
    if (!(err instanceof PoisonMessageError)) throw err;
    const m = event.data?.message;
    deps.logger.error('poison message', {
      event: 'message.poison',
      messageId: m?.messageId,
      reason: err.message,
    });
    await deps.bus.publish(deps.settings.topics.deadLetter, [
      {
        data: Buffer.from(m?.data ?? '', 'base64'),
        attributes: {
          ...(m?.attributes ?? {}),
          poison: err.message.slice(0, 200),
          CloudPubSubDeadLetterSourceDeliveryCount: String(m?.deliveryAttempt ?? 1),
        },
      },
    ]);
    return;
  }
  if (msg.kind === 'node') return handleNodes(deps, [msg], event.data?.message.deliveryAttempt);
  if (msg.kind === 'nodes') return handleNodes(deps, nodeBatchesOf(msg), event.data?.message.deliveryAttempt);
  await networkRollup(deps, msg.runId, msg.tenantId);
  await announce(deps, msg.tenantId);
}

/** The cycle topic carries the 30-minute tick and, with attribute kind=maintenance, the daily retention job. */
export async function handleDispatcherEvent(deps: DispatcherDeps, event: PubSubCloudEvent) {
  if (event.data?.message.attributes?.kind === 'maintenance') return runMaintenance(deps);
  return dispatchCycle(deps);
}
