/**
 * Requests that fail authentication, limited per client address: the public API must not be a free
 * 401 generator (each one costs a key parse and maybe a PostgreSQL lookup). Keys have their own limits
 * (the API gate); this one only counts 401s, so a client with a valid key is never slowed by it.
 */
// The in-memory limiter alone: the package's index loads every store it supports (cold start, issue 14).
import RateLimiterMemory from 'rate-limiter-flexible/lib/RateLimiterMemory.js';
import type { ApiEnv } from '../../env.ts';
import { afterNext, asMiddleware, type FrontMiddleware, type FrontStep } from '../../front.ts';
import { ApiProblem } from '../../problem.ts';

export interface UnauthLimitOptions {
  /** 401s a client address may receive per minute before it gets 429s (0 turns the limit off). */
  perMinute: number;
  /**
   * How many proxies append to X-Forwarded-For in front of the app: the client is the entry that many
   * places from the end (Cloud Run's front end appends the caller's address: 1). The entries before it
   * are whatever the client sent, so they are never trusted.
   */
  trustedHops?: number;
}

export function clientAddress(forwardedFor: string | undefined, trustedHops: number): string {
  const hops = (forwardedFor ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return hops[hops.length - trustedHops] ?? 'unknown';
}

/**
 * Unauthenticated-request limit middleware: a client address that received `perMinute` 401s in the
 * current minute gets a 429 problem with Retry-After before its request reaches the key check.
 *
 * The hot path (a request with a valid key, no address blocked) costs a size check: the addresses
 * over their limit are kept in a plain map when they cross it, so a request neither waits on the
 * limiter nor parses X-Forwarded-For unless some address is blocked or it got a 401 itself, and it
 * makes no promise of its own (a front step, shared/api/front.ts).
 *
 * @example app.use('/api/*', unauthLimit({ perMinute: 60 }))
 */
export function unauthLimit(options: UnauthLimitOptions): FrontMiddleware<ApiEnv> {
  const limiter = new RateLimiterMemory({ points: Math.max(1, options.perMinute), duration: 60 });
  const hops = options.trustedHops ?? 1;
  /** Addresses over their limit → when their minute ends (epoch ms). */
  const blocked = new Map<string, number>();
  const penalize = async (client: string) => {
    const r = await limiter.penalty(client, 1);
    if (r.consumedPoints < options.perMinute) return;
    const now = Date.now();
    if (blocked.size >= 10_000) for (const [k, until] of blocked) if (until <= now) blocked.delete(k);
    blocked.set(client, now + r.msBeforeNext);
  };
  const step: FrontStep<ApiEnv> = function unauthLimitMiddleware(c, next) {
    if (options.perMinute <= 0) return next();
    if (blocked.size > 0) {
      const client = clientAddress(c.req.header('x-forwarded-for'), hops);
      const until = blocked.get(client);
      if (until !== undefined) {
        const ms = until - Date.now();
        if (ms > 0) {
          const retry = Math.max(1, Math.ceil(ms / 1000));
          throw new ApiProblem(
            429,
            'Too Many Requests',
            `Too many requests without a valid API key from this address; retry in ${retry} s.`,
            { headers: { 'Retry-After': String(retry) } },
          );
        }
        blocked.delete(client);
      }
    }
    // Without a promise of its own when the rest answered without one (shared/api/front.ts).
    return afterNext(next(), () => {
      if (c.res.status === 401) return penalize(clientAddress(c.req.header('x-forwarded-for'), hops));
    });
  };
  return asMiddleware(step);
}
