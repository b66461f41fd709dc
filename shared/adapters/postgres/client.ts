/**
 * The PostgreSQL connection: postgres.js with a small bounded pool per instance, idle and lifetime
 * timeouts (serverless instances come and go; Cloud SQL has a connection limit: max instances ×
 * PG_POOL_MAX must stay under it — see terraform/README.md). Queries cast int8 results to float8
 * or int4 where they want numbers (postgres.js returns int8 as strings).
 */
import postgres from 'postgres';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

export interface PoolOptions {
  max: number;
  idleTimeoutSeconds: number;
  maxLifetimeSeconds: number;
}

export function connect(url: string, options: Partial<PoolOptions> = {}): Sql {
  return postgres(url, {
    max: options.max ?? 4,
    idle_timeout: options.idleTimeoutSeconds ?? 20,
    max_lifetime: options.maxLifetimeSeconds ?? 1800,
    connect_timeout: 10,
    onnotice: () => {},
  });
}
