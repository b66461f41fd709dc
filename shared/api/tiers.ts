/**
 * The read path: an in-process LRU (bounded in bytes) → the hot cache (Upstash Redis; the embedded
 * in-process cache locally) → PostgreSQL, filling the faster tiers on a miss.
 *
 * - A memory value younger than `memoryFreshMs` answers alone; within `staleWhileRevalidateMs` more it
 *   answers at once and is refreshed in the background; older, the tiers below are asked first.
 * - Redis down → PostgreSQL answers. PostgreSQL (and Redis) down → the last memory value answers,
 *   marked stale, up to `staleIfErrorMs` old. Nothing at all → TiersUnavailable (a 503).
 * - Each tier below memory is called under a deadline and through its circuit breaker (breakers.ts):
 *   a tier that keeps failing is skipped for a cool-down, so a dead tier costs microseconds, and its
 *   outage is logged once (by the breaker), not once per request.
 * - Concurrent misses of one key share one load; background refreshes share hot-cache reads (batches).
 *
 * Values travel as JSON text end to end, and each cached entry carries its ETag (and, once asked for,
 * its gzip bytes), so a memory hit serves stored bytes: no JSON, no hashing, no compression. A large
 * body is compressed on the thread pool, not on the event loop (cached-entry.ts).
 */
import { LRUCache } from 'lru-cache';
import { type HotCache, JsonText } from '../adapters/cache/cache.ts';
import type { Logger } from '../log.ts';
import { createTierBreakers, isBreakerError, type TierBreakers, TierOpen } from './breakers.ts';
import { CachedEntry } from './cached-entry.ts';
import type { ApiSettings } from './settings.ts';

export type Tier = 'memory' | 'redis' | 'postgres';

export interface Timing {
  tier: Tier;
  ms: number;
  /** skipped: the tier's breaker is open, it was not asked. */
  outcome: 'hit' | 'miss' | 'error' | 'stale' | 'skipped';
}

export interface TieredValue {
  entry: CachedEntry;
  tier: Tier;
  /** Served from memory because the tiers below could not answer. */
  stale: boolean;
  timings: Timing[];
}

export interface ReadSpec {
  /** Key of the memory tier (tenant-scoped, and holding every parameter of the answer). */
  key: string;
  /** Key of the hot cache, when the cycle writes this value there (same key, same JSON). */
  hotKey?: string;
  /** Reads the value from PostgreSQL; null when there is none. */
  load: () => Promise<unknown | null>;
  /** Overrides settings.memoryFreshMs and settings.staleWhileRevalidateMs (0 and 0 for values operators change). */
  freshMs?: number;
  revalidateMs?: number;
  /** How the value becomes the body; JSON by default. */
  encode?: (value: unknown) => string;
  /** Headers derived from the value, stored with it. */
  headers?: (value: unknown) => Record<string, string> | undefined;
}

/** No tier could answer: the API says 503 with Retry-After. */
export class TiersUnavailable extends Error {
  override name = 'TiersUnavailable';
}

const POSTGRES_DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '3D000', // the database does not exist (any more)
  '53300', // too many connections
  '57014', // canceled: the API's statement_timeout (a database too slow to answer is not answering)
]);

/** Whether a PostgreSQL error means "cannot reach the database" rather than a bad query. */
export function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // Classes 08 (connection exception) and 57 (operator intervention: shutdown, crash recovery).
  return POSTGRES_DOWN_CODES.has(code) || code.startsWith('08') || code.startsWith('57P');
}

interface Loaded {
  entry: CachedEntry;
  tier: Tier;
}

interface QueuedRefresh {
  spec: ReadSpec;
  resolve: (loaded: Loaded | null) => void;
  reject: (err: unknown) => void;
}

/** How long a background refresh waits for others to share its hot-cache read; how many (and bytes) share one. */
export const REFRESH_BATCH_MS = 100;
export const REFRESH_BATCH_KEYS = 100;
export const REFRESH_BATCH_BYTES = 1 << 20;

