/**
 * Per-key rate limits. Across instances with @upstash/ratelimit on Upstash Redis (a sliding window,
 * one round trip per request); in one process (local runs, tests, benchmarks) with
 * rate-limiter-flexible's in-memory limiter, since @upstash/ratelimit needs a Redis.
 *
 * When Redis is down the limiter fails open: a rate limit must never take the API down with it. Calls
 * go through Redis's breaker (the same as the hot cache's), so a dead Redis costs no time per request.
 */
import type { Redis } from '@upstash/redis';
import type { Context } from 'hono';
import type { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Logger } from '../log.ts';
import type { Principal } from './auth/keys.ts';
import type { TierBreaker } from './breakers.ts';
import type { ApiEnv } from './env.ts';
import { ApiProblem } from './problem.ts';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export interface RateLimiter {
  readonly name: 'memory' | 'upstash';
  /** Counts one request of `identifier` against `perMinute`. */
  limit(identifier: string, perMinute: number): Promise<RateDecision>;
}

/**
 * In one process: a fixed 60-second window per key. The library is loaded on first use, so an
 * instance limiting through Upstash never loads it (cold start).
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly name = 'memory' as const;
  private readonly limiters = new Map<number, RateLimiterMemory>();
  private library: Promise<typeof import('rate-limiter-flexible')> | undefined;

  async limit(identifier: string, perMinute: number): Promise<RateDecision> {
    let limiter = this.limiters.get(perMinute);
    if (!limiter) {
      this.library ??= import('rate-limiter-flexible');
      const { RateLimiterMemory } = await this.library;
      limiter = this.limiters.get(perMinute) ?? new RateLimiterMemory({ points: perMinute, duration: 60 });
      this.limiters.set(perMinute, limiter);
    }
    try {
      const res = await limiter.consume(identifier);
      return { allowed: true, limit: perMinute, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
    } catch (rejected) {
      const res = rejected as { msBeforeNext?: unknown };
      if (typeof res?.msBeforeNext !== 'number') throw rejected;
      return { allowed: false, limit: perMinute, remaining: 0, resetMs: res.msBeforeNext };
    }
  }
}

/** Across instances: @upstash/ratelimit's sliding window on Upstash Redis. */
export class UpstashRateLimiter implements RateLimiter {
  readonly name = 'upstash' as const;
  private readonly limiters = new Map<number, import('@upstash/ratelimit').Ratelimit>();
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly RatelimitClass: typeof import('@upstash/ratelimit').Ratelimit;
  /** Identifiers known to be over their limit until a time: spares Redis a call (shared by limiters). */
  private readonly blocked = new Map<string, number>();
  private readonly breaker: TierBreaker | undefined;

  constructor(options: {
    redis: Redis;
    prefix: string;
    logger: Logger;
    Ratelimit: typeof import('@upstash/ratelimit').Ratelimit;
    /** Redis's breaker: while it is open, requests are allowed without asking Redis. */
    breaker?: TierBreaker;
  }) {
    this.breaker = options.breaker;
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.logger = options.logger;
    this.RatelimitClass = options.Ratelimit;
  }

  async limit(identifier: string, perMinute: number): Promise<RateDecision> {
    let limiter = this.limiters.get(perMinute);
    if (!limiter) {
      limiter = new this.RatelimitClass({
        redis: this.redis,
        limiter: this.RatelimitClass.slidingWindow(perMinute, '60 s'),
        prefix: `${this.prefix}ratelimit:${perMinute}`,
        ephemeralCache: this.blocked,
        timeout: 1000,
        analytics: false,
      });
      this.limiters.set(perMinute, limiter);
    }
    try {
      const ask = () => limiter.limit(identifier);
      const r = await (this.breaker ? this.breaker.execute(ask) : ask());
      return {
        allowed: r.success,
        limit: r.limit,
        remaining: Math.max(0, r.remaining),
        resetMs: Math.max(0, r.reset - Date.now()),
      };
    } catch (err) {
      // Debug only: the outage is logged once, by Redis's breaker.
      this.logger.debug('rate limiter unavailable; request allowed', { event: 'api.ratelimit_down', err });
      return { allowed: true, limit: perMinute, remaining: perMinute, resetMs: 60_000 };
    }
  }
}

/**
 * Counts one request of the caller's key: the RateLimit-* headers (IETF draft) go on the response,
 * and over the limit a 429 problem with Retry-After is thrown.
 */
export async function countRequest(
  c: Context<ApiEnv>,
  limiter: RateLimiter,
  principal: Principal,
): Promise<void> {
  const d = await limiter.limit(principal.keyId, principal.rateLimitPerMinute);
  const resetSeconds = Math.ceil(d.resetMs / 1000);
  const out = c.get('out');
  out['RateLimit-Limit'] = String(d.limit);
  out['RateLimit-Remaining'] = String(d.remaining);
  out['RateLimit-Reset'] = String(resetSeconds);
  if (!d.allowed) {
    throw new ApiProblem(
      429,
      'Too Many Requests',
      `This key may make ${d.limit} requests per minute; retry in ${resetSeconds} s.`,
      { headers: { 'Retry-After': String(Math.max(1, resetSeconds)) } },
    );
  }
}
