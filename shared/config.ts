/**
 * Configuration, read once from the environment and validated with one schema.
 *
 * Every embedded default switches to the real thing by configuration:
 * - DATABASE_URL                      → PostgreSQL (the local runner starts embedded PGlite and sets it)
 * - UPSTASH_REDIS_REST_URL / _TOKEN   → Upstash Redis (otherwise an in-process cache)
 * - FIRESTORE_EMULATOR_HOST / project → Firestore coordination (otherwise in-process)
 * - PUBSUB_EMULATOR_HOST / project    → Pub/Sub (otherwise an in-process bus delivering CloudEvents)
 * - BIGQUERY_DATASET                  → BigQuery readings (otherwise the simulator or a CSV file)
 *
 * The variables are grouped in sections; each function reads only the sections it needs
 * (FUNCTION_SECTIONS), and Terraform gives each function exactly those variables (a test compares them).
 */
import { z } from 'zod';
import { parseIssuers } from './api/auth/token-config.ts';
import { parseTileLayer, type TileLayer } from './api/console-tiles.ts';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

export const sections = {
  core: z.object({
    LOG_LEVEL: z.enum(['debug', 'info', 'warning', 'error']).default('info'),
    /** cloud: spans of requests and of the cycle go to Cloud Trace (OpenTelemetry, loaded only then); off: none. */
    TRACING: z.enum(['off', 'cloud']).default('off'),
    /** Where TRACING=cloud sends its spans (OTLP over HTTP): Cloud Trace's endpoint unless a test points it at a receiver. */
    TRACE_OTLP_URL: z.url().optional(),
    GOOGLE_CLOUD_PROJECT: optionalString,
    /** The tenant whose data this deployment processes (and serves to requests without a key's tenant). */
    TENANT_ID: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes')
      .default('default'),
  }),
  database: z.object({
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    PG_POOL_MAX: int(1, 100).default(4),
    PG_IDLE_TIMEOUT_SECONDS: int(1, 3600).default(20),
    PG_MAX_LIFETIME_SECONDS: int(60, 86_400).default(1800),
    /**
     * Apply pending migrations when a cycle function starts (local runs). The cloud sets false: its
     * migrate job runs them before traffic moves, and a function only checks the schema is current.
     */
    MIGRATE_ON_START: bool.default(true),
    /** PEM of the database server's CA: verify its certificate (Terraform sets Cloud SQL's instance CA). */
    DATABASE_CA_CERT: optionalString,
  }),
  cache: z.object({
    UPSTASH_REDIS_REST_URL: z.url().optional(),
    UPSTASH_REDIS_REST_TOKEN: optionalString,
    /** Prefix for every Redis key: isolates environments (and test files) sharing one Redis. */
    REDIS_KEY_PREFIX: z.string().default(''),
    CACHE_TTL_SECONDS: int(60, 30 * 86_400).default(86_400),
  }),
  coordination: z.object({
    FIRESTORE_EMULATOR_HOST: optionalString,
    FIRESTORE_DATABASE: z.string().default('(default)'),
    /** memory | firestore; by default Firestore when an emulator or a project is configured. */
    COORDINATION_BACKEND: z.enum(['memory', 'firestore']).optional(),
  }),
  bus: z.object({
    PUBSUB_EMULATOR_HOST: optionalString,
    BUS_BACKEND: z.enum(['memory', 'pubsub']).optional(),
    TOPIC_NODE_WORK: z.string().default('wnm-node-work'),
    TOPIC_NETWORK_ROLLUP: z.string().default('wnm-network-rollup'),
    TOPIC_DEAD_LETTER: z.string().default('wnm-dead-letter'),
    /** Webhook work: fan-out ticks (the cycle, Cloud Scheduler) and one message per delivery. */
    TOPIC_WEBHOOK_DELIVERIES: z.string().default('wnm-webhook-deliveries'),
  }),
  source: z.object({
    /** simulator | csv:PATH | bigquery. By default BigQuery when BIGQUERY_DATASET is set, else the simulator. */
    READINGS_SOURCE: z
      .string()
      .regex(/^(simulator|bigquery|csv:.+)$/, 'must be simulator, bigquery or csv:PATH')
      .optional(),
    BIGQUERY_DATASET: optionalString,
    BIGQUERY_TABLE: z.string().default('readings'),
    BIGQUERY_LOCATION: z.string().default('EU'),
    /** Only for tests: the loopback server standing in for BigQuery. */
    BIGQUERY_API_ENDPOINT: z.url().optional(),
    SIMULATOR_SEED: int(0, 2 ** 31 - 1).default(42),
    SIMULATOR_NODES: int(1, 100_000).default(48),
  }),
  cycle: z.object({
    CYCLE_MINUTES: int(1, 1440).default(30),
    /** How far back a reading's time may lie behind its ingestion and still be read (partition pruning). */
    LATENESS_HORIZON_HOURS: int(1, 24 * 90).default(72),
    /** A node's readings are split into messages no larger than this (Pub/Sub allows 10 MB). */
    MAX_MESSAGE_BYTES: int(10_000, 9_000_000).default(4_000_000),
    /**
     * Node batches the dispatcher packs into one work message (also cut at MAX_MESSAGE_BYTES); the
     * aggregator applies them in one transaction. 1: one message per node batch.
     */
    NODES_PER_MESSAGE: int(1, 256).default(16),
    MAX_DELIVERY_ATTEMPTS: int(1, 100).default(5),
    /**
     * Analytics inside the cycle: data quality, anomalies, forecasts, water balance. Off leaves the
     * aggregates and served views only (what bench/analytics-overhead.ts compares against).
     */
    ANALYTICS_ENABLED: bool.default(true),
    /**
     * The holiday calendar of forecasts and consumption patterns (`parseHolidays`): e.g. `IT,06-24=San Giovanni`,
     * or `01-01,12-25,easter+1,no-bridges`. Unset: Italian public holidays and bridge days.
     */
    HOLIDAYS: optionalString,
  }),
  api: z.object({
    PORT: int(1, 65_535).default(8080),
    /** Comma-separated origins allowed to call the API from a browser; empty allows none. */
    CORS_ORIGINS: z.string().default(''),
    API_DEV_MODE: bool.default(false),
    /** Requests per minute of keys created without a limit of their own. */
    RATE_LIMIT_PER_MINUTE: int(1, 1_000_000).default(600),
    /** 401s one client address may receive per minute before it gets 429s (0: no limit). */
    UNAUTH_RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(60),
    /**
     * Request log lines (event api.request) of successful requests: one in this many (1: every request,
     * 0: none), and every one slower than API_REQUEST_LOG_SLOW_MS; failed requests always have one.
     * Cloud Run's own request log has every request.
     */
    API_REQUEST_LOG_SAMPLE: int(0, 1_000_000).default(100),
    API_REQUEST_LOG_SLOW_MS: int(0, 600_000).default(500),
    /** Largest request body accepted, bytes. */
    REQUEST_BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).default(16_384),
    /** How long a verified API key is trusted before PostgreSQL is asked again: the revocation delay. */
    API_KEY_CACHE_SECONDS: int(1, 3600).default(30),
    /** Size bound of the API's in-process cache tier. */
    API_MEMORY_CACHE_MB: int(1, 4096).default(64),
    /** How long an in-process cached answer is served without asking Redis or PostgreSQL. */
    API_MEMORY_TTL_SECONDS: int(0, 3600).default(15),
    /** The API's PostgreSQL connections: connect (to ready for queries) and server-side statement timeouts. */
    API_PG_CONNECT_TIMEOUT_MS: int(100, 60_000).default(1000),
    API_PG_STATEMENT_TIMEOUT_MS: int(10, 600_000).default(500),
    /** Deadline of one call to Redis from the API (reads, fills, rate limits). */
    API_REDIS_TIMEOUT_MS: int(50, 60_000).default(500),
    /** Connections kept open to Upstash per instance (keep-alive; about the instance's concurrency). */
    UPSTASH_MAX_CONNECTIONS: int(1, 1024).default(64),
    /** A tier (PostgreSQL, Redis) that failed is skipped this long before it is probed again. */
    API_BREAKER_COOLDOWN_SECONDS: int(1, 600).default(5),
    /** While PostgreSQL is down, a key verified before keeps working this long after its last verification. */
    API_KEY_STALE_IF_ERROR_SECONDS: int(0, 86_400).default(3600),
    /**
     * OpenID Connect issuers whose bearer tokens are accepted beside API keys: a JSON array of
     * { preset?, issuer?, jwksUri?, audience, tenantClaim?, tenant?, tenants?, roleClaim?, roleMap?,
     * defaultRole?, maxRole?, principals? } (shared/api/auth/token-config.ts). Empty: keys only.
     */
    /** POST /api/v1/readings: rows and bytes of one batch, batches per minute per key. */
    INGEST_MAX_ROWS: int(1, 100_000).default(5000),
    INGEST_MAX_BYTES: int(1024, 10 * 1024 * 1024).default(1024 * 1024),
    INGEST_BATCHES_PER_MINUTE: int(1, 100_000).default(60),
    /** Older pushed readings are refused: keep it at most LATENESS_HORIZON_HOURS (the cycle reads no further back). */
    INGEST_MAX_AGE_HOURS: int(1, 24 * 90).default(72),
    /** Map tiles under the console's schematic: an XYZ template ({z}/{x}/{y}); unset, the schematic alone (offline). */
    CONSOLE_TILE_URL: optionalString,
    /** The tile provider's attribution, shown under the map; required with CONSOLE_TILE_URL. */
    CONSOLE_TILE_ATTRIBUTION: optionalString,
    API_TOKEN_ISSUERS: z
      .string()
      .default('')
      .superRefine((text, ctx) => {
        try {
          parseIssuers(text);
        } catch (err) {
          ctx.addIssue({
            code: 'custom',
            message: (err as Error).message.replace(/^API_TOKEN_ISSUERS: /, ''),
          });
        }
      }),
  }),
  webhooks: z.object({
    /** 32 bytes, base64: encrypts webhook signing secrets at rest. Without it, /webhooks answers 503. */
    WEBHOOK_SECRET_KEY: z
      .string()
      .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
      .optional(),
    /** Comma-separated host:port pairs exempt from the SSRF checks (a local receiver); empty in production. */
    WEBHOOK_ALLOW_HOSTS: z.string().default(''),
    /** Attempts of one delivery (each redelivery backs off exponentially) before it is dead-lettered. */
    WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(8),
    /** Deadline of one delivery request. */
    WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(10_000),
  }),
} as const;

