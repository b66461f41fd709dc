/**
 * The embedded bus: delivers each published message as the CloudEvent Google would send to the
 * subscribed function, with at-least-once semantics like Pub/Sub's: a handler that throws gets the
 * message again (with backoff), and after `maxAttempts` it goes to the dead-letter topic.
 * Deliveries run concurrently up to a limit, in no guaranteed order. Messages carry the publishing
 * span's `traceparent` attribute, as on Pub/Sub (trace.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log.ts';
import { type Bus, type OutgoingMessage, type PubSubCloudEvent, toCloudEvent } from './bus.ts';
import { withTraceContext } from './trace.ts';

export type CloudEventHandler = (event: PubSubCloudEvent) => Promise<void>;

interface Subscription {
  handler: CloudEventHandler;
  maxAttempts: number;
  deadLetterTopic?: string;
}

export interface MemoryBusOptions {
  projectId?: string;
  concurrency?: number;
  retryDelayMs?: (attempt: number) => number;
  logger?: Logger;
}

export class MemoryBus implements Bus {
  readonly name = 'memory' as const;
  private readonly subscriptions = new Map<string, Subscription[]>();
  private readonly queue: (() => Promise<void>)[] = [];
  private running = 0;
  private pending = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly projectId: string;
  private readonly concurrency: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly logger: Logger | undefined;
  private closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.projectId = options.projectId ?? 'local';
    this.concurrency = options.concurrency ?? 8;
    this.retryDelayMs = options.retryDelayMs ?? ((attempt) => Math.min(10_000, 100 * 2 ** attempt));
    this.logger = options.logger;
  }

  subscribe(
    topic: string,
    handler: CloudEventHandler,
    options: { maxAttempts?: number; deadLetterTopic?: string } = {},
  ) {
    const list = this.subscriptions.get(topic) ?? [];
    list.push({ handler, maxAttempts: options.maxAttempts ?? 5, deadLetterTopic: options.deadLetterTopic });
    this.subscriptions.set(topic, list);
  }

  async publish(topic: string, messages: OutgoingMessage[]): Promise<string[]> {
    if (this.closed) throw new Error('bus is closed');
    const ids: string[] = [];
    for (const message of withTraceContext(messages)) {
      const id = randomUUID();
      ids.push(id);
      const publishTime = new Date();
      for (const sub of this.subscriptions.get(topic) ?? [])
        this.enqueue(topic, sub, message, id, publishTime, 1);
    }
    return ids;
  }

  private enqueue(
    topic: string,
    sub: Subscription,
    message: OutgoingMessage,
    id: string,
    publishTime: Date,
    attempt: number,
  ) {
    this.pending += 1;
    this.queue.push(async () => {
      try {
        await sub.handler(toCloudEvent(this.projectId, topic, message, id, publishTime, attempt));
      } catch (err) {
        if (attempt < sub.maxAttempts && !this.closed) {
          this.pending += 1;
          setTimeout(() => {
            this.pending -= 1;
            this.enqueue(topic, sub, message, id, publishTime, attempt + 1);
          }, this.retryDelayMs(attempt)).unref();
        } else if (sub.deadLetterTopic) {
          this.logger?.warn('message dead-lettered', {
            event: 'message.dead_lettered',
            topic,
            messageId: id,
            attempt,
            err,
          });
          const attributes = {
            ...message.attributes,
            CloudPubSubDeadLetterSourceDeliveryCount: String(attempt),
            CloudPubSubDeadLetterSourceTopic: topic,
          };
          await this.publish(sub.deadLetterTopic, [{ data: message.data, attributes }]);
        }
      }
    });
    this.pump();
  }

  private pump() {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running += 1;
      void job().finally(() => {
        this.running -= 1;
        this.pending -= 1;
        this.pump();
        if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  /** Resolves when every published message (and its retries and dead letters) has been handled. */
  async drain(): Promise<void> {
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }
}
