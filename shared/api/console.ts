/**
 * /console: the operator console, static files built by `console/build.ts` (esbuild: fingerprinted
 * JS and CSS, each with its gzip and brotli twin, an index.html and a manifest). This module only
 * serves them: the HTML with `no-cache` and an ETag, fingerprinted assets `immutable` for a year,
 * the smallest encoding the client accepts, 304 on If-None-Match, and a Content-Security-Policy that
 * allows nothing but this origin (no inline script, no eval, no CDN) — and, where map tiles are
 * configured, images from the tile server's origin, which the page names in two `<meta>` tags. The console reads nothing but
 * the public API under /api/v1 with the key the operator signs in with.
 *
 * Where the files are: next to the built function (`console/`, copied there by scripts/build.ts),
 * else `dist/console` of the repo (source runs: `npm start` builds it first, tests build it).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { Hono } from 'hono';
import type { Logger } from '../log.ts';
import type { TileLayer } from './console-tiles.ts';
import { ApiProblem } from './problem.ts';
import { etagMatches } from './respond.ts';

export const CONSOLE_PATH = '/console';
export const CONSOLE_MANIFEST = 'manifest.json';

/** What the build writes beside the files: each served file with its type and encodings. */
export interface ConsoleManifest {
  /** Built at (ISO time); informative. */
  builtAt: string;
  /** The entry page (`index.html`) and every asset, by file name. */
  files: Record<string, { type: string; etag: string; encodings: ('br' | 'gzip')[]; immutable: boolean }>;
}

/**
 * The only origin the console talks to is its own, and images may come from the configured tile
 * server's origin and no other; styles set from script (CSSOM) need no inline allowance.
 */
export function consoleCsp(tiles?: TileLayer): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data:${tiles ? ` ${tiles.origin}` : ''}`,
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The policy without map tiles (the default). */
export const CONSOLE_CSP = consoleCsp();

const escapeAttribute = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * The page with the tile layer in `<meta>` tags the console reads at start (no request of its own, no
 * inline script), its ETag and compressed twins made again for it, once per instance.
 */
function withTiles(html: string, etag: string, tiles: TileLayer) {
  const meta =
    `<meta name="wnm-tile-url" content="${escapeAttribute(tiles.url)}">` +
    `<meta name="wnm-tile-attribution" content="${escapeAttribute(tiles.attribution)}">`;
  const page = Buffer.from(html.replace('</head>', `${meta}</head>`));
  const tag = createHash('sha256')
    .update(etag)
    .update(tiles.url)
    .update(tiles.attribution)
    .digest('base64url');
  return {
    etag: `"${tag.slice(0, 16)}"`,
    bodies: {
      'index.html': new Uint8Array(page),
      'index.html.br': new Uint8Array(brotliCompressSync(page)),
      'index.html.gz': new Uint8Array(gzipSync(page)),
    },
  };
}

const YEAR_SECONDS = 365 * 24 * 3600;
const FILE_PATTERN = /^[A-Za-z0-9._-]+$/;

/** Candidate folders of the built console, in order. */
export function consoleDirCandidates(): string[] {
  return [
    fileURLToPath(new URL('./console/', import.meta.url)),
    fileURLToPath(new URL('../../dist/console/', import.meta.url)),
  ];
}

interface Loaded {
  dir: string;
  manifest: ConsoleManifest;
  bodies: Map<string, Uint8Array<ArrayBuffer>>;
}

/** The encoding to send: brotli, then gzip, when the client accepts it (q=0 refuses). */
export function pickEncoding(
  acceptEncoding: string | undefined,
  available: readonly string[],
): string | null {
  if (!acceptEncoding) return null;
  const accepted = new Set<string>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().split(';');
    const refused = params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
    if (name && !refused) accepted.add(name.trim().toLowerCase());
  }
  for (const enc of ['br', 'gzip']) {
    if (available.includes(enc) && (accepted.has(enc) || accepted.has('*'))) return enc;
  }
  return null;
}

export interface ConsoleOptions {
  logger: Logger;
  /** The built console's folder (default: the first of `consoleDirCandidates()` that holds a manifest). */
  dir?: string;
  /** Map tiles under the schematic (CONSOLE_TILE_URL): named in the page, allowed by the CSP. */
  tiles?: TileLayer;
}

// biome-ignore lint/suspicious/noExplicitAny: any app of any env
export function mountConsole(app: Hono<any, any, any>, options: ConsoleOptions): void {
  let loaded: Loaded | null | undefined;
  const csp = consoleCsp(options.tiles);
  const load = (): Loaded | null => {
    if (loaded !== undefined) return loaded;
    const candidates = options.dir ? [options.dir] : consoleDirCandidates();
    const dir = candidates.find((d) => existsSync(join(d, CONSOLE_MANIFEST)));
    if (!dir) {
      options.logger.error('the console is not built; /console cannot render (npm run build:console)', {
        event: 'api.console_missing',
        looked: candidates,
      });
      loaded = null;
      return loaded;
    }
    const manifest = JSON.parse(readFileSync(join(dir, CONSOLE_MANIFEST), 'utf8')) as ConsoleManifest;
    loaded = { dir, manifest, bodies: new Map() };
    const page = manifest.files['index.html'];
    if (options.tiles && page) {
      const tiled = withTiles(readFileSync(join(dir, 'index.html'), 'utf8'), page.etag, options.tiles);
      manifest.files['index.html'] = { ...page, etag: tiled.etag, encodings: ['br', 'gzip'] };
      for (const [name, body] of Object.entries(tiled.bodies)) loaded.bodies.set(name, body);
    }
    return loaded;
  };
  const read = (l: Loaded, file: string): Uint8Array<ArrayBuffer> => {
    let body = l.bodies.get(file);
    if (!body) {
      body = new Uint8Array(readFileSync(join(l.dir, file)));
      l.bodies.set(file, body);
    }
    return body;
  };

  // biome-ignore lint/suspicious/noExplicitAny: a context of any env
  const serveFile = (c: any, name: string) => {
    const l = load();
    if (!l) throw new ApiProblem(404, 'Not Found', 'The console is not built on this instance.');
    const entry = FILE_PATTERN.test(name) ? l.manifest.files[name] : undefined;
    if (!entry) throw new ApiProblem(404, 'Not Found', `No console file ${name}`);
    c.header('Content-Security-Policy', csp);
    c.header('Cache-Control', entry.immutable ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache');
    c.header('ETag', entry.etag);
    c.header('Vary', 'Accept-Encoding');
    c.header('X-Content-Type-Options', 'nosniff');
    const ifNoneMatch = c.req.header('if-none-match');
    if (ifNoneMatch && etagMatches(ifNoneMatch, entry.etag)) return c.body(null, 304);
    const encoding = pickEncoding(c.req.header('accept-encoding'), entry.encodings);
    const type = { 'Content-Type': entry.type };
    if (encoding) {
      c.header('Content-Encoding', encoding);
      return c.body(read(l, `${name}.${encoding === 'br' ? 'br' : 'gz'}`), 200, type);
    }
    return c.body(read(l, name), 200, type);
  };

  app.get('/', (c) => c.redirect(`${CONSOLE_PATH}/`, 302));
  app.get(CONSOLE_PATH, (c) => c.redirect(`${CONSOLE_PATH}/`, 301));
  app.get(`${CONSOLE_PATH}/`, (c) => serveFile(c, 'index.html'));
  app.get(`${CONSOLE_PATH}/assets/:file`, (c) => serveFile(c, c.req.param('file')));
}
