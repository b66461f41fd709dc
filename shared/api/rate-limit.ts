/**
 * Per-key rate limits that cost (almost) nothing per request and hold across instances: each
 * instance leases blocks of a key's budget from a shared counter (Redis) and spends them locally.
 *
 * The budget is a sliding window of 60 s, approximated as Cloudflare does: the current fixed minute's
 * count plus the previous minute's weighted by how much of it the sliding window still covers. A
 * lease is one atomic script on Redis (shared/adapters/cache/upstash-rate-leases.ts) that grants at
 * most what is left (`limit − used`) and adds the grant to the minute's counter, so:
 *
 * - **Never over the limit**, with any number N of instances: every admitted request spent a token
 *   that Redis granted under the limit. (Bound: limit × (1 + 0) per window — the approximation's
 *   own error aside, the same for one instance or many.)
 * - **Refused early by at most (N − 1) × 2 × block** requests in a window: tokens leased by other
 *   instances and not spent yet (each holds at most the block it spends plus the block it
 *   prefetched). A block is 2 % of the limit (at least 1), and shrinks to an eighth of what is left
 *   as the key nears its limit, so the stranded tokens shrink with it. Tokens still unspent when the
 *   minute ends are given back to its count (one pipeline per instance per minute), so they do not
 *   weigh on the next minute as if used.
 * - A single instance admits exactly the limit in a fresh window.
 * - **Cost**: a Map lookup and a decrement per request; one Redis round trip per block, fetched in
 *   the background before the block runs out (blocks of 4 or more), so a request waits on Redis only
 *   for a key's first request of a minute (or a key with a small limit).
 * - **Redis down** (an error, a timeout, or its breaker open): the instance leases from a counter of
 *   its own instead, so each instance keeps limiting alone — N instances admit up to N × limit
 *   during an outage — and goes back to Redis for its next lease.
 *
 * Without Redis (one process: local runs, tests, the in-process benchmark) the same limiter leases
 * from the local counter only, and is exact.
 */
import type { Context } from 'hono';
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
  /** Counts one request of `identifier` against `perMinute`; synchronous when a leased token answers. */
  limit(identifier: string, perMinute: number): RateDecision | Promise<RateDecision>;
}

export const WINDOW_MS = 60_000;

/** One lease: up to `want` tokens of `limit` for the key in minute `window`. */
export interface LeaseRequest {
  /** Identifies the limited thing (limit and caller); the store adds the window. */
  key: string;
  window: number;
  limit: number;
  want: number;
  /** Weight of the previous minute's count in the sliding window (1 → 0 across the minute). */
  previousWeight: number;
}

export interface Lease {
  /** Tokens granted (0 … want). */
  granted: number;
  /** The window's weighted count after the grant, across every instance. */
  used: number;
}

/** Tokens leased for a minute and not spent, given back when the minute is over. */
export interface LeaseReturn {
  key: string;
  window: number;
  tokens: number;
}

/** Where leases come from: Redis shared by the instances, or a counter in this process. */
export interface RateLeaseStore {
  claim(request: LeaseRequest): Promise<Lease>;
  /** Gives unspent tokens back (they would otherwise weigh on the next minute as if used). */
  release(returns: LeaseReturn[]): Promise<void>;
}

/** The same arithmetic as the Redis script, in this process (no Redis, or Redis down). */
export class LocalLeaseStore implements RateLeaseStore {
  private readonly counts = new Map<string, number>();
  private window = -1;

  claimNow(r: LeaseRequest): Lease {
    if (r.window !== this.window) {
      // Keep only the previous minute's counts (they weigh on this one).
      for (const k of this.counts.keys()) if (!k.endsWith(`|${r.window - 1}`)) this.counts.delete(k);
      this.window = r.window;
    }
    const current = `${r.key}|${r.window}`;
    const cur = this.counts.get(current) ?? 0;
    const prev = this.counts.get(`${r.key}|${r.window - 1}`) ?? 0;
    const used = cur + Math.floor(prev * r.previousWeight);
    const granted = Math.max(0, Math.min(r.want, r.limit - used));
    if (granted > 0) this.counts.set(current, cur + granted);
    return { granted, used: used + granted };
  }

