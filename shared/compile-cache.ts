/**
 * Turns on Node's compile cache with a cache shipped beside the function (the API's: made by Cloud Build's
 * `npm run gcp-build`, scripts/compile-cache/build-cache.mjs), from the API's preload: before the functions
 * framework loads, so that V8's code cache covers the framework's own require graph (Express and its ~140
 * modules, body-parser, the framework) as well as our bundle and its chunks. Turned on later (start.mjs, once
 * the framework has loaded and imports the function) it covered only the bundle.
 *
 * Node keys its cache folder by Node version, architecture, V8's cache tag (flags included: the heap sizes of
 * Terraform's node_options) and user id, and each file by its path and source hash: the build ran in the same
 * folder on the same runtime image with the same NODE_OPTIONS, so it matches; a cache of another Node or V8 is
 * not used at all, and a changed file is compiled afresh. The build may run as another user than the instance:
 * a cache of the same Node under another user id is copied to a writable temporary folder under this one's.
 * Nothing here may stop the function from starting: any failure means no cache.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedDataVersionTag } from 'node:v8';

/**
 * Enables the compile cache in `shipped` (a folder of Node's per-tag cache folders) when it holds one for this
 * Node, V8 and flags. Returns the folder the cache is read from, or undefined (none usable, caching already on,
 * or NODE_DISABLE_COMPILE_CACHE set).
 */
export function enableShippedCompileCache(shipped: string): string | undefined {
  try {
    if (process.env.NODE_DISABLE_COMPILE_CACHE || module.getCompileCacheDir() || !existsSync(shipped)) return;
    // Node's own folder name for this process: version, architecture, V8's cache tag (8 hex digits), user id.
    const tag = `${process.version}-${process.arch}-${cachedDataVersionTag().toString(16).padStart(8, '0')}`;
    const mine = `${tag}-${process.getuid?.() ?? 0}`;
    if (existsSync(join(shipped, mine))) {
      module.enableCompileCache(shipped);
      return shipped;
    }
    // Built by another user: the same cache, under this user's id, in a folder it can write.
    const built = readdirSync(shipped).find((name) => name.startsWith(`${tag}-`));
    if (built === undefined) return;
    const dir = mkdtempSync(join(tmpdir(), 'compile-cache-'));
    cpSync(join(shipped, built), join(dir, mine), { recursive: true });
    module.enableCompileCache(dir);
    return dir;
  } catch {
    return undefined; // no cache: everything is compiled as it would be without one
  }
}
