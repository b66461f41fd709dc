/**
 * The API function's entry as deployed (package.json "main"): turns on Node's compile cache with the
 * cache Cloud Build made for this very folder (`npm run gcp-build`, build-cache.mjs), then imports the
 * bundle (index.mjs), which registers the function with the framework.
 *
 * Why: compiling the 1.7 MB bundle is a large share of the first answer's CPU (issue 14, bench:cold-start);
 * with V8's code cache from the build the bundle and the chunks its first request loads are not compiled
 * again. Node keys its cache folder by Node version, architecture, V8's cache tag and user id, and each
 * file by its path and source hash: the build ran in the same folder (/workspace) on the same runtime
 * image, so it matches; a cache of another Node or V8 (a base image updated since the build) is not
 * used at all, and a changed file is compiled afresh. The build may run as another user than the
 * instance: a cache of the same Node under another user id is copied to a writable temporary folder
 * under this one's. Nothing here may stop the function from starting: any failure means no cache.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedDataVersionTag } from 'node:v8';

const SHIPPED = fileURLToPath(new URL('./compile-cache', import.meta.url));

function enableShippedCache() {
  if (process.env.NODE_DISABLE_COMPILE_CACHE || module.getCompileCacheDir() || !existsSync(SHIPPED)) return;
  // Node's own folder name for this process: version, architecture, V8's cache tag (8 hex digits), user id.
  const tag = `${process.version}-${process.arch}-${cachedDataVersionTag().toString(16).padStart(8, '0')}`;
  const mine = `${tag}-${process.getuid?.() ?? 0}`;
  if (existsSync(join(SHIPPED, mine))) {
    module.enableCompileCache(SHIPPED);
    return;
  }
  // Built by another user: the same cache, under this user's id, in a folder it can write.
  const built = readdirSync(SHIPPED).find((name) => name.startsWith(`${tag}-`));
  if (built === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'compile-cache-'));
  cpSync(join(SHIPPED, built), join(dir, mine), { recursive: true });
  module.enableCompileCache(dir);
}

try {
  enableShippedCache();
} catch {
  // no cache: the bundle is compiled as it would be without one
}
await import('./index.mjs');