export class TieredReader {
  private readonly hot: HotCache;
  private readonly hotTier: Tier;
  private readonly ttlSeconds: number;
  private readonly logger: Logger;
  private readonly settings: ApiSettings;
  private readonly memory: LRUCache<string, CachedEntry>;
  private readonly inFlight = new Map<string, Promise<Loaded | null>>();
  /** Background refreshes waiting for their batch (queueRefresh). */
  private readonly refreshQueue = new Map<string, QueuedRefresh>();
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Bytes of the values queued for refresh (as memory holds them now). */
  private refreshBytes = 0;
  readonly breakers: TierBreakers;
  /** Fills of the hot cache after a PostgreSQL read: what happened to them. */
  readonly fills = { attempted: 0, written: 0, retried: 0, failed: 0, skipped: 0 };
  private lastFillWarning = 0;

  constructor(options: {
    hot: HotCache;
    ttlSeconds: number;
    logger: Logger;
    settings: ApiSettings;
    breakers?: TierBreakers;
  }) {
    this.hot = options.hot;
    this.hotTier = options.hot.name === 'upstash' ? 'redis' : 'memory';
    this.ttlSeconds = options.ttlSeconds;
    this.logger = options.logger;
    this.settings = options.settings;
    this.breakers = options.breakers ?? apiTierBreakers(options.settings, options.logger);
    this.memory = new LRUCache<string, CachedEntry>({
      maxSize: options.settings.memoryCacheBytes,
      sizeCalculation: (e, key) => e.bytes + key.length + 200,
      ttl: options.settings.staleIfErrorMs,
    });
  }

  /**
   * A memory value that may answer now without asking the tiers below (fresh, or within
   * stale-while-revalidate, which then refreshes in the background); undefined otherwise.
   * Synchronous: the hot path of a cached read has no await in it.
   */
  peek(spec: ReadSpec): CachedEntry | undefined {
    const cached = this.memory.get(spec.key);
    if (!cached) return undefined;
    const age = Date.now() - cached.storedAt;
    const fresh = spec.freshMs ?? this.settings.memoryFreshMs;
    if (age >= fresh + (spec.revalidateMs ?? this.settings.staleWhileRevalidateMs)) return undefined;
    if (age >= fresh) this.revalidate(spec, cached.bytes);
    return cached;
  }

  async read(spec: ReadSpec): Promise<TieredValue | null> {
    const t0 = performance.now();
    const cached = this.memory.get(spec.key);
    if (cached) {
      const age = Date.now() - cached.storedAt;
      const fresh = spec.freshMs ?? this.settings.memoryFreshMs;
      if (age < fresh + (spec.revalidateMs ?? this.settings.staleWhileRevalidateMs)) {
        if (age >= fresh) this.revalidate(spec, cached.bytes);
        const timing: Timing = { tier: 'memory', ms: performance.now() - t0, outcome: 'hit' };
        return { entry: cached, tier: 'memory', stale: false, timings: [timing] };
      }
    }
    const timings: Timing[] = [];
    try {
      const loaded = await this.loadShared(spec, timings);
      if (!loaded) return null;
      return { entry: loaded.entry, tier: loaded.tier, stale: false, timings };
    } catch (err) {
      if (!cached) throw err;
      // Debug only: the outage itself is logged once, by the tier's breaker.
      this.logger.debug('tiers below memory failed; serving a stale value', {
        event: 'api.stale',
        key: spec.key,
        ageMs: Date.now() - cached.storedAt,
        err,
      });
      timings.push({ tier: 'memory', ms: 0, outcome: 'stale' });
      return { entry: cached, tier: 'memory', stale: true, timings };
    }
  }

  /** Drops memory entries whose key starts with `prefix` (after a write through the API). */
  invalidate(prefix: string): void {
    for (const key of this.memory.keys()) if (key.startsWith(prefix)) this.memory.delete(key);
  }

  get memoryStats(): { entries: number; bytes: number; maxBytes: number } {
    return { entries: this.memory.size, bytes: this.memory.calculatedSize, maxBytes: this.memory.maxSize };
  }

  get hotTierName(): Tier {
    return this.hotTier;
  }

