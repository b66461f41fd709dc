/**
 * Sends a tiered value: the tier that answered (X-Cache-Tier), how long each tier took
 * (Server-Timing), its precomputed ETag (If-None-Match → 304), Cache-Control, stale marking, and the
 * entry's gzip bytes when the client accepts gzip (compressed once per entry, not per request).
 */
import type { Context } from 'hono';
import type { CachedEntry } from './cached-entry.ts';
import type { ApiEnv } from './env.ts';
import { API_SECURITY_HEADERS, requestHeader } from './headers.ts';
import { ApiProblem, RETRY_AFTER_SECONDS } from './problem.ts';
import { type ReadSpec, serverTiming, type TieredReader, TiersUnavailable } from './tiers.ts';

const GZIP_THRESHOLD = 1024;
const JSON_TYPE = 'application/json; charset=utf-8';

/** Whether an If-None-Match header matches an ETag (weak comparison, as for GET). */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true;
  for (const part of ifNoneMatch.split(',')) {
    const tag = part.trim();
    if (tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag)) return true;
  }
  return false;
}

/** Accept-Encoding allows gzip (and does not refuse it with q=0). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  const i = acceptEncoding.indexOf('gzip');
  if (i < 0) return false;
  const rest = acceptEncoding.slice(i + 4).split(',')[0] ?? '';
  return !/;\s*q=0(\.0*)?\s*$/.test(rest);
}

export interface SendOptions {
  /** max-age of a fresh answer, seconds. */
  maxAgeSeconds: number;
  /** JSON by default. */
  contentType?: string;
  /** Accept-Encoding by default. */
  vary?: string;
}

/**
 * Sends a cached entry as one Response with one plain header record (see headers.ts): the security
 * headers, the headers gathered by middleware (`c.var.out`), and the entry's own. Synchronous, except
 * while a large body's gzip bytes are being made on the thread pool (CachedEntry.gzip).
 */
export function sendEntry(
  c: Context<ApiEnv>,
  entry: CachedEntry,
  options: SendOptions & { stale?: boolean; tier?: string; timing?: string },
): Response | Promise<Response> {
  const headers: Record<string, string> = {
    ...API_SECURITY_HEADERS,
    ...c.get('out'),
    ...entry.headers,
    ETag: entry.etag,
    Vary: options.vary ?? 'Accept-Encoding',
  };
  if (options.tier) headers['X-Cache-Tier'] = options.tier;
  if (options.timing) headers['Server-Timing'] = options.timing;
  if (options.stale) {
    headers['Cache-Control'] = 'private, no-cache';
    headers['X-Stale'] = 'true';
    headers.Warning = '110 - "Response is Stale"';
    headers.Age = String(Math.max(0, Math.round((Date.now() - entry.storedAt) / 1000)));
  } else {
    headers['Cache-Control'] = `private, max-age=${options.maxAgeSeconds}`;
  }
  c.set('sealed', true);
  const ifNoneMatch = requestHeader(c, 'if-none-match');
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, entry.etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers['Content-Type'] = options.contentType ?? JSON_TYPE;
  if (entry.bytes >= GZIP_THRESHOLD && acceptsGzip(requestHeader(c, 'accept-encoding'))) {
    headers['Content-Encoding'] = 'gzip';
    const gzipped = entry.gzip();
    const send = (bytes: Uint8Array) =>
      new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200, headers });
    return gzipped instanceof Uint8Array ? send(gzipped) : gzipped.then(send);
  }
  return new Response(entry.raw, { status: 200, headers });
}

/**
 * Reads through the tiers and sends the value, or a 404 problem / 503 when no tier can answer.
 * A memory hit is answered synchronously.
 */
export function sendTiered(
  c: Context<ApiEnv>,
  reader: TieredReader,
  spec: ReadSpec,
  notFound: string,
  options: SendOptions,
): Response | Promise<Response> {
  const t0 = performance.now();
  const hit = reader.peek(spec);
  if (hit) {
    c.set('tier', 'memory');
    const ms = performance.now() - t0;
    return sendEntry(c, hit, {
      ...options,
      tier: 'memory',
      timing: `memory;desc="hit";dur=${ms.toFixed(2)}`,
    });
  }
  return readAndSend(c, reader, spec, notFound, options);
}

async function readAndSend(
  c: Context<ApiEnv>,
  reader: TieredReader,
  spec: ReadSpec,
  notFound: string,
  options: SendOptions,
): Promise<Response> {
  let value: Awaited<ReturnType<TieredReader['read']>>;
  try {
    value = await reader.read(spec);
  } catch (err) {
    if (err instanceof TiersUnavailable) {
      c.set('tier', 'none');
      throw new ApiProblem(503, 'Service Unavailable', 'No data tier can answer right now.', {
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
        cause: err,
      });
    }
    throw err;
  }
  if (!value) throw new ApiProblem(404, 'Not Found', notFound);
  c.set('tier', value.tier);
  return sendEntry(c, value.entry, {
    ...options,
    stale: value.stale,
    tier: value.tier,
    timing: serverTiming(value.timings),
  });
}
