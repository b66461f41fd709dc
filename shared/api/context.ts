/** What the API needs, passed in: the same app runs in the functions framework and locally. */
import type { HotCache } from '../adapters/cache/cache.ts';
import type { Logger } from '../log.ts';
import type { KeyVerifier } from './auth/authenticate.ts';
import type { Principal } from './auth/keys.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { ApiStores } from './stores.ts';
import type { TieredReader } from './tiers.ts';

export interface ApiSettings {
  /** Bound of the in-process cache tier, in bytes of cached response bodies. */
  memoryCacheBytes: number;
  /** A memory-tier value younger than this is served without asking the tiers below. */
  memoryFreshMs: number;
  /** Older, but within this much more: served at once while it is refreshed in the background. */
  staleWhileRevalidateMs: number;
  /** Up to this old, a memory-tier value still answers (marked stale) when the tiers below are down. */
  staleIfErrorMs: number;
  /** Verified API keys are trusted this long before PostgreSQL is asked again (revocation delay). */
  keyCacheMs: number;
  /** Largest request body accepted. */
  bodyLimitBytes: number;
  /** Origins allowed to call the API from a browser; empty allows none. */
  corsOrigins: string[];
  /** Rate limit of keys created without one. */
  defaultRateLimitPerMinute: number;
}

export const DEFAULT_API_SETTINGS: ApiSettings = {
  memoryCacheBytes: 64 * 1024 * 1024,
  memoryFreshMs: 15_000,
  staleWhileRevalidateMs: 60_000,
  staleIfErrorMs: 24 * 3_600_000,
  keyCacheMs: 30_000,
  bodyLimitBytes: 16 * 1024,
  corsOrigins: [],
  defaultRateLimitPerMinute: 600,
};

export interface ApiDeps {
  /** PostgreSQL, through the API's own store interfaces. */
  stores: ApiStores;
  cache: HotCache;
  logger: Logger;
  cacheTtlSeconds: number;
  /** The tenant of the development key `npm start` prints. */
  defaultTenantId: string;
  settings?: Partial<ApiSettings>;
  /**
   * Where the one-line-per-request log (event api.request) goes, when it is on. Without it, request
   * lines go through `logger.info`; with it, they skip the generic logger (the hot path).
   */
  requestLogSink?: (line: string) => void;
  /** Per-key rate limiting; an in-process limiter when omitted. */
  rateLimiter?: RateLimiter;
}

export interface ApiEnv {
  Variables: {
    requestId: string;
    /** The caller's tenant: every query is scoped to it. */
    tenantId: string;
    principal: Principal;
    /** Which tier answered, for the request log. */
    tier: string;
    /** Response headers gathered by middleware, as a plain record (see headers.ts). */
    out: Record<string, string>;
    /** The response was sent through the fast path with every header already on it. */
    sealed: boolean;
  };
}

/** What every route module gets: storage, the tiered reader and the resolved settings. */
export interface RouteDeps {
  stores: ApiStores;
  /** The hot cache itself (probes, invalidation); reads go through `reader`. */
  hot: HotCache;
  reader: TieredReader;
  settings: ApiSettings;
  logger: Logger;
  verifier: KeyVerifier;
  /** max-age of cached answers (the memory tier's freshness). */
  maxAgeSeconds: number;
}
