/** The API's dependencies from configuration: PostgreSQL (no migrations: the cycle owns the schema) and the cache. */
import { connect } from '../adapters/postgres/client.ts';
import { type Config, requireDatabaseUrl } from '../config.ts';
import { baseLogger, createCache } from '../runtime.ts';
import type { ApiDeps } from './context.ts';

export async function apiDeps(config: Config): Promise<ApiDeps> {
  return {
    sql: connect(requireDatabaseUrl(config), {
      max: config.PG_POOL_MAX,
      idleTimeoutSeconds: config.PG_IDLE_TIMEOUT_SECONDS,
      maxLifetimeSeconds: config.PG_MAX_LIFETIME_SECONDS,
    }),
    cache: await createCache(config),
    logger: baseLogger(config, 'api'),
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
    defaultTenantId: config.TENANT_ID,
  };
}
