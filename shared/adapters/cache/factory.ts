/** The hot tier from configuration: Upstash when configured, else the process's in-memory cache. */
import type { Config } from '../../config.ts';
import type { HotCache } from './cache.ts';
import { MemoryCache } from './memory.ts';

let embedded: MemoryCache | undefined;

/** The process-wide in-memory cache (one process runs every function locally). */
export const embeddedCache = (): MemoryCache => {
  embedded ??= new MemoryCache();
  return embedded;
};

export async function createCache(config: Config): Promise<HotCache> {
  if (!config.upstash) return embeddedCache();
  const [{ UpstashCache }, { useKeepAliveAgent }] = await Promise.all([
    import('./upstash.ts'),
    import('./http-agent.ts'),
  ]);
  const dispatcher = useKeepAliveAgent({ connections: config.UPSTASH_MAX_CONNECTIONS });
  return new UpstashCache({ ...config.upstash, prefix: config.REDIS_KEY_PREFIX, dispatcher });
}
