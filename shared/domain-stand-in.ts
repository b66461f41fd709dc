/**
 * What `node:domain` is in the deployed API: a module of request scopes (shared/request-scope.ts), served in
 * place of Node's domain module by a synchronous resolve hook (`module.registerHooks`) that the API's preload
 * registers before the functions framework loads (functions/api/preload.ts, NODE_OPTIONS `--import`).
 *
 * Why: the framework `require`s `domain` at start-up, and loading Node's domain module, even with no Domain
 * ever constructed (shared/request-domains.ts), makes every EventEmitter of the process domain-aware: each
 * emitter's init defines a `domain` property, each `emit` goes through a rest-arguments wrapper that reads
 * it. On a cached read (sockets, parser, request and response emit several events each) that was 2.5–3 % of
 * the busy time in bench:api's profiles. With this module in its place the domain module is never loaded.
 *
 * What the framework uses of it: `create()` (a RequestScope: `on('error')`, `run`, and `bind` through
 * `process.domain`). What this gives up is what withoutRequestDomains already gave up (an exception thrown from
 * a bare callback of a request's work is no longer that request's 500). Any other user of `domain` in the
 * process would get these scopes too: `Domain` is the RequestScope class, `active` is never set.
 */
import module from 'node:module';
import { RequestScope } from './request-scope.ts';

export { RequestScope as Domain };
export const create = (): RequestScope => new RequestScope();
export const createDomain = create;
export const active = null;
export default { create, createDomain, Domain: RequestScope, active };

/** The specifiers of Node's domain module. */
const DOMAIN = new Set(['domain', 'node:domain']);

/**
 * From now on `require('domain')` and `import 'node:domain'` anywhere in this thread resolve to `url` (the
 * preload, which re-exports this module); everything else resolves as before. Returns the hooks' handle.
 */
export function resolveDomainTo(url: string): { deregister(): void } {
  return module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (DOMAIN.has(specifier)) return { url, shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
}