  claim(r: LeaseRequest): Promise<Lease> {
    return Promise.resolve(this.claimNow(r));
  }

  releaseNow(returns: LeaseReturn[]): void {
    for (const r of returns) {
      const k = `${r.key}|${r.window}`;
      const n = this.counts.get(k);
      if (n !== undefined) this.counts.set(k, Math.max(0, n - r.tokens));
    }
  }

  release(returns: LeaseReturn[]): Promise<void> {
    this.releaseNow(returns);
    return Promise.resolve();
  }
}

interface KeyState {
  window: number;
  /** Leased tokens not spent yet. */
  tokens: number;
  /** The window's count across instances as of the last lease (our unspent tokens included). */
  used: number;
  /** No token left to lease until then (ms epoch). */
  refusedUntil: number;
  claiming: Promise<void> | undefined;
}

export interface LeasedRateLimiterOptions {
  /** Shared leases (Redis); only the local counter when omitted. */
  shared?: RateLeaseStore;
  /** Redis's breaker: while it is open, leases come from the local counter without asking Redis. */
  breaker?: TierBreaker;
  logger?: Logger;
  /** Part of the limit leased at once when shared (0.02 by default); the whole limit when local. */
  blockFraction?: number;
  /** The clock (tests drive it). */
  now?: () => number;
}

export class LeasedRateLimiter implements RateLimiter {
  readonly name: 'memory' | 'upstash';
  private readonly shared: RateLeaseStore | undefined;
  private readonly local = new LocalLeaseStore();
  private readonly breaker: TierBreaker | undefined;
  private readonly logger: Logger | undefined;
  private readonly blockFraction: number;
  private readonly now: () => number;
  private readonly states = new Map<string, KeyState>();
  private window = -1;
  private releasing: Promise<void> | undefined;
  /** Leases that fell back to the local counter (Redis failed or its breaker was open). */
  localFallbacks = 0;
  /** Leases asked of the shared store. */
  sharedLeases = 0;

  constructor(options: LeasedRateLimiterOptions = {}) {
    this.shared = options.shared;
    this.name = options.shared ? 'upstash' : 'memory';
    this.breaker = options.breaker;
    this.logger = options.logger;
    this.blockFraction = options.shared ? (options.blockFraction ?? 0.02) : 1;
    this.now = options.now ?? Date.now;
  }

  limit(identifier: string, perMinute: number): RateDecision | Promise<RateDecision> {
    const now = this.now();
    const s = this.state(`${perMinute}:${identifier}`, now);
    if (s.tokens > 0) {
      s.tokens--;
      if (s.tokens * 2 < this.baseBlock(perMinute) && this.baseBlock(perMinute) >= 4 && !s.claiming) {
        this.lease(s, identifier, perMinute, now).catch(() => {});
      }
      return this.decision(true, s, perMinute, now);
    }
    if (now < s.refusedUntil) return this.decision(false, s, perMinute, now);
    return this.leaseAndDecide(s, identifier, perMinute);
  }

