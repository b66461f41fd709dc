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
import { cachedDataVersionTag, setFlagsFromString } from 'node:v8';

/**
 * Puts V8's heap-size flags (Terraform's node_options: `--max-old-space-size`, `--max-semi-space-size`) back to
 * their defaults once the heap has been sized by them, so that V8's code caches are accepted again.
 *
 * Why: V8 checks every code cache against a hash of its non-default flags, heap sizes included. Started with
 * them, the process rejected the code cache Node ships for its own modules (undici, zlib, the ESM loader, ...)
 * and compiled each from source: in a profile of the API's start, compileForInternalLoader was a quarter of the
 * import. V8 reads these two flags once, when it configures the isolate's heap (Heap::ConfigureHeap); set back
 * afterwards they no longer change the heap (its limit and semi-space sizes stay as configured: test/terraform/
 * bundles.test.ts measures both), only the hash, which is then Node's default one.
 * What it gives up: a Worker started later sizes its heap from the defaults (the API starts none).
 */
export function heapFlagsOutOfCodeCacheHash(): void {
  try {
    setFlagsFromString('--max-old-space-size=0 --max-semi-space-size=0');
  } catch {
    // the flags stay: code caches are checked against them, as before
  }
}

/**
 * Enables the compile cache in `shipped` (a folder of Node's per-tag cache folders) when it holds one for this
 * Node, V8 and flags, or is empty (gcp-build: this process makes it). Returns the folder the cache is read from, or undefined (none usable, caching already on,
 * or NODE_DISABLE_COMPILE_CACHE set).
 */
export function enableShippedCompileCache(shipped: string): string | undefined {
  try {
    if (process.env.NODE_DISABLE_COMPILE_CACHE || module.getCompileCacheDir() || !existsSync(shipped)) return;
    // Node's own folder name for this process: version, architecture, V8's cache tag (8 hex digits), user id.
    const tag = `${process.version}-${process.arch}-${cachedDataVersionTag().toString(16).padStart(8, '0')}`;
    const mine = `${tag}-${process.getuid?.() ?? 0}`;
    // An empty folder is gcp-build's start (build-cache.mjs makes it): the cache is made there, by this process.
    if (existsSync(join(shipped, mine)) || readdirSync(shipped).length === 0) {
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
