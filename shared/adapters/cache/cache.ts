/** The hot tier: values the API reads, written once per node per cycle in one round trip. */
export interface CacheEntry {
  key: string;
  /** Stored as its JSON text; a `JsonText` is that text already (serialized once for another store too). */
  value: unknown;
  ttlSeconds: number;
}

/** A value's JSON text, made once by a caller that also writes it elsewhere. */
export class JsonText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** The JSON text an entry's value is stored as. */
export const jsonTextOf = (value: unknown): string =>
  value instanceof JsonText ? value.text : JSON.stringify(value);

export interface HotCache {
  readonly name: 'memory' | 'upstash';
  /** Writes every entry in one round trip (a pipeline). */
  write(entries: CacheEntry[]): Promise<void>;
  /** The JSON text stored under a key, or null. */
  getRaw(key: string): Promise<string | null>;
  /**
   * The JSON texts stored under several keys, in their order (null where none), in one round trip;
   * absent where a round trip per key costs nothing (the embedded cache).
   */
  getRawMany?(keys: string[]): Promise<(string | null)[]>;
  /** Deletes keys (tests, revocations). */
  del(keys: string[]): Promise<void>;
}

export class CacheError extends Error {
  override name = 'CacheError';
}
