/**
 * Moved to `shared/wiring/cycle.ts`. Kept only for `scripts/lib/local-stack.ts`, which another branch
 * is moving right now: the integrator points its import at `wiring/cycle.ts` and deletes this file.
 */
export * from './wiring/cycle.ts';
