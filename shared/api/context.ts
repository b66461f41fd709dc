/** What the API needs, passed in: the same app runs in the functions framework and locally. */
import type { HotCache } from '../adapters/cache/cache.ts';
import type { LiveChannel } from '../adapters/cache/live.ts';
import type { Logger } from '../log.ts';
import type { ReadingSink } from '../sources/sink.ts';
import type { KeyVerifier } from './auth/authenticate.ts';
import type { TierBreakers } from './breakers.ts';
import type { TileLayer } from './console-tiles.ts';
import type { RequestLines } from './middleware/request-log/index.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { RequestStats } from './request-stats.ts';
import type { ApiSettings, StreamSettings, WebhookSettings } from './settings.ts';
import type { ApiStores } from './stores.ts';
import type { TieredReader } from './tiers.ts';

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
   * Where the request log lines (event api.request) go, when it is on. Without it, request
   * lines go through `logger.info`; with it, they skip the generic logger (the hot path).
   */
  requestLogSink?: (line: string) => void;
  /** Which successful requests get a request log line (request-log middleware); every one when omitted. */
  requestLogLines?: RequestLines;
  /** Per-key rate limiting; an in-process limiter when omitted. */
  rateLimiter?: RateLimiter;
  /**
   * The circuit breakers of PostgreSQL and Redis (shared with a rate limiter on Redis); made from
   * the settings when omitted.
   */
  breakers?: TierBreakers;
  /** The built console's folder (default: beside the bundle, else dist/console; see console.ts). */
  consoleDir?: string;
  /** Map tiles under the console's schematic (CONSOLE_TILE_URL); none: the schematic alone. */
  consoleTiles?: TileLayer | undefined;
  /** Where POST /readings writes (BigQuery in the cloud, the local source locally); without it, a 503. */
  readingSink?: ReadingSink | undefined;

  /** Wakes anomaly streams on every instance; the process's own channel when omitted. */
  live?: LiveChannel;
  stream?: Partial<StreamSettings>;
  /** Webhook secrets' key and target policy; without them /webhooks answers 503. */
  webhooks?: WebhookSettings;
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
  /** This instance's request latency and tier figures (reported by /status). */
  requestStats?: RequestStats;
  /** The per-key limiter (POST /readings counts batches on it too). */
  limiter: RateLimiter;
  readingSink: ReadingSink | undefined;

  /** Tells every instance's streams that the tenant has new anomaly events. */
  live: LiveChannel;
}
