/**
 * The Hono environment of every router and middleware of the API: what middleware puts on the context
 * for the routes and the request log. Its own module so that everything can import it without
 * importing the app's dependencies (context.ts).
 */
import type { Principal } from './auth/keys.ts';

export interface ApiEnv {
  Variables: {
    requestId: string;
    /** The caller's tenant: every query is scoped to it. */
    tenantId: string;
    principal: Principal;
    /** Which tier answered, for the request log. */
    tier: string;
    /** Response headers gathered by middleware, as a plain record (see headers.ts). */
    out: Record<string, string>;
    /** The response was sent through the fast path with every header already on it. */
    sealed: boolean;
  };
}
