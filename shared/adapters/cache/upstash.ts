/**
 * Upstash Redis over its REST protocol (@upstash/redis): billed per command, so a node's keys go
 * in one pipeline (one HTTP round trip). Values are stored as JSON text.
 */
import { Redis } from '@upstash/redis';
import { type CacheEntry, CacheError, type HotCache } from './cache.ts';

export class UpstashCache implements HotCache {
  readonly name = 'upstash' as const;
  readonly redis: Redis;
  private readonly prefix: string;

  constructor(options: { url: string; token: string; prefix?: string }) {
    this.redis = new Redis({
      url: options.url,
      token: options.token,
      automaticDeserialization: false,
      // Values are JSON text: plain strings on the wire spare a base64 decode per read.
      responseEncoding: false,
      enableTelemetry: false,
      // The API answers from PostgreSQL when Redis is down: fail fast instead of retrying for seconds.
      retry: { retries: 1, backoff: () => 50 },
    });
    this.prefix = options.prefix ?? '';
  }

  async write(entries: CacheEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const p = this.redis.pipeline();
    for (const e of entries) p.set(this.prefix + e.key, JSON.stringify(e.value), { ex: e.ttlSeconds });
    try {
      await p.exec();
    } catch (err) {
      throw new CacheError(`Upstash pipeline of ${entries.length} writes failed`, { cause: err });
    }
  }

  async getRaw(key: string): Promise<string | null> {
    try {
      return await this.redis.get<string>(this.prefix + key);
    } catch (err) {
      throw new CacheError(`Upstash GET ${key} failed`, { cause: err });
    }
  }

  async del(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.redis.del(...keys.map((k) => this.prefix + k));
  }
}
