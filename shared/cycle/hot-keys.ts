/**
 * Hot keys are a copy of what PostgreSQL holds, so a write Redis refuses must not fail a node or a
 * rollup whose PostgreSQL state has committed (issue 19: 960 `node.failed` and every run left open
 * while Redis was away). A write is retried a bounded number of times, then given up: the node's
 * refresh at the next cycle rewrites all its keys, the next run's rollup rewrites the network's, and
 * the API fills a miss from PostgreSQL meanwhile.
 *
 * One warning when writes start failing (not one per node or key), one info line when they work
 * again; while writes are known to fail, each is tried once, so a cycle through a Redis outage costs
 * one refused round trip per node, not the retries' backoff.
 */
import type { CacheEntry, HotCache } from '../adapters/cache/cache.ts';
import type { Logger } from '../log.ts';

/** Attempts of one write while the cache is healthy, and the pause before each retry. */
const RETRY_DELAYS_MS = [100, 400];

interface WriteHealth {
  failing: boolean;
  /** Writes given up (each one node's or one rollup's keys). */
  givenUp: number;
  /** Keys those writes carried. */
  keysMissed: number;
}

const health = new WeakMap<HotCache, WriteHealth>();
const healthOf = (cache: HotCache): WriteHealth => {
  let h = health.get(cache);
  if (!h) {
    h = { failing: false, givenUp: 0, keysMissed: 0 };
    health.set(cache, h);
  }
  return h;
};

/** Writes given up on this cache since the process started, and the keys they carried. */
export const hotKeyWriteFailures = (cache: HotCache): { writes: number; keys: number } => {
  const h = healthOf(cache);
  return { writes: h.givenUp, keys: h.keysMissed };
};

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes hot keys, best effort: true when they were written, false when given up (logged once per
 * outage). Never throws.
 */
export async function writeHotKeys(
  deps: { cache: HotCache; logger: Logger },
  entries: CacheEntry[],
  what: 'node' | 'rollup',
): Promise<boolean> {
  if (entries.length === 0) return true;
  const h = healthOf(deps.cache);
  const delays = h.failing ? [] : RETRY_DELAYS_MS;
  let lastError: unknown;
  for (let attempt = 0; attempt <= delays.length; attempt++) {
    if (attempt > 0) await pause(delays[attempt - 1]!);
    try {
      await deps.cache.write(entries);
      if (h.failing) {
        h.failing = false;
        deps.logger.info('hot-key writes work again', {
          event: 'cache.writes_recovered',
          writesGivenUp: h.givenUp,
          keysMissed: h.keysMissed,
        });
      }
      return true;
    } catch (err) {
      lastError = err;
    }
  }
  h.givenUp += 1;
  h.keysMissed += entries.length;
  if (!h.failing) {
    h.failing = true;
    deps.logger.warn('hot-key writes fail; PostgreSQL holds the state, the next cycle rewrites the keys', {
      event: 'cache.writes_failing',
      what,
      attempts: delays.length + 1,
      err: lastError,
    });
  }
  return false;
}
