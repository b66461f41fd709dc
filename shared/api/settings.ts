/** The API's tunables, with the defaults a deployment overrides from configuration (shared/wiring/api.ts). */
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
  /** 401s one client address may receive per minute before it gets 429s (0: no limit). */
  unauthenticatedPerMinute: number;
  /**
   * While PostgreSQL cannot be asked, a key verified before keeps working this long after it was
   * last verified (stale-if-error of the key cache); older, it gets a 503.
   */
  keyStaleIfErrorMs: number;
  /** A tier that failed `breakerThreshold` times in a row is skipped this long before a probe. */
  breakerCooldownMs: number;
  breakerThreshold: number;
  /** Deadline of one read from PostgreSQL (all its statements) and of one Redis call. */
  postgresTimeoutMs: number;
  redisTimeoutMs: number;
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
  unauthenticatedPerMinute: 60,
  keyStaleIfErrorMs: 3_600_000,
  breakerCooldownMs: 5000,
  breakerThreshold: 3,
  postgresTimeoutMs: 1500,
  redisTimeoutMs: 500,
};
