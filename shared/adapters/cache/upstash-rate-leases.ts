/**
 * Rate-limit leases on Upstash Redis (the API's RateLeaseStore, shared/api/rate-limit.ts): one
 * script per lease grants at most what is left of a key's sliding-window budget and adds the grant
 * to the current minute's counter, atomically (so instances never lease more than the limit).
 * Sent as EVALSHA (EVAL once per server when the script is not loaded yet).
 */
import type { Redis } from '@upstash/redis';

/**
 * KEYS: this minute's counter, the previous minute's. ARGV: limit, tokens wanted, the previous
 * minute's weight (0 … 1), the counter's TTL in ms. Returns { granted, used after the grant }.
 */
const LEASE_SCRIPT = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local used = cur + math.floor(prev * tonumber(ARGV[3]))
local granted = math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - used)
if granted < 0 then granted = 0 end
if granted > 0 then
  redis.call('INCRBY', KEYS[1], granted)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return { granted, used + granted }
`;

/** Gives back up to ARGV[1] tokens to a counter that still exists (never below 0, never creating it). */
const RELEASE_SCRIPT = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local back = math.min(n, tonumber(ARGV[1]))
if back > 0 then redis.call('DECRBY', KEYS[1], back) end
return back
`;

const WINDOW_MS = 60_000;

export class UpstashRateLeases {
  private readonly script: ReturnType<Redis['createScript']>;
  private releaseSha: Promise<string> | undefined;
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.script = redis.createScript(LEASE_SCRIPT);
    this.prefix = `${prefix}ratelease:`;
  }

  async claim(r: {
    key: string;
    window: number;
    limit: number;
    want: number;
    previousWeight: number;
  }): Promise<{ granted: number; used: number }> {
    const base = this.prefix + r.key;
    const [granted, used] = (await this.script.exec(
      [`${base}:${r.window}`, `${base}:${r.window - 1}`],
      [String(r.limit), String(r.want), r.previousWeight.toFixed(6), String(3 * WINDOW_MS)],
    )) as [number, number];
    return { granted: Number(granted), used: Number(used) };
  }

  /** Unspent tokens back to their minute's counter: one pipeline (one round trip) per minute. */
  async release(returns: { key: string; window: number; tokens: number }[]): Promise<void> {
    if (returns.length === 0) return;
    // Loaded once per instance (SCRIPT LOAD answers its SHA-1); then one pipeline for every key.
    this.releaseSha ??= this.redis.scriptLoad(RELEASE_SCRIPT);
    const sha = await this.releaseSha.catch((err) => {
      this.releaseSha = undefined;
      throw err;
    });
    const p = this.redis.pipeline();
    for (const r of returns) p.evalsha(sha, [`${this.prefix}${r.key}:${r.window}`], [String(r.tokens)]);
    await p.exec();
  }
}
