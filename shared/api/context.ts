/** What the API needs, passed in: the same app runs in the functions framework and locally. */
import type { HotCache } from '../adapters/cache/cache.ts';
import type { Sql } from '../adapters/postgres/client.ts';
import type { Logger } from '../log.ts';

export interface ApiDeps {
  sql: Sql;
  cache: HotCache;
  logger: Logger;
  cacheTtlSeconds: number;
  /** The tenant served when no API key says otherwise (local development). */
  defaultTenantId: string;
}

export interface ApiEnv {
  Variables: {
    tenantId: string;
    requestId: string;
  };
}
