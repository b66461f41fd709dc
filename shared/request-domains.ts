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
 */
import domain from 'node:domain';
import { EventEmitter } from 'node:events';

type Active = { domain?: unknown };

/** What the framework uses of a Domain: `on('error')` (inherited), `run`, and `bind` via `process.domain`. */
export class RequestScope extends EventEmitter {
  readonly members: unknown[] = [];

  run<T>(fn: (...args: unknown[]) => T, ...args: unknown[]): T {
    const nextTick = process.nextTick;
    // Only the ticks scheduled synchronously inside `fn` (the framework schedules one) see the scope.
    process.nextTick = ((cb: (...a: unknown[]) => void, ...cbArgs: unknown[]) =>
      nextTick(() => this.within(() => cb(...cbArgs)))) as typeof process.nextTick;
    try {
      return fn(...args);
    } finally {
      process.nextTick = nextTick;
    }
  }

  /** Runs `fn` with this scope as `process.domain`. */
  within<T>(fn: () => T): T {
    const active = process as Active;
    const previous = active.domain;
    active.domain = this;
    try {
      return fn();
    } finally {
      active.domain = previous;
    }
  }

  bind<F>(fn: F): F {
    return fn;
  }

  enter(): void {}
  exit(): void {}
  add(): void {}
  remove(): void {}
}

const original = domain.create;

/** From now on, `domain.create()` (the framework's per-request call) returns a RequestScope. */
export function withoutRequestDomains(): void {
  (domain as { create: () => unknown }).create = () => new RequestScope();
}

/** Undoes withoutRequestDomains (tests). */
export function restoreRequestDomains(): void {
  (domain as { create: typeof original }).create = original;
}
