/**
 * Google Cloud Pub/Sub (or its emulator via PUBSUB_EMULATOR_HOST) with the real client. Publishing
 * is batched by the client; we await every message so the caller knows all were accepted. Messages
 * carry the publishing span's `traceparent` attribute (trace.ts).
 */
import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { Bus, OutgoingMessage } from './bus.ts';
import { withTraceContext } from './trace.ts';

export class PubSubBus implements Bus {
  readonly name = 'pubsub' as const;
  readonly client: PubSub;
  private readonly topics = new Map<string, Topic>();

  constructor(options: { projectId?: string } = {}) {
    this.client = new PubSub(options.projectId ? { projectId: options.projectId } : {});
  }

  private topic(name: string): Topic {
    let t = this.topics.get(name);
    if (!t) {
      t = this.client.topic(name, {
        batching: { maxMessages: 1000, maxBytes: 9 * 1024 * 1024, maxMilliseconds: 20 },
      });
      this.topics.set(name, t);
    }
    return t;
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<string[]> {
    const t = this.topic(topic);
    return Promise.all(
      withTraceContext(messages).map((m) => t.publishMessage({ data: m.data, attributes: m.attributes })),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.topics.values()].map((t) => t.flush()));
    await this.client.close();
  }
}
