/**
 * Trace context through the bus: what is published inside a span carries its W3C `traceparent` as a
 * message attribute, and a delivered message's handler runs in a span that is its child. So a cycle —
 * the dispatcher's span, each node batch's, the rollup's — is one trace in Cloud Trace, and every log
 * line of each step carries that trace.
 */
import { parseTraceparent, type TraceParent } from '../../telemetry/trace-context.ts';
import { currentTraceparent, flushTracing, inSpan, type SpanAttributes } from '../../telemetry/tracing.ts';
import type { OutgoingMessage, PubSubCloudEvent } from './bus.ts';

export const TRACEPARENT_ATTRIBUTE = 'traceparent';
/** After node batches, at most one span export per instance per second (flushTracing); others always. */
const NODE_FLUSH_INTERVAL_MS = 1000;

/** The messages with the current span's `traceparent` added (a message that has one keeps it). */
export function withTraceContext(messages: OutgoingMessage[]): OutgoingMessage[] {
  const traceparent = currentTraceparent();
  if (!traceparent) return messages;
  return messages.map((m) =>
    m.attributes[TRACEPARENT_ATTRIBUTE]
      ? m
      : { data: m.data, attributes: { ...m.attributes, [TRACEPARENT_ATTRIBUTE]: traceparent } },
  );
}

/** The trace context a delivered message carries, if any. */
export function messageTraceParent(event: PubSubCloudEvent): TraceParent | undefined {
  return parseTraceparent(event.data?.message.attributes?.[TRACEPARENT_ATTRIBUTE]);
}

/** What a cycle message is, for its span's name. */
function spanName(fn: string, attributes: Record<string, string>): string {
  if (attributes.CloudPubSubDeadLetterSourceDeliveryCount !== undefined) return `${fn} dead-letter`;
  if (fn === 'dispatcher') return attributes.kind === 'maintenance' ? 'cycle.maintenance' : 'cycle.dispatch';
  if (attributes.kind === 'node' || attributes.kind === 'nodes') return 'cycle.node-batch';
  if (attributes.kind === 'rollup') return 'cycle.rollup';
  return `${fn} ${attributes.kind ?? 'message'}`;
}

/**
 * Runs a function's handler for one delivered message in a span, child of the message's trace context
 * (a root span when it has none, e.g. Cloud Scheduler's tick), then exports the finished spans — after a
 * node batch at most once a second per instance (a cycle's burst shares exports), after the dispatch and
 * the rollup always: Cloud Run may throttle the CPU once the delivery is answered.
 */
export async function inMessageSpan<T>(
  fn: string,
  event: PubSubCloudEvent,
  handler: () => Promise<T>,
): Promise<T> {
  const message = event.data?.message;
  const attributes = message?.attributes ?? {};
  const spanAttributes: SpanAttributes = {
    'messaging.system': 'gcp_pubsub',
    'messaging.destination.name': event.source?.split('/topics/')[1],
    'messaging.message.id': message?.messageId,
    'messaging.gcp_pubsub.message.delivery_attempt': message?.deliveryAttempt,
    runId: attributes.runId,
    nodeId: attributes.nodeId,
    part: attributes.part,
    // A multi-node message: how many node batches it carries (their ids are in its data and log lines).
    nodes: attributes.nodes,
  };
  try {
    return await inSpan(
      spanName(fn, attributes),
      { parent: messageTraceParent(event), kind: 'consumer', attributes: spanAttributes },
      () => handler(),
    );
  } finally {
    const minIntervalMs =
      attributes.kind === 'node' || attributes.kind === 'nodes' ? NODE_FLUSH_INTERVAL_MS : 0;
    await flushTracing({ minIntervalMs }).catch(() => {});
  }
}
