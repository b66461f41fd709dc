/**
 * Headers on the hot path. Building a WHATWG Headers object and setting ~20 validated headers one by
 * one costs more than the rest of a cached read, so middleware gathers response headers in a plain
 * record (`c.var.out`) and a cached answer is sent as one Response with one plain header record,
 * which @hono/node-server writes straight to the socket. Every other response gets the same headers
 * applied by `finishHeaders` on its way out.
 *
 * Request headers are read from Node's own parsed headers when the host gives them (both hosts do),
 * instead of materialising a Headers object from the raw ones.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { compress } from 'hono/compress';
import { secureHeaders } from 'hono/secure-headers';
import { Hono } from 'hono/tiny';

/** A request header by lower-case name. */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) {
    const v = incoming.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }
  return c.req.header(name);
}

type SecureHeadersOptions = NonNullable<Parameters<typeof secureHeaders>[0]>;

/** The headers hono/secure-headers sets with these options, computed once (the values are static). */
async function captureSecureHeaders(options: SecureHeadersOptions): Promise<Record<string, string>> {
  const probe = new Hono();
  probe.use(secureHeaders(options));
  probe.get('/', (c) => c.body(null, 204));
  const res = await probe.request('/');
  const headers: Record<string, string> = {};
  res.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return headers;
}

/** Pages (/docs) and everything else: hono's defaults. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(
  await captureSecureHeaders({ crossOriginResourcePolicy: 'same-origin' }),
);

/**
 * JSON answers: the set OWASP's REST Security Cheat Sheet asks of an API (HSTS, nosniff, frame denial
 * and a CSP that lets nothing load, CORP, no referrer), without the HTML-page headers (DNS prefetch,
 * IE download options, XSS auditor, origin-agent clustering, Flash policies, COOP) that mean nothing
 * for data and cost header bytes on every cached read.
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...(await captureSecureHeaders({
    crossOriginResourcePolicy: 'same-origin',
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    xFrameOptions: 'DENY',
  })),
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
});

const noop = async () => {};
const compressor = compress({ threshold: 1024 });

/**
 * Applies the security headers and the gathered `out` headers to a response that was not sent
 * through the fast path, then compresses it (above 1 KB, when the client accepts it).
 */
export async function finishHeaders(c: Context, out: Record<string, string> | undefined): Promise<void> {
  const headers = c.res.headers;
  const security = c.req.path.startsWith('/api/') ? API_SECURITY_HEADERS : SECURITY_HEADERS;
  for (const k in security) if (!headers.has(k)) headers.set(k, security[k]!);
  if (out) for (const k in out) if (!headers.has(k)) headers.set(k, out[k]!);
  await compressor(c, noop);
}
