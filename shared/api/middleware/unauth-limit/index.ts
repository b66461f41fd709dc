/**
 * Requests that fail authentication, limited per client address: the public API must not be a free
 * 401 generator (each one costs a key parse and maybe a PostgreSQL lookup). Keys have their own limits
 * (the API gate); this one only counts 401s, so a client with a valid key is never slowed by it.
 */
import type { MiddlewareHandler } from 'hono';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { ApiEnv } from '../../env.ts';
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
 * @example app.use('/api/*', unauthLimit({ perMinute: 60 }))
 */
export function unauthLimit(options: UnauthLimitOptions): MiddlewareHandler<ApiEnv> {
  const limiter = new RateLimiterMemory({ points: Math.max(1, options.perMinute), duration: 60 });
  const hops = options.trustedHops ?? 1;
  return async function unauthLimitMiddleware(c, next) {
    if (options.perMinute <= 0) return next();
    const client = clientAddress(c.req.header('x-forwarded-for'), hops);
    const seen = await limiter.get(client);
    if (seen && seen.consumedPoints >= options.perMinute) {
      const retry = Math.max(1, Math.ceil(seen.msBeforeNext / 1000));
      throw new ApiProblem(
        429,
        'Too Many Requests',
        `Too many requests without a valid API key from this address; retry in ${retry} s.`,
        { headers: { 'Retry-After': String(retry) } },
      );
    }
    await next();
    if (c.res.status === 401) await limiter.penalty(client, 1);
  };
}
