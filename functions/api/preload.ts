/**
 * The API's preload, run before the functions framework (Terraform's api `node_options`: `--import ./preload.mjs`,
 * in the function's folder): from here on `node:domain` is this module, the request scopes of
 * shared/domain-stand-in.ts, so Node's domain module is never loaded (that module says why).
 * `npm run build` bundles it beside the function as preload.mjs.
 */
import { resolveDomainTo } from '../../shared/domain-stand-in.ts';

export * from '../../shared/domain-stand-in.ts';
export { default } from '../../shared/domain-stand-in.ts';

resolveDomainTo(import.meta.url);
