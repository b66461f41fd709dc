/**
 * Types for the one rate-limiter-flexible module the unauthenticated limit imports instead of the
 * package's index, which requires every store it supports (Redis, Mongo, PostgreSQL, cluster, …: about
 * 170 KB bundled, run at the API's import). The types are the package's own.
 */
declare module 'rate-limiter-flexible/lib/RateLimiterMemory.js' {
  import type { RateLimiterMemory } from 'rate-limiter-flexible';

  const RateLimiterMemoryClass: typeof RateLimiterMemory;
  export default RateLimiterMemoryClass;
}
