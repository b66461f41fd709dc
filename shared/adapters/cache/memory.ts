/** The embedded default of the hot tier: an in-process map with TTLs (one process runs everything). */
import type { CacheEntry, HotCache } from './cache.ts';

export class MemoryCache implements HotCache {
  readonly name = 'memory' as const;
  private readonly data = new Map<string, { text: string; expiresAt: number }>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  async write(entries: CacheEntry[]): Promise<void> {
    const t = this.now();
    for (const e of entries)
      this.data.set(e.key, { text: e.json ?? JSON.stringify(e.value), expiresAt: t + e.ttlSeconds * 1000 });
  }

  async getRaw(key: string): Promise<string | null> {
    const hit = this.data.get(key);
    if (!hit) return null;
    if (hit.expiresAt <= this.now()) {
      this.data.delete(key);
      return null;
    }
    return hit.text;
  }

  async del(keys: string[]): Promise<void> {
    for (const k of keys) this.data.delete(k);
  }

  get size(): number {
    return this.data.size;
  }
}