export type SectionName = keyof typeof sections;

/** Which sections each deployed function reads. Terraform's env blocks must match these exactly. */
export const FUNCTION_SECTIONS = {
  dispatcher: ['core', 'database', 'coordination', 'bus', 'source', 'cycle'],
  aggregator: ['core', 'database', 'cache', 'coordination', 'bus', 'cycle'],
  // source: where POST /readings writes (the BigQuery table the dispatcher reads).
  api: ['core', 'database', 'cache', 'source', 'api', 'webhooks'],
  webhooks: ['core', 'database', 'bus', 'webhooks'],
} as const satisfies Record<string, readonly SectionName[]>;

export type FunctionName = keyof typeof FUNCTION_SECTIONS;

const fullSchema = z.object({
  ...sections.core.shape,
  ...sections.database.shape,
  ...sections.cache.shape,
  ...sections.coordination.shape,
  ...sections.bus.shape,
  ...sections.source.shape,
  ...sections.cycle.shape,
  ...sections.api.shape,
  ...sections.webhooks.shape,
});

type Raw = z.infer<typeof fullSchema>;

export interface Config extends Raw {
  coordinationBackend: 'memory' | 'firestore';
  busBackend: 'memory' | 'pubsub';
  readingsSource: { kind: 'simulator' } | { kind: 'bigquery' } | { kind: 'csv'; path: string };
  upstash: { url: string; token: string } | undefined;
  /** The console's map tiles (CONSOLE_TILE_URL), when configured. */
  consoleTiles: TileLayer | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The environment variable names a function reads. */
export function envVarsOf(fn: FunctionName): string[] {
  return FUNCTION_SECTIONS[fn].flatMap((s) => Object.keys(sections[s].shape)).sort();
}

/** Parses and validates the whole configuration; throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = fullSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  if (Boolean(c.UPSTASH_REDIS_REST_URL) !== Boolean(c.UPSTASH_REDIS_REST_TOKEN)) {
    throw new ConfigError(
      'Invalid configuration:\n  UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set together',
    );
  }
  const cloud = Boolean(c.GOOGLE_CLOUD_PROJECT);
  const source = c.READINGS_SOURCE ?? (c.BIGQUERY_DATASET ? 'bigquery' : 'simulator');
  if (source === 'bigquery' && !c.BIGQUERY_DATASET) {
    throw new ConfigError(
      'Invalid configuration:\n  BIGQUERY_DATASET: required when READINGS_SOURCE=bigquery',
    );
  }
  let consoleTiles: TileLayer | undefined;
  try {
    consoleTiles = parseTileLayer(c.CONSOLE_TILE_URL, c.CONSOLE_TILE_ATTRIBUTION);
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  ${(err as Error).message}`);
  }
  return {
    ...c,
    consoleTiles,
    coordinationBackend:
      c.COORDINATION_BACKEND ?? (c.FIRESTORE_EMULATOR_HOST || cloud ? 'firestore' : 'memory'),
    busBackend: c.BUS_BACKEND ?? (c.PUBSUB_EMULATOR_HOST || cloud ? 'pubsub' : 'memory'),
    readingsSource: source.startsWith('csv:')
      ? { kind: 'csv', path: source.slice(4) }
      : { kind: source as 'simulator' | 'bigquery' },
    upstash:
      c.UPSTASH_REDIS_REST_URL && c.UPSTASH_REDIS_REST_TOKEN
        ? { url: c.UPSTASH_REDIS_REST_URL, token: c.UPSTASH_REDIS_REST_TOKEN }
        : undefined,
  };
}

/** DATABASE_URL, or a clear error naming it. */
export function requireDatabaseUrl(config: Config): string {
  if (!config.DATABASE_URL) {
    throw new ConfigError(
      'Invalid configuration:\n  DATABASE_URL: required (postgres://user:pass@host:port/db)',
    );
  }
  return config.DATABASE_URL;
}