  private revalidate(spec: ReadSpec, bytes: number): void {
    if (this.inFlight.has(spec.key)) return;
    const refresh =
      this.hot.getRawMany && spec.hotKey !== undefined ? this.queueRefresh(spec, bytes) : undefined;
    (refresh ?? this.loadShared(spec, [])).catch((err) =>
      this.logger.debug('background refresh failed', { event: 'api.refresh_failed', key: spec.key, err }),
    );
  }

  /**
   * A background refresh of a hot-cache value, batched: those queued within REFRESH_BATCH_MS (≤ REFRESH_BATCH_KEYS,
   * ≤ 1 MiB as memory holds them) share one hot-cache read (an MGET), not an Upstash request each (bench:api
   * profile: ~6 % of a cached read's CPU). The value stays served meanwhile (stale-while-revalidate).
   */
  private queueRefresh(spec: ReadSpec, bytes: number): Promise<Loaded | null> {
    const pending = new Promise<Loaded | null>((resolve, reject) => {
      this.refreshQueue.set(spec.key, { spec, resolve, reject });
    }).finally(() => this.inFlight.delete(spec.key));
    this.inFlight.set(spec.key, pending);
    this.refreshBytes += bytes;
    const full = this.refreshQueue.size >= REFRESH_BATCH_KEYS || this.refreshBytes >= REFRESH_BATCH_BYTES;
    if (full) void this.flushRefreshes();
    else this.refreshTimer ??= setTimeout(() => void this.flushRefreshes(), REFRESH_BATCH_MS).unref();
    return pending;
  }

  /** Sends the queued refreshes' hot-cache read; what it lacks, or all when it failed, comes from PostgreSQL. */
  private async flushRefreshes(): Promise<void> {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    const batch = [...this.refreshQueue.values()];
    this.refreshQueue.clear();
    this.refreshBytes = 0;
    let texts: (string | null)[] | undefined;
    try {
      texts = await this.breakers.redis.execute(() => this.hot.getRawMany!(batch.map((r) => r.spec.hotKey!)));
    } catch (err) {
      this.logger.debug('hot cache unavailable; refreshing from PostgreSQL', { event: 'api.tier_down', err });
    }
    for (const [i, { spec, resolve, reject }] of batch.entries()) {
      const text = texts?.[i];
      if (typeof text !== 'string') this.fromPostgres(spec, [], texts === undefined).then(resolve, reject);
      else
        Promise.resolve(this.hotTier)
          .then((tier) => ({ entry: this.remember(spec.key, text), tier }))
          .then(resolve, reject);
    }
  }

  private loadShared(spec: ReadSpec, timings: Timing[]): Promise<Loaded | null> {
    let pending = this.inFlight.get(spec.key);
    if (!pending) {
      pending = this.loadBelow(spec, timings).finally(() => this.inFlight.delete(spec.key));
      this.inFlight.set(spec.key, pending);
    } else if (this.refreshQueue.has(spec.key)) void this.flushRefreshes(); // a request waits on it: now
    return pending;
  }

  private async loadBelow(spec: ReadSpec, timings: Timing[]): Promise<Loaded | null> {
    let hotFailed = false;
    if (spec.hotKey !== undefined) {
      const t0 = performance.now();
      try {
        const hotKey = spec.hotKey;
        const text = await this.breakers.redis.execute(() => this.hot.getRaw(hotKey));
        timings.push({
          tier: this.hotTier,
          ms: performance.now() - t0,
          outcome: text === null ? 'miss' : 'hit',
        });
        if (text !== null) return { entry: this.remember(spec.key, text), tier: this.hotTier };
      } catch (err) {
        hotFailed = true;
        const outcome = err instanceof TierOpen ? 'skipped' : 'error';
        timings.push({ tier: this.hotTier, ms: performance.now() - t0, outcome });
        this.logger.debug('hot cache unavailable; reading PostgreSQL', {
          event: 'api.tier_down',
          tier: this.hotTier,
          err,
        });
      }
    }
    return this.fromPostgres(spec, timings, hotFailed);
  }

