/**
 * /docs: the Scalar API reference of /openapi.json, working with no internet: the page loads the
 * single-file browser bundle of @scalar/api-reference from /docs/scalar.js (served from this
 * instance, read once, gzipped once) instead of its default CDN, and no web fonts.
 *
 * Where the bundle is: next to the built function (`scalar-standalone.js`, copied there by the build),
 * else in node_modules (source runs: `npm start`, tests).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Scalar } from '@scalar/hono-api-reference';
import type { Hono } from 'hono';
import type { Logger } from '../log.ts';
import { ApiProblem, PROBLEM_TYPES_PATH, problemTypesHtml } from './problem.ts';
import { acceptsGzip } from './respond.ts';

export const DOCS_BUNDLE_FILE = 'scalar-standalone.js';

/** Candidate paths of the standalone bundle, in order. */
export function docsBundleCandidates(): string[] {
  const candidates = [fileURLToPath(new URL(`./${DOCS_BUNDLE_FILE}`, import.meta.url))];
  try {
    const entry = import.meta.resolve('@scalar/api-reference');
    candidates.push(fileURLToPath(new URL('./browser/standalone.js', entry)));
  } catch {
    // not installed: only the copied asset can serve
  }
  return candidates;
}

interface Bundle {
  body: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer>;
  etag: string;
}

// biome-ignore lint/suspicious/noExplicitAny: any app of any env
export function mountDocs(app: Hono<any, any, any>, options: { logger: Logger; title: string }): void {
  let bundle: Bundle | null | undefined;
  const load = (): Bundle | null => {
    if (bundle !== undefined) return bundle;
    const path = docsBundleCandidates().find((p) => existsSync(p));
    if (!path) {
      options.logger.error('the API reference bundle is missing; /docs cannot render', {
        event: 'api.docs_missing',
        looked: docsBundleCandidates(),
      });
      bundle = null;
      return bundle;
    }
    const body = new Uint8Array(readFileSync(path));
    bundle = { body, gzip: new Uint8Array(gzipSync(body)), etag: `"scalar-${body.byteLength}"` };
    return bundle;
  };

  app.get(
    '/docs',
    Scalar({
      url: '/openapi.json',
      pageTitle: options.title,
      cdn: '/docs/scalar.js',
      withDefaultFonts: false,
      telemetry: false,
      defaultOpenAllTags: true,
    } as Parameters<typeof Scalar>[0]),
  );
  const problems = problemTypesHtml();
  app.get(PROBLEM_TYPES_PATH, (c) => {
    c.header('Cache-Control', 'public, max-age=86400');
    return c.html(problems);
  });
  app.get('/docs/scalar.js', (c) => {
    const b = load();
    if (!b) throw new ApiProblem(404, 'Not Found', 'The API reference bundle is not installed.');
    c.header('Cache-Control', 'public, max-age=86400');
    c.header('ETag', b.etag);
    c.header('Vary', 'Accept-Encoding');
    if (c.req.header('if-none-match') === b.etag) return c.body(null, 304);
    const type = { 'Content-Type': 'text/javascript; charset=utf-8' };
    if (acceptsGzip(c.req.header('accept-encoding'))) {
      c.header('Content-Encoding', 'gzip');
      return c.body(b.gzip, 200, type);
    }
    return c.body(b.body, 200, type);
  });
}
