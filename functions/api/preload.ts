/**
 * The API's preload, run before the functions framework (Terraform's api `node_options`: `--import ./preload.mjs`,
 * in the function's folder):
 * - Node's compile cache is turned on with the cache gcp-build shipped (./compile-cache, shared/compile-cache.ts),
 *   before the framework loads: V8's code cache then covers the framework's require graph too, not only our bundle.
 * - from here on `node:domain` is this module, the request scopes of shared/domain-stand-in.ts, so Node's domain
 *   module is never loaded (that module says why).
 * `npm run build` bundles it beside the function as preload.mjs.
 */
import { fileURLToPath } from 'node:url';
import { enableShippedCompileCache } from '../../shared/compile-cache.ts';
import { resolveDomainTo } from '../../shared/domain-stand-in.ts';

export * from '../../shared/domain-stand-in.ts';
export { default } from '../../shared/domain-stand-in.ts';

enableShippedCompileCache(fileURLToPath(new URL('./compile-cache', import.meta.url)));
resolveDomainTo(import.meta.url);
