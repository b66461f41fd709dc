/**
 * The request scope that stands in for a Node.js `domain` in the functions framework (shared/request-domains.ts
 * says why). No import of `node:domain` here: the API's preload (shared/domain-stand-in.ts) serves this module's
 * scope as `node:domain` itself, so the real domain module is never loaded.
 */
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
