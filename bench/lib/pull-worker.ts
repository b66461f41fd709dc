/**
 * One aggregator instance fed by streaming pull from the Pub/Sub emulator. The emulator's push
 * delivery keeps at most two requests in flight (measured: 1,000 pushes to a 20 ms handler take
 * 11.7 s), far below what Cloud Run push achieves, so the benchmark pulls instead and hands each
 * message to the function exactly as a push would: the same CloudEvent envelope to the same
 * exported handler, acked when it returns, nacked (redelivered, then dead-lettered) when it throws.
 * Concurrency per instance = CONCURRENCY (Cloud Run's per-instance concurrency).
 *
 *   node bench/lib/pull-worker.ts   (configuration from the environment; prints `ready`)
 */
import { type Message, PubSub } from '@google-cloud/pubsub';
import type { PubSubCloudEvent } from '../../shared/adapters/bus/bus.ts';

const { aggregator } = await import('../../functions/aggregator/index.ts');
const projectId = process.env.GOOGLE_CLOUD_PROJECT!;
const concurrency = Number(process.env.CONCURRENCY ?? 80);
const pubsub = new PubSub({ projectId });

function toEvent(topic: string, m: Message): PubSubCloudEvent {
  return {
    specversion: '1.0',
    id: m.id,
    source: `//pubsub.googleapis.com/projects/${projectId}/topics/${topic}`,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    time: m.publishTime.toISOString(),
    data: {
      subscription: `projects/${projectId}/subscriptions/${topic}-pull`,
      message: {
        data: m.data.toString('base64'),
        attributes: m.attributes,
        messageId: m.id,
        publishTime: m.publishTime.toISOString(),
        deliveryAttempt: m.deliveryAttempt,
      },
    },
  };
}

for (const topic of (process.env.PULL_TOPICS ?? '').split(',')) {
  const sub = pubsub.subscription(`${topic}-pull`, {
    flowControl: { maxMessages: concurrency, allowExcessMessages: false },
  });
  sub.on('message', (m: Message) => {
    aggregator(toEvent(topic, m)).then(
      () => m.ack(),
      () => m.nack(),
    );
  });
  sub.on('error', (err) => console.error(`subscription ${topic}:`, err.message));
}
console.log('ready');
if (process.env.DEBUG_MEM)
  setInterval(() => {
    const m = process.memoryUsage();
    console.error(
      `rss ${(m.rss / 1048576).toFixed(0)} heap ${(m.heapUsed / 1048576).toFixed(0)} ext ${(m.external / 1048576).toFixed(0)} ab ${(m.arrayBuffers / 1048576).toFixed(0)}`,
    );
  }, 2000).unref();
process.on('SIGTERM', async () => {
  await pubsub.close();
  process.exit(0);
});
