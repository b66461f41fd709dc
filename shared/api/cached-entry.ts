/**
 * A cached answer as the read path keeps it in every tier's stead: the body's UTF-8 bytes, its ETag and,
 * once asked for, its gzip bytes, so a memory hit serves stored bytes (no JSON, no hashing, no
 * compression). A large body is compressed on the thread pool, not on the event loop.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback, gzipSync } from 'node:zlib';

const utf8 = new TextEncoder();
const gzipOffLoop = promisify(gzipCallback);

/**
 * Bodies from this size up are gzipped on the thread pool: on the event loop a history answer (a few
 * hundred KiB) held every request of the instance for ms to tens of ms. Below it, in place is cheaper
 * than the hop (14 KiB: 0.25 vs ~1.5 ms wall; from ~40 KiB in place costs more: commit 161c028).
 */
export const OFF_LOOP_GZIP_BYTES = 32 * 1024;

export class CachedEntry {
  /**
   * The body's UTF-8 bytes, encoded once: a cached answer writes these to the socket as they are
   * (a string body would be measured and encoded again on every response). Its own ArrayBuffer, so
   * an entry never pins a shared pool slab.
   */
  readonly raw: Uint8Array<ArrayBuffer>;
  readonly etag: string;
  readonly storedAt: number;
  readonly bytes: number;
  /** Headers that belong to the value (a list's Link to its next page). */
  readonly headers: Record<string, string> | undefined;
  #gzip: Uint8Array | Promise<Uint8Array> | undefined;

  /**
   * With `previous` (the entry this one replaces) holding the very same bytes and headers, the new
   * entry shares its bytes, ETag and gzip: a value re-read unchanged (a list read on every request,
   * a refresh that found nothing new) is not hashed or compressed again.
   */
  constructor(body: string, storedAt: number, headers?: Record<string, string>, previous?: CachedEntry) {
    const raw = utf8.encode(body);
    this.headers = headers;
    this.storedAt = storedAt;
    if (previous !== undefined && sameBytes(previous.raw, raw) && sameHeaders(previous.headers, headers)) {
      this.raw = previous.raw;
      this.bytes = previous.bytes;
      this.etag = previous.etag;
      // Bytes made, not a pending promise: a failure clears only the previous entry's.
      if (previous.#gzip instanceof Uint8Array) this.#gzip = previous.#gzip;
      return;
    }
    this.raw = raw;
    this.bytes = raw.byteLength;
    this.etag = `"${createHash('sha1').update(raw).digest('base64url')}"`;
  }

  /** The body as text (decoded on demand: the hot path sends `raw`). */
  get body(): string {
    return Buffer.from(this.raw.buffer, this.raw.byteOffset, this.raw.byteLength).toString('utf8');
  }

  /** The body gzipped, once: in place when small, else on the pool (one shared promise; a failure is not kept). */
  gzip(): Uint8Array | Promise<Uint8Array> {
    if (this.#gzip !== undefined) return this.#gzip;
    if (this.bytes < OFF_LOOP_GZIP_BYTES) {
      this.#gzip = gzipSync(this.raw);
      return this.#gzip;
    }
    const pending = gzipOffLoop(this.raw).then(
      (bytes) => {
        this.#gzip = bytes;
        return bytes;
      },
      (err: unknown) => {
        this.#gzip = undefined;
        throw err;
      },
    );
    this.#gzip = pending;
    return pending;
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.byteLength === b.byteLength &&
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function sameHeaders(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
