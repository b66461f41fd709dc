/**
 * Upstash Redis over its REST protocol (@upstash/redis): billed per command, so a node's keys go
 * in one pipeline (one HTTP round trip), and writes that arrive while another's pipeline is in flight
 * go together in the next (`group-commit.ts`: an aggregator handling several nodes at a time sends
 * one request per group, up to 1 MiB of values). Values are stored as JSON text.
 */
import { Redis, type RedisConfigNodejs } from '@upstash/redis';
import type { Dispatcher } from 'undici';
import { getGlobalDispatcher } from 'undici/lib/global.js';
import { groupCommit } from '../group-commit.ts';
import { type CacheEntry, CacheError, type HotCache, jsonTextOf } from './cache.ts';
import { UndiciRequester } from './upstash-requester.ts';

/** The Upstash client with its commands sent through undici's `request` (upstash-requester.ts), not `fetch`. */
class UndiciRedis extends Redis {
  constructor(config: RedisConfigNodejs & { url: string; token: string }, dispatcher: Dispatcher) {
    super(config);
    // The client's own defaults (pkg/http.ts): `false` still means one retry, at once.
    const retry =
      config.retry === false
        ? { retries: 1, backoff: () => 0 }
        : {
            retries: config.retry?.retries ?? 5,
            backoff: config.retry?.backoff ?? ((retryCount: number) => Math.exp(retryCount) * 50),
          };
    this.client = new UndiciRequester({ ...config, dispatcher, retry, fallback: this.client });
  }
}

/** One write's SET commands: key, JSON text, TTL in seconds. */
type Sets = { key: string; text: string; ttlSeconds: number }[];
/** A pipeline's values stay under Upstash's request size limits (1 MiB is the smallest plan's). */
const MAX_PIPELINE_BYTES = 1 << 20;

export class UpstashCache implements HotCache {
  readonly name = 'upstash' as const;
  readonly redis: Redis;
  private readonly prefix: string;

  /** `dispatcher`: the Agent for its requests (undici's global dispatcher when omitted). */
  constructor(options: { url: string; token: string; prefix?: string; dispatcher?: Dispatcher }) {
    const config: RedisConfigNodejs & { url: string; token: string } = {
      url: options.url,
      token: options.token,
      automaticDeserialization: false,
      // Values are JSON text: plain strings on the wire spare a base64 decode per read.
      responseEncoding: false,
      enableTelemetry: false,
      // The API answers from PostgreSQL when Redis is down: fail fast instead of retrying for seconds.
      retry: { retries: 1, backoff: () => 50 },
      // A lone GET (the API's read) is one REST call: auto-pipelining built a Pipeline per command to
      // batch concurrent ones, which cost more CPU per read than it saved (bench:api --miss profile).
      enableAutoPipelining: false,
    };
    this.redis = new UndiciRedis(config, options.dispatcher ?? getGlobalDispatcher());
    this.prefix = options.prefix ?? '';
  }

  private readonly writeGrouped = groupCommit<Sets, void>({
    maxItems: 64,
    maxWeight: MAX_PIPELINE_BYTES,
    weight: (sets) => sets.reduce((n, s) => n + s.text.length, 0),
    flush: async (writes) => {
      const p = this.redis.pipeline();
      for (const sets of writes) for (const s of sets) p.set(s.key, s.text, { ex: s.ttlSeconds });
      await p.exec();
      return writes.map(() => undefined);
    },
  });

  /**
   * A write larger than MAX_PIPELINE_BYTES goes as several pipelines, one after the other, each value
   * serialized just before its pipeline: the rollup's first run of a day (every district's patterns,
   * ~12 MiB of JSON at 10,000 nodes) held its whole text, the pipeline's body and its buffer at once.
   */
  async write(entries: CacheEntry[]): Promise<void> {
    if (entries.length === 0) return;
    let sets: Sets = [];
    let bytes = 0;
    try {
      for (const e of entries) {
        const text = jsonTextOf(e.value);
        if (sets.length > 0 && bytes + text.length > MAX_PIPELINE_BYTES) {
          await this.writeGrouped(sets);
          sets = [];
          bytes = 0;
        }
        sets.push({ key: this.prefix + e.key, text, ttlSeconds: e.ttlSeconds });
        bytes += text.length;
      }
      await this.writeGrouped(sets);
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

  /** One MGET for every key (the API's background refreshes, batched: shared/api/tiers.ts). */
  async getRawMany(keys: string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    try {
      return await this.redis.mget<(string | null)[]>(keys.map((k) => this.prefix + k));
    } catch (err) {
      throw new CacheError(`Upstash MGET of ${keys.length} keys failed`, { cause: err });
    }
  }

  async del(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.redis.del(...keys.map((k) => this.prefix + k));
  }
}
