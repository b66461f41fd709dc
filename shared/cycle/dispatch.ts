/**
 * Moved to `shared/cycle/dispatch/index.ts`. Kept only for `scripts/lib/local-stack.ts`, which another
 * branch is moving right now: the integrator points its import at `dispatch/index.ts` and deletes this file.
 */
export * from './dispatch/index.ts';
