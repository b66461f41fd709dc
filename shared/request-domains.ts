/**
 * The Functions Framework creates a Node.js `domain` for every request (function_wrappers.js:
 * `domain.create()`, then `d.run(() => process.nextTick(() => execute(req, res)))`). Constructing
 * the first Domain turns on the domain module's async hook for the rest of the process: from then
 * on every promise, wherever it is made, gets an init hook and a destroy hook (a weak reference the
 * garbage collector must process), and the promises made inside a request's domain also enter and
 * exit it around each continuation. In bench:cycle's profile of the aggregator, run outside the
 * request's domain, that bookkeeping was still about 7 % of the busy time (`registerDestroyHook`, `promiseInitHookWithDestroyTracking`,
 * `emitHook`), and more in the collector.
 *
 * `withoutRequestDomains()` makes `domain.create()` return a request scope that does what the
 * framework asks of it and no more: `run(fn)` runs `fn`, and the `process.nextTick` callbacks `fn`
 * schedules run with the scope as `process.domain`, whose `bind(cb)` (the framework's completion
 * callback) returns `cb`. No Domain is constructed, so the async hook stays off. What is given up:
 * an exception thrown from a bare callback of a request's work is no longer turned into that
 * request's crash response; it reaches the process's uncaught-exception handling (the framework
 * logs it and exits). Errors of the
 * function's promise still become a 500 (Pub/Sub redelivers) and returning still acks.
 *
 * For a process that serves only such functions (the aggregator's and the API's instances). Idempotent.
 *
 * This still loads Node's domain module (the framework requires it before our code runs), and loading it
 * alone makes every EventEmitter domain-aware (a wrapper around every `emit`, a `domain` property defined by
 * every emitter's init). The deployed API goes further:
 * its preload (functions/api/preload.ts, NODE_OPTIONS `--import`) resolves `node:domain` to
 * shared/domain-stand-in.ts, so the domain module is never loaded at all.
 */
import domain from 'node:domain';
import { RequestScope } from './request-scope.ts';

export { RequestScope };

const original = domain.create;

/** From now on, `domain.create()` (the framework's per-request call) returns a RequestScope. */
export function withoutRequestDomains(): void {
  (domain as { create: () => unknown }).create = () => new RequestScope();
}

/** Undoes withoutRequestDomains (tests). */
export function restoreRequestDomains(): void {
  (domain as { create: typeof original }).create = original;
}
