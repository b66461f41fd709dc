/**
 * The cycle as it runs in the cloud, on emulators: the real dispatcher and aggregator functions
 * (functions framework HTTP servers), Pub/Sub topics with OUR push subscriptions to them (retry and
 * dead-letter policies, as Terraform declares), Firestore coordination, PostgreSQL, Redis via Upstash.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PubSub } from '@google-cloud/pubsub';

export interface CloudStackOptions {
  projectId: string;
  env: Record<string, string>;
  maxDeliveryAttempts?: number;
}

export interface CloudStack {
  pubsub: PubSub;
  aggregatorUrl: string;
  dispatch(attributes?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startCloudStack(options: CloudStackOptions): Promise<CloudStack> {
  Object.assign(process.env, options.env, { GOOGLE_CLOUD_PROJECT: options.projectId });
  // The function modules read their configuration at import: set the environment first.
  await import('../../functions/aggregator/index.ts');
  const dispatcherModule = await import('../../functions/dispatcher/index.ts');
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  const server: Server = getTestServer('aggregator');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const pubsub = new PubSub({ projectId: options.projectId });
  const names = {
    work: process.env.TOPIC_NODE_WORK ?? 'wnm-node-work',
    rollup: process.env.TOPIC_NETWORK_ROLLUP ?? 'wnm-network-rollup',
    dead: process.env.TOPIC_DEAD_LETTER ?? 'wnm-dead-letter',
  };
  const [dead] = await pubsub.createTopic(names.dead);
  const push = (topic: string) => ({
    pushConfig: { pushEndpoint: `http://127.0.0.1:${port}/projects/${options.projectId}/topics/${topic}` },
    ackDeadlineSeconds: 60,
    retryPolicy: { minimumBackoff: { seconds: 0 }, maximumBackoff: { seconds: 1 } },
    deadLetterPolicy: { deadLetterTopic: dead.name, maxDeliveryAttempts: options.maxDeliveryAttempts ?? 5 },
  });
  for (const topic of [names.work, names.rollup]) {
    const [t] = await pubsub.createTopic(topic);
    await t.createSubscription(`${topic}-push`, push(topic));
  }
  await dead.createSubscription(`${names.dead}-push`, {
    pushConfig: {
      pushEndpoint: `http://127.0.0.1:${port}/projects/${options.projectId}/topics/${names.dead}`,
    },
    ackDeadlineSeconds: 60,
  });

  return {
    pubsub,
    aggregatorUrl: `http://127.0.0.1:${port}`,
    async dispatch(attributes = {}) {
      const now = new Date();
      await dispatcherModule.dispatcher({
        specversion: '1.0',
        id: `tick-${now.getTime()}`,
        source: `//pubsub.googleapis.com/projects/${options.projectId}/topics/wnm-cycle`,
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        data: {
          message: {
            data: Buffer.from('{}').toString('base64'),
            attributes,
            messageId: `tick-${now.getTime()}`,
            publishTime: now.toISOString(),
          },
        },
      });
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pubsub.close();
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
