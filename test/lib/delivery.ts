/**
 * Delivery as Pub/Sub does it, under the test's control: a bus that records what is published, a
 * deliverer that redelivers what a handler refuses, and a seeded shuffle for out-of-order delivery.
 */
import assert from 'node:assert/strict';
import type { Bus, OutgoingMessage } from '../../shared/adapters/bus/bus.ts';
import { toCloudEvent } from '../../shared/adapters/bus/bus.ts';
import { BatchOutOfOrderError } from '../../shared/cycle/aggregate/index.ts';
import type { AggregatorDeps } from '../../shared/cycle/deps.ts';
import { handleAggregatorEvent } from '../../shared/cycle/handlers.ts';

/** Keeps what is published, so the test decides when and how often it is delivered. */
export class RecordingBus implements Bus {
  readonly name = 'memory' as const;
  readonly published: { topic: string; message: OutgoingMessage }[] = [];
  async publish(topic: string, messages: OutgoingMessage[]) {
    for (const message of messages) this.published.push({ topic, message });
    return messages.map((_, i) => String(this.published.length - messages.length + i));
  }
  async close() {}
}

/** Delivers like Pub/Sub: a batch refused as out of order is delivered again later. */
export async function deliver(aggregator: AggregatorDeps, queue: OutgoingMessage[]): Promise<void> {
  let attempts = 0;
  while (queue.length > 0) {
    const message = queue.shift()!;
    attempts += 1;
    try {
      await handleAggregatorEvent(aggregator, toCloudEvent('p', 'x', message, `m${attempts}`, new Date(), 1));
    } catch (err) {
      if (!(err instanceof BatchOutOfOrderError)) throw err;
      queue.push(message);
    }
    assert.ok(attempts < 10_000, 'delivery must converge');
  }
}

/** A deterministic shuffle (seeded linear congruential generator, Fisher–Yates). */
export function shuffle<T>(items: T[], seed: number): T[] {
  const a = [...items];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
