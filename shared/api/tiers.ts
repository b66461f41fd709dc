/**
 * The read path: hot cache (Upstash Redis, or in-process locally) → PostgreSQL, filling the cache on
 * a miss. Values travel as JSON text end to end so a cache hit is served without parsing.
 */
import type { HotCache } from '../adapters/cache/cache.ts';
import type { Logger } from '../log.ts';

export type Tier = 'memory' | 'redis' | 'postgres';

export interface TieredValue {
  text: string;
  tier: Tier;
  /** Milliseconds spent per tier, for Server-Timing. */
  timings: { tier: Tier; ms: number; outcome: 'hit' | 'miss' | 'error' }[];
}

export interface ReadPathDeps {
  cache: HotCache;
  cacheTtlSeconds: number;
  logger: Logger;
}

export async function readThrough(
  deps: ReadPathDeps,
  key: string,
  load: () => Promise<unknown | null>,
): Promise<TieredValue | null> {
  const timings: TieredValue['timings'] = [];
  const cacheTier: Tier = deps.cache.name === 'upstash' ? 'redis' : 'memory';
  let t0 = performance.now();
  try {
    const text = await deps.cache.getRaw(key);
    timings.push({ tier: cacheTier, ms: performance.now() - t0, outcome: text === null ? 'miss' : 'hit' });
    if (text !== null) return { text, tier: cacheTier, timings };
  } catch (err) {
    timings.push({ tier: cacheTier, ms: performance.now() - t0, outcome: 'error' });
    deps.logger.warn('cache tier unavailable; reading PostgreSQL', {
      event: 'api.tier_down',
      tier: cacheTier,
      err,
    });
  }
  t0 = performance.now();
  const value = await load();
  timings.push({ tier: 'postgres', ms: performance.now() - t0, outcome: value === null ? 'miss' : 'hit' });
  if (value === null) return null;
  const text = JSON.stringify(value);
  deps.cache.write([{ key, value, ttlSeconds: deps.cacheTtlSeconds }]).catch(() => {});
  return { text, tier: 'postgres', timings };
}

export const serverTiming = (timings: TieredValue['timings']): string =>
  timings.map((t) => `${t.tier};desc="${t.outcome}";dur=${t.ms.toFixed(2)}`).join(', ');
