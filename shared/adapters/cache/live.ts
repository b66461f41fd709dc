/**
 * The live channel: tells every API instance that a tenant's anomaly log has new events, so open
 * streams read it at once instead of at their next poll.
 *
 * Why Redis pub/sub (Upstash's REST API: PUBLISH, and SUBSCRIBE streamed as server-sent events) and not
 * Pub/Sub: the API already talks to Upstash and must not load a Pub/Sub client (cold start), a
 * Pub/Sub fan-out to every instance would need a subscription per instance, and the message is only a
 * wake-up — the events themselves are read from PostgreSQL's ordered log, so a lost notification
 * delays an event by at most one poll interval and never loses it. Redis pub/sub is at-most-once,
 * which is exactly what a wake-up needs.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../log.ts';

export interface LiveChannel {
  readonly name: 'memory' | 'upstash';
  /** Best effort: every listener of every instance hears `tenantId` once. */
  notify(tenantId: string): Promise<void>;
  /** Calls `onNotify` for every notification until the returned function is called. */
  listen(onNotify: (tenantId: string) => void): () => void;
}

/** In one process (the local run, tests without Redis): an event emitter. */
export class MemoryLiveChannel implements LiveChannel {
  readonly name = 'memory' as const;
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  async notify(tenantId: string): Promise<void> {
    this.emitter.emit('n', tenantId);
  }
  listen(onNotify: (tenantId: string) => void): () => void {
    this.emitter.on('n', onNotify);
    return () => this.emitter.off('n', onNotify);
  }
}

let embedded: MemoryLiveChannel | undefined;
/** The process-wide channel of the local run (the cycle and the API share a process). */
export const embeddedLiveChannel = (): MemoryLiveChannel => {
  embedded ??= new MemoryLiveChannel();
  return embedded;
};

type UpstashRedis = import('@upstash/redis').Redis;

export interface UpstashLiveOptions {
  url: string;
  token: string;
  /** REDIS_KEY_PREFIX: environments sharing a Redis get channels of their own. */
  prefix?: string;
  logger?: Logger;
  /**
   * The subscription is an HTTP stream that can end silently; the listener pings itself this often
   * and subscribes again when two pings in a row did not come back.
   */
  pingMs?: number;
}

const PING = '\u0000ping';

export class UpstashLiveChannel implements LiveChannel {
  readonly name = 'upstash' as const;
  private readonly redis: Promise<UpstashRedis>;
  private readonly channel: string;
  private readonly pingMs: number;
  private readonly logger: Logger | undefined;
  /** How many times this instance subscribed (1 + resubscriptions), for tests and logs. */
  subscriptions = 0;
  /**
   * Every open stream of this instance listens through ONE subscription (an HTTP stream to Upstash),
   * fanned out here: one per stream would hold a connection of the Upstash agent each (N streams
   * starve the rate limiter's and the cache's calls of connections) and ping N times per interval.
   */
  private readonly listeners = new Set<(tenantId: string) => void>();
  private stopShared: (() => void) | undefined;

  constructor(options: UpstashLiveOptions) {
    this.channel = `${options.prefix ?? ''}anomaly-events`;
    this.pingMs = options.pingMs ?? 15_000;
    this.logger = options.logger;
    this.redis = import('@upstash/redis').then(
      ({ Redis }) =>
        new Redis({
          url: options.url,
          token: options.token,
          automaticDeserialization: false,
          retry: { retries: 1, backoff: () => 50 },
        }),
    );
  }

  async notify(tenantId: string): Promise<void> {
    await (await this.redis).publish(this.channel, tenantId);
  }

  listen(onNotify: (tenantId: string) => void): () => void {
    // A listener of its own (a Set keeps one entry per function, so the same callback twice is two).
    const listener = (tenantId: string) => onNotify(tenantId);
    this.listeners.add(listener);
    this.stopShared ??= this.subscribeShared();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.stopShared?.();
        this.stopShared = undefined;
      }
    };
  }

  /** The instance's one subscription, handing each notification to every listener. */
  private subscribeShared(): () => void {
    let stopped = false;
    let subscriber: { unsubscribe(): Promise<void> } | undefined;
    let lastHeard = Date.now();
    const subscribe = async () => {
      const redis = await this.redis;
      if (stopped) return;
      await subscriber?.unsubscribe().catch(() => {});
      if (stopped) return;
      const sub = redis.subscribe<string>([this.channel]);
      this.subscriptions += 1;
      lastHeard = Date.now();
      sub.on('message', ({ message }) => {
        lastHeard = Date.now();
        const text = String(message);
        if (text === PING) return;
        for (const listener of this.listeners) listener(text);
      });
      sub.on('error', (err) => this.logger?.warn('live channel error', { event: 'api.live_error', err }));
      subscriber = sub;
    };
    void subscribe();
    const timer = setInterval(() => {
      if (Date.now() - lastHeard > 2 * this.pingMs) {
        this.logger?.warn('live channel silent; subscribing again', { event: 'api.live_resubscribe' });
        void subscribe();
        return;
      }
      this.redis.then((r) => r.publish(this.channel, PING)).catch(() => {});
    }, this.pingMs);
    timer.unref();
    return () => {
      stopped = true;
      clearInterval(timer);
      void subscriber?.unsubscribe().catch(() => {});
    };
  }
}

/** Upstash when configured (every instance hears every notification), else the process's own. */
export function createLiveChannel(
  upstash: { url: string; token: string } | undefined,
  prefix: string,
  logger?: Logger,
): LiveChannel {
  if (!upstash) return embeddedLiveChannel();
  return new UpstashLiveChannel({ ...upstash, prefix, ...(logger ? { logger } : {}) });
}