  /** The value from PostgreSQL (filling the hot cache unless it just failed), or null when there is none. */
  private async fromPostgres(spec: ReadSpec, timings: Timing[], hotFailed: boolean): Promise<Loaded | null> {
    const t0 = performance.now();
    let value: unknown;
    try {
      value = await this.breakers.postgres.execute(spec.load);
    } catch (err) {
      const outcome = err instanceof TierOpen ? 'skipped' : 'error';
      timings.push({ tier: 'postgres', ms: performance.now() - t0, outcome });
      if (isUnavailable(err) || isBreakerError(err)) {
        throw new TiersUnavailable('PostgreSQL is unavailable', { cause: err });
      }
      throw err;
    }
    timings.push({ tier: 'postgres', ms: performance.now() - t0, outcome: value === null ? 'miss' : 'hit' });
    if (value === null) {
      this.memory.delete(spec.key);
      return null;
    }
    const text = spec.encode ? spec.encode(value) : JSON.stringify(value);
    if (spec.hotKey !== undefined) {
      // Redis just failed this very read: no fill (counted as skipped; the breaker logs the outage).
      if (hotFailed) {
        this.fills.attempted++;
        this.fills.skipped++;
      } else this.fill(spec.hotKey, value, spec.encode ? undefined : text);
    }
    return { entry: this.remember(spec.key, text, spec.headers?.(value)), tier: 'postgres' };
  }

  /**
   * Writes a value read from PostgreSQL into the hot cache (after Redis answered "miss"), in the
   * background. A failed fill is
   * retried once, then counted and logged as a warning (at most one line per 10 s, with the count):
   * the next miss of the key pays PostgreSQL again, which an operator should see. While Redis's
   * breaker is open the fill is skipped (counted; the breaker logged the outage). Fills run outside
   * the breaker (the reads decide whether Redis is down) and, being off the request path, under a
   * longer deadline than a read's. (On an overloaded machine, bench:api --miss saw 590 of 4,068 fills
   * not land with the 0.5 s read deadline: timed out, or skipped while the breaker was open.)
   */
  private fill(hotKey: string, value: unknown, json: string | undefined): void {
    this.fills.attempted++;
    if (this.breakers.redis.isOpen) {
      this.fills.skipped++;
      return;
    }
    // The JSON text the answer was made of, when it is the value's JSON: not serialized a second time.
    const entries = [
      { key: hotKey, value: json === undefined ? value : new JsonText(json), ttlSeconds: this.ttlSeconds },
    ];
    const write = () => withDeadline(this.hot.write(entries), FILL_DEADLINE_MS);
    write()
      .catch(() => {
        this.fills.retried++;
        return write();
      })
      .then(
        () => {
          this.fills.written++;
        },
        (err) => {
          this.fills.failed++;
          const now = Date.now();
          if (now - this.lastFillWarning < 10_000) return;
          this.lastFillWarning = now;
          this.logger.warn('hot cache fill failed; the key is read from PostgreSQL until filled', {
            event: 'api.fill_failed',
            key: hotKey,
            failedSoFar: this.fills.failed,
            err,
          });
        },
      );
  }

  private remember(key: string, text: string, headers?: Record<string, string>): CachedEntry {
    // peek: the entry being replaced, without touching its recency or TTL.
    const entry = new CachedEntry(text, Date.now(), headers, this.memory.peek(key, { allowStale: true }));
    this.memory.set(key, entry);
    return entry;
  }
}

/** How long a background fill of the hot cache may take. */
const FILL_DEADLINE_MS = 5_000;

/** `work`, or a rejection after `ms`. */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export const serverTiming = (timings: Timing[]): string => {
  let out = '';
  for (const t of timings) {
    if (out) out += ', ';
    out += `${t.tier};desc="${t.outcome}";dur=${t.ms.toFixed(2)}`;
  }
  return out;
};

/** The API's breakers from its settings (PostgreSQL failures: unreachable, not a bad query). */
export function apiTierBreakers(settings: ApiSettings, logger: Logger): TierBreakers {
  return createTierBreakers({
    cooldownMs: settings.breakerCooldownMs,
    threshold: settings.breakerThreshold,
    postgresTimeoutMs: settings.postgresTimeoutMs,
    redisTimeoutMs: settings.redisTimeoutMs,
    isPostgresUnavailable: isUnavailable,
    logger,
  });
}
