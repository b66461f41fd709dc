/** The hot tier: values the API reads, written once per node per cycle in one round trip. */
export interface CacheEntry {
  key: string;
  value: unknown;
  ttlSeconds: number;
  /** `value` as JSON text, when the caller already has it (stored as is; else `value` is serialized). */
  json?: string;
}

export interface HotCache {
  readonly name: 'memory' | 'upstash';
  /** Writes every entry in one round trip (a pipeline). */
  write(entries: CacheEntry[]): Promise<void>;
  /** The JSON text stored under a key, or null. */
  getRaw(key: string): Promise<string | null>;
  /** Deletes keys (tests, revocations). */
  del(keys: string[]): Promise<void>;
}

export class CacheError extends Error {
  override name = 'CacheError';
}