  /** Leases that are under way have settled (tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.states.values()].map((s) => s.claiming));
  }

  private async leaseAndDecide(
    first: KeyState,
    identifier: string,
    perMinute: number,
  ): Promise<RateDecision> {
    // Concurrent requests share a lease; a burst larger than a block leases again.
    let s = first;
    for (let attempt = 0; attempt < 8; attempt++) {
      await (s.claiming ?? this.lease(s, identifier, perMinute, this.now()));
      const now = this.now();
      s = this.state(`${perMinute}:${identifier}`, now);
      if (s.tokens > 0) {
        s.tokens--;
        return this.decision(true, s, perMinute, now);
      }
      if (now < s.refusedUntil) return this.decision(false, s, perMinute, now);
    }
    return this.decision(false, s, perMinute, this.now());
  }

  private state(key: string, now: number): KeyState {
    const window = Math.floor(now / WINDOW_MS);
    if (window !== this.window) {
      // A new minute: tokens leased for the last one and not spent go back to its count.
      this.releaseUnspent();
      this.window = window;
    }
    let s = this.states.get(key);
    if (!s) {
      s = { window, tokens: 0, used: 0, refusedUntil: 0, claiming: undefined };
      this.states.set(key, s);
    }
    return s;
  }

  private releaseUnspent(): void {
    const returns: LeaseReturn[] = [];
    for (const [key, s] of this.states) {
      if (s.tokens > 0) returns.push({ key, window: s.window, tokens: s.tokens });
      s.tokens = 0;
    }
    this.states.clear();
    if (returns.length === 0) return;
    // Each store gets back what it leased: local leases only from the local counter.
    this.local.releaseNow(returns);
    const shared = this.shared;
    if (!shared) return;
    const give = () => shared.release(returns);
    (this.breaker ? this.breaker.execute(give) : give()).catch((err) =>
      this.logger?.debug('rate limiter: unspent tokens not returned', {
        event: 'api.ratelimit_release',
        err,
      }),
    );
  }

  private baseBlock(perMinute: number): number {
    return Math.max(1, Math.ceil(perMinute * this.blockFraction));
  }

  private lease(s: KeyState, identifier: string, perMinute: number, now: number): Promise<void> {
    const left = Math.max(0, perMinute - s.used);
    const want =
      s.used === 0
        ? this.baseBlock(perMinute)
        : Math.max(1, Math.min(this.baseBlock(perMinute), Math.ceil(left / 8)));
    const request: LeaseRequest = {
      key: `${perMinute}:${identifier}`,
      window: s.window,
      limit: perMinute,
      want,
      previousWeight: 1 - (now - s.window * WINDOW_MS) / WINDOW_MS,
    };
    s.claiming = this.claim(request)
      .then((lease) => {
        s.tokens += lease.granted;
        s.used = lease.used;
        // Nothing left: refuse without asking again for a moment (the sliding window frees tokens
        // as the previous minute's weight falls).
        if (lease.granted < want && s.tokens === 0) s.refusedUntil = this.now() + 1000;
      })
      .finally(() => {
        s.claiming = undefined;
      });
    return s.claiming;
  }

  private async claim(request: LeaseRequest): Promise<Lease> {
    const shared = this.shared;
    if (shared) {
      if (this.releasing) await this.releasing;
      this.sharedLeases++;
      try {
        return await (this.breaker
          ? this.breaker.execute(() => shared.claim(request))
          : shared.claim(request));
      } catch (err) {
        this.localFallbacks++;
        // Debug only: the outage is logged once, by Redis's breaker.
        this.logger?.debug('rate limiter: Redis unavailable; leasing locally', {
          event: 'api.ratelimit_local',
          err,
        });
      }
    }
    return this.local.claimNow(request);
  }

  private decision(allowed: boolean, s: KeyState, limit: number, now: number): RateDecision {
    return {
      allowed,
      limit,
      remaining: allowed ? Math.max(0, limit - s.used) + s.tokens : 0,
      resetMs: (s.window + 1) * WINDOW_MS - now,
    };
  }
}

/** In one process: leases from the local counter only (exact). */
export class MemoryRateLimiter extends LeasedRateLimiter {
  constructor(options: { now?: () => number } = {}) {
    super(options);
  }
}

/**
 * Counts one request of the caller's key: the RateLimit-* headers (IETF draft) go on the response,
 * and over the limit a 429 problem with Retry-After is thrown.
 */
export function countRequest(
  c: Context<ApiEnv>,
  limiter: RateLimiter,
  principal: Principal,
): void | Promise<void> {
  const d = limiter.limit(principal.keyId, principal.rateLimitPerMinute);
  if (d instanceof Promise) return d.then((decided) => applyDecision(c, decided));
  applyDecision(c, d);
}

function applyDecision(c: Context<ApiEnv>, d: RateDecision): void {
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
