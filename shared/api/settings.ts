/** The API's tunables, with the defaults a deployment overrides from configuration (shared/wiring/api.ts). */
import type { SecretBox } from '../webhooks/secrets.ts';
import type { TargetPolicy } from '../webhooks/targets.ts';
import type { IssuerConfig } from './auth/token-config.ts';
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
  /** OpenID Connect issuers whose bearer tokens are accepted beside API keys (none: keys only). */
  tokenIssuers: IssuerConfig[];
  /** jose's JWKS cache: a fetched key set is used this long; an unknown kid refetches at most once per cooldown. */
  jwksCacheMaxAgeMs: number;
  jwksCooldownMs: number;
  /** Deadline of one JWKS fetch (a token that needs it gets a 503 after it). */
  jwksTimeoutMs: number;
  /** POST /readings: rows and bytes of one batch, batches per minute per key, how old a reading may be. */
  ingestMaxRows: number;
  ingestMaxBytes: number;
  ingestBatchesPerMinute: number;
  ingestMaxAgeMs: number;
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
  tokenIssuers: [],
  jwksCacheMaxAgeMs: 600_000,
  jwksCooldownMs: 30_000,
  jwksTimeoutMs: 2000,
  ingestMaxRows: 5000,
  ingestMaxBytes: 1024 * 1024,
  ingestBatchesPerMinute: 60,
  ingestMaxAgeMs: 72 * 3_600_000,
};

/** The anomaly stream's tunables (routes/anomaly-stream.ts). */
export interface StreamSettings {
  /** An SSE comment when nothing was written for this long. */
  heartbeatMs: number;
  /** The log is read at least this often, notified or not. */
  pollMs: number;
  /** Events read (and buffered) at a time. */
  pageSize: number;
  /** A client that does not take one write within this is dropped. */
  writeTimeoutMs: number;
}

export const DEFAULT_STREAM_SETTINGS: StreamSettings = {
  heartbeatMs: 15_000,
  pollMs: 5_000,
  pageSize: 100,
  writeTimeoutMs: 30_000,
};

/** Webhook secrets' key and target policy (routes/webhooks.ts). */
export interface WebhookSettings {
  box: SecretBox;
  policy: TargetPolicy;
}
