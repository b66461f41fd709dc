/**
 * CloudEvent handlers behind the thin function entry points. Pub/Sub's contract: returning acks;
 * throwing makes Pub/Sub redeliver (and, after the subscription's max attempts, dead-letter).
 * Poison messages (bad base64, bad JSON, wrong schema) can never succeed, so they are sent to the
 * dead-letter topic at once and acked instead of being retried.
 */

import type { PubSubCloudEvent } from '../adapters/bus/bus.ts';
import { workKey } from '../adapters/coordination/coordinator.ts';
import { applyNodeBatch, refreshNodeViews } from './aggregate/index.ts';
import type { AggregatorDeps, DispatcherDeps } from './deps.ts';
import { dispatchCycle } from './dispatch/index.ts';
import { runMaintenance } from './maintenance/index.ts';
import { cycleMessageSchema, type NodeWorkMessage, rollupMessage } from './messages.ts';
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

async function handleNode(deps: AggregatorDeps, msg: NodeWorkMessage, attempt: number | undefined) {
  // The node's ids go with each line; no child logger per node (a pino child costs more than the
  // debug line, which is off at the default level).
  const ids = { runId: msg.runId, nodeId: msg.node.id, part: msg.part };
  const started = performance.now();
  try {
    const result = await applyNodeBatch(deps, msg);
    if (result.opened) await announce(deps, msg.tenantId);
    await refreshNodeViews(deps, msg.node);
    deps.logger.debug('node aggregated', {
      ...ids,
      event: 'node.aggregated',
      applied: result.applied,
      readings: result.readings,
      rejected: result.rejected,
      durationMs: Math.round(performance.now() - started),
    });
  } catch (err) {
    deps.logger.warn('node failed; the message will be redelivered', {
      ...ids,
      event: 'node.failed',
      attempt,
      err,
    });
    throw err;
  }
  const { completedRun } = await deps.coordinator.finishWork(
    msg.runId,
    workKey(msg.node.id, msg.part),
    'done',
  );
  if (completedRun) await publishRollup(deps, msg.runId, msg.tenantId);
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
  if (msg.kind === 'node') return handleNode(deps, msg, event.data?.message.deliveryAttempt);
  await networkRollup(deps, msg.runId, msg.tenantId);
  await announce(deps, msg.tenantId);
}

/** The cycle topic carries the 30-minute tick and, with attribute kind=maintenance, the daily retention job. */
export async function handleDispatcherEvent(deps: DispatcherDeps, event: PubSubCloudEvent) {
  if (event.data?.message.attributes?.kind === 'maintenance') return runMaintenance(deps);
  return dispatchCycle(deps);
}
