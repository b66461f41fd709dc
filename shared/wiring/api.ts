/**
 * The API's dependencies from configuration: PostgreSQL behind the API's stores (no migrations: the
 * cycle owns the schema), the cache, the rate limiter. The cycle's wiring sits beside it (cycle.ts).
 */

import { createCache } from '../adapters/cache/factory.ts';
import { createLiveChannel } from '../adapters/cache/live.ts';
import { postgresApiStores } from '../adapters/postgres/api-stores.ts';
import { connect } from '../adapters/postgres/client.ts';
import { parseIssuers } from '../api/auth/token-config.ts';
import type { TierBreaker } from '../api/breakers.ts';
import type { ApiDeps } from '../api/context.ts';
import { batchedStdoutSink } from '../api/log-sink.ts';
import { LeasedRateLimiter, MemoryRateLimiter, type RateLimiter } from '../api/rate-limit.ts';
import { type ApiSettings, DEFAULT_API_SETTINGS } from '../api/settings.ts';
import type { ApiStores } from '../api/stores.ts';
import { apiTierBreakers } from '../api/tiers.ts';
import { type Config, requireDatabaseUrl } from '../config.ts';
import { createLogger, type Logger } from '../log.ts';
import { createBigQuerySink } from '../sources/bigquery-sink.ts';

import { SecretBox } from '../webhooks/secrets.ts';
import { parseAllowHosts } from '../webhooks/targets.ts';

export function apiSettings(config: Config): Partial<ApiSettings> {
  return {
    corsOrigins: config.CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    defaultRateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    unauthenticatedPerMinute: config.UNAUTH_RATE_LIMIT_PER_MINUTE,
    bodyLimitBytes: config.REQUEST_BODY_LIMIT_BYTES,
    keyCacheMs: config.API_KEY_CACHE_SECONDS * 1000,
    memoryCacheBytes: config.API_MEMORY_CACHE_MB * 1024 * 1024,
    memoryFreshMs: config.API_MEMORY_TTL_SECONDS * 1000,
    keyStaleIfErrorMs: config.API_KEY_STALE_IF_ERROR_SECONDS * 1000,
    breakerCooldownMs: config.API_BREAKER_COOLDOWN_SECONDS * 1000,
    // One read: a connect and a statement, each within its own timeout.
    postgresTimeoutMs: config.API_PG_CONNECT_TIMEOUT_MS + config.API_PG_STATEMENT_TIMEOUT_MS,
    redisTimeoutMs: config.API_REDIS_TIMEOUT_MS,
    tokenIssuers: parseIssuers(config.API_TOKEN_ISSUERS),
    ingestMaxRows: config.INGEST_MAX_ROWS,
    ingestMaxBytes: config.INGEST_MAX_BYTES,
    ingestBatchesPerMinute: config.INGEST_BATCHES_PER_MINUTE,
    ingestMaxAgeMs: config.INGEST_MAX_AGE_HOURS * 3_600_000,
  };
}

/**
 * Rate limits leased from Upstash when it is configured (limits hold across instances at a Redis call
 * per block of requests, not per request: shared/api/rate-limit.ts), else counted in-process.
 */
export async function createRateLimiter(
  config: Config,
  logger: Logger,
  breaker?: TierBreaker,
): Promise<RateLimiter> {
  if (!config.upstash) return new MemoryRateLimiter();
  const [{ Redis }, { UpstashRateLeases }, { useKeepAliveAgent }] = await Promise.all([
    import('@upstash/redis'),
    import('../adapters/cache/upstash-rate-leases.ts'),
    import('../adapters/cache/http-agent.ts'),
  ]);
  useKeepAliveAgent({ connections: config.UPSTASH_MAX_CONNECTIONS });
  const redis = new Redis({
    ...config.upstash,
    retry: { retries: 1, backoff: () => 50 },
    enableTelemetry: false,
  });
  return new LeasedRateLimiter({
    shared: new UpstashRateLeases(redis, config.REDIS_KEY_PREFIX),
    logger,
    ...(breaker ? { breaker } : {}),
  });
}

export async function apiDeps(config: Config): Promise<ApiDeps> {
  const sink = batchedStdoutSink();
  const logger = createLogger({ level: config.LOG_LEVEL, base: { function: 'api' }, sink });
  const sql = connect(requireDatabaseUrl(config), {
    max: config.PG_POOL_MAX,
    idleTimeoutSeconds: config.PG_IDLE_TIMEOUT_SECONDS,
    maxLifetimeSeconds: config.PG_MAX_LIFETIME_SECONDS,
    connectTimeoutMs: config.API_PG_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.API_PG_STATEMENT_TIMEOUT_MS,
    caCert: config.DATABASE_CA_CERT,
  });
  const settings = apiSettings(config);
  // One breaker per tier, shared by the reads, the key verifier and the rate limiter.
  const breakers = apiTierBreakers({ ...DEFAULT_API_SETTINGS, ...settings }, logger);
  // Typed as the API's port: this is where the adapter is checked against what the API declares.
  const stores: ApiStores = postgresApiStores(sql);
  return {
    stores,
    cache: await createCache(config),
    logger,
    // Request log lines (INFO): written straight to the sink, in the logger's shape; every failed or
    // slow request and a sample of the rest (Cloud Run's own request log has every request).
    ...(config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'info' ? { requestLogSink: sink } : {}),
    requestLogLines: { sampleEvery: config.API_REQUEST_LOG_SAMPLE, slowMs: config.API_REQUEST_LOG_SLOW_MS },
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
    defaultTenantId: config.TENANT_ID,
    settings,
    breakers,
    rateLimiter: await createRateLimiter(config, logger, breakers.redis),
    // Pushed readings go where the dispatcher reads: the BigQuery table (its client loads on first use).
    ...(config.readingsSource.kind === 'bigquery'
      ? {
          readingSink: createBigQuerySink({
            projectId: config.GOOGLE_CLOUD_PROJECT ?? '',
            dataset: config.BIGQUERY_DATASET!,
            table: config.BIGQUERY_TABLE,
            location: config.BIGQUERY_LOCATION,
            apiEndpoint: config.BIGQUERY_API_ENDPOINT,
          }),
        }
      : {}),
    live: createLiveChannel(config.upstash, config.REDIS_KEY_PREFIX, logger),
    consoleTiles: config.consoleTiles,
    ...(config.WEBHOOK_SECRET_KEY
      ? {
          webhooks: {
            box: new SecretBox(config.WEBHOOK_SECRET_KEY),
            policy: { allowHosts: parseAllowHosts(config.WEBHOOK_ALLOW_HOSTS) },
          },
        }
      : {}),
  };
}
