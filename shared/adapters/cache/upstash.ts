/**
 * Upstash Redis over its REST protocol: billed per command, so a node's keys go in one pipeline
 * (one HTTP round trip, @upstash/redis). Values are stored as JSON text.
 *
 * The API's two per-request commands — GET of a hot key, and the SET that fills one after a
 * PostgreSQL read — are sent as Upstash's documented single-command REST call (`POST /` with the
 * command as a JSON array, answered `{"result": …}` or `{"error": …}`) through undici's `request`
 * on the process's keep-alive agent (http-agent.ts), not through @upstash/redis: its client goes
 * through `fetch` (WHATWG streams, Headers objects), and with auto-pipelining every lone GET also
 * built a Pipeline object (~300 closures). Measured apart on this machine: ~2× the CPU per GET of
 * `request` (microbenchmark beside bench:api --miss; the bench's paired figures are in bench/RESULTS.md).
 */
import { Redis } from '@upstash/redis';
import { request } from 'undici';
import { type CacheEntry, CacheError, type HotCache } from './cache.ts';

/** One retry of a call that failed to reach Upstash (as @upstash/redis was configured: 1 retry, 50 ms). */
const RETRY_BACKOFF_MS = 50;

export class UpstashCache implements HotCache {
  readonly name = 'upstash' as const;
  readonly redis: Redis;
  private readonly prefix: string;
  private readonly url: string;
  private readonly headers: Record<string, string>;

  constructor(options: { url: string; token: string; prefix?: string }) {
    this.redis = new Redis({
      url: options.url,
      token: options.token,
      automaticDeserialization: false,
      // Values are JSON text: plain strings on the wire spare a base64 decode per read.
      responseEncoding: false,
      enableTelemetry: false,
      // The API answers from PostgreSQL when Redis is down: fail fast instead of retrying for seconds.
      retry: { retries: 1, backoff: () => RETRY_BACKOFF_MS },
    });
    this.prefix = options.prefix ?? '';
    this.url = options.url.replace(/\/$/, '');
    this.headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' };
  }

  async write(entries: CacheEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      if (entries.length === 1) {
        const e = entries[0]!;
        await this.command([
          'SET',
          this.prefix + e.key,
          e.json ?? JSON.stringify(e.value),
          'EX',
          String(e.ttlSeconds),
        ]);
        return;
      }
      const p = this.redis.pipeline();
      for (const e of entries)
        p.set(this.prefix + e.key, e.json ?? JSON.stringify(e.value), { ex: e.ttlSeconds });
      await p.exec();
    } catch (err) {
      throw new CacheError(`Upstash pipeline of ${entries.length} writes failed`, { cause: err });
    }
  }

  async getRaw(key: string): Promise<string | null> {
    try {
      const result = await this.command(['GET', this.prefix + key]);
      return typeof result === 'string' ? result : null;
    } catch (err) {
      throw new CacheError(`Upstash GET ${key} failed`, { cause: err });
    }
  }

  async del(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.redis.del(...keys.map((k) => this.prefix + k));
  }

  /** One command, its `result`; throws on an `error` answer or a non-2xx status. */
  private async command(args: string[]): Promise<unknown> {
    const body = JSON.stringify(args);
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(this.url, { method: 'POST', headers: this.headers, body });
    } catch {
      // Could not reach Upstash (a refused or reset connection): once more, after a short pause.
      await new Promise((r) => setTimeout(r, RETRY_BACKOFF_MS));
      res = await request(this.url, { method: 'POST', headers: this.headers, body });
    }
    const text = await res.body.text();
    let answer: { result?: unknown; error?: string };
    try {
      answer = JSON.parse(text) as { result?: unknown; error?: string };
    } catch {
      throw new Error(
        `Upstash answered ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    if (res.statusCode < 200 || res.statusCode >= 300 || answer.error !== undefined) {
      throw new Error(`Upstash ${args[0]} answered ${res.statusCode}: ${answer.error ?? text.slice(0, 200)}`);
    }
    return answer.result ?? null;
  }
}
