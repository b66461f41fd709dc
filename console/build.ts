/**
 * Builds the operator console (console/src, Preact + uPlot) with esbuild into static files the API
 * serves under /console (shared/api/console.ts): fingerprinted JS and CSS (`main-<hash>.js`), a
 * gzip and a brotli twin of each, index.html (no inline script or style: the CSP forbids them) and
 * manifest.json. Everything the page needs is bundled: nothing is fetched from a CDN at run time.
 *
 *   node console/build.ts [OUT_DIR]     default dist/console
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { ConsoleManifest } from '../shared/api/console.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const DEFAULT_CONSOLE_DIR = join(HERE, '..', 'dist', 'console');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface ConsoleBuild {
  dir: string;
  /** Served files (without their compressed twins), with raw, gzip and brotli sizes. */
  files: { name: string; bytes: number; gzip: number; brotli: number }[];
}

export interface BuildConsoleOptions {
  outDir?: string;
  /** Minify (default true); the tests and `npm start` use the same minified build. */
  minify?: boolean;
  /** Extra entry points (the chart benchmark's page), bundled beside main. */
  extraEntries?: Record<string, string>;
}

const typeOf = (name: string) => TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';

export async function buildConsole(options: BuildConsoleOptions = {}): Promise<ConsoleBuild> {
  const dir = options.outDir ?? DEFAULT_CONSOLE_DIR;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const result = await build({
    entryPoints: { main: join(HERE, 'src', 'main.tsx'), ...options.extraEntries },
    outdir: dir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    minify: options.minify ?? true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(HERE, 'tsconfig.json'),
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const mainJs = outputs.find((n) => n.startsWith('main-') && n.endsWith('.js'));
  const mainCss = outputs.find((n) => n.startsWith('main-') && n.endsWith('.css'));
  if (!mainJs) throw new Error('the console build produced no main-*.js');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<link rel="icon" href="data:,">
<title>Water network console</title>
${mainCss ? `<link rel="stylesheet" href="assets/${mainCss}">\n` : ''}<link rel="modulepreload" href="assets/${mainJs}">
<script type="module" src="assets/${mainJs}"></script>
</head>
<body>
<div id="app"><p class="boot">Loading the console…</p></div>
<noscript>The console needs JavaScript.</noscript>
</body>
</html>
`;
  writeFileSync(join(dir, 'index.html'), html);

  const manifest: ConsoleManifest = { builtAt: new Date().toISOString(), files: {} };
  const files: ConsoleBuild['files'] = [];
  for (const name of [...outputs.filter((n) => !n.endsWith('.map')), 'index.html']) {
    const body = readFileSync(join(dir, name));
    const gz = gzipSync(body, { level: 9 });
    const br = brotliCompressSync(body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
    });
    writeFileSync(join(dir, `${name}.gz`), gz);
    writeFileSync(join(dir, `${name}.br`), br);
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
    manifest.files[name] = {
      type: typeOf(name),
      etag: `"${hash}"`,
      encodings: ['br', 'gzip'],
      immutable: name !== 'index.html',
    };
    files.push({ name, bytes: statSync(join(dir, name)).size, gzip: gz.length, brotli: br.length });
  }
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, files };
}

if (import.meta.main) {
  const built = await buildConsole(process.argv[2] ? { outDir: process.argv[2] } : {});
  for (const f of built.files) {
    console.log(
      `${relative(process.cwd(), join(built.dir, f.name))}  ${(f.bytes / 1024).toFixed(1)} KiB, gzip ${(f.gzip / 1024).toFixed(1)} KiB, brotli ${(f.brotli / 1024).toFixed(1)} KiB`,
    );
  }
}
