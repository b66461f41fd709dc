/**
 * The gate in front of /api: API key, rate limit, body limit. One middleware on purpose: every
 * middleware hop costs on the hot path (a cached read is a few microseconds), so the three checks
 * share one.
 */
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { authenticateRequest, type KeyVerifier } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/keys.ts';
import type { TokenVerifier } from '../../auth/tokens.ts';
import type { ApiEnv } from '../../env.ts';
import { asMiddleware, type FrontMiddleware, type FrontNext, type FrontStep, honoStep } from '../../front.ts';
import { ApiProblem, problemResponse } from '../../problem.ts';
import { countRequest, type RateLimiter } from '../../rate-limit.ts';

export interface ApiGateOptions {
  /** Verifies the request's API key (from what this instance verified before, else from storage). */
  verifier: KeyVerifier;
  /** Verifies OpenID Connect bearer tokens (JWTs), when issuers are configured. */
  tokens?: TokenVerifier | undefined;
  /** Counts the request against its key's limit. */
  limiter: RateLimiter;
  /** Largest request body accepted (413 above it). */
  bodyLimitBytes: number;
  /** Larger limits for the paths that take batches (exact paths, e.g. POST /api/v1/readings). */
  routeBodyLimits?: Record<string, number>;
}

/**
 * API gate middleware: authenticates the request (401 without a live key or valid token; the principal and its
 * tenant go on the context), counts it against the key's rate limit (RateLimit-* headers; 429 over
 * it), and bounds the body of requests that may carry one (413).
 *
 * @param options.verifier - the key verifier
 * @param options.limiter - the per-key rate limiter
 * @param options.bodyLimitBytes - the largest body accepted
 * @returns the middleware handler, also a front step (shared/api/front.ts): it makes no promise of its
 *   own when the rest of the request answered without one
 *
 * @example
 * ```ts
 * const app = newRouter();
 * app.use('/api/*', apiGate({ verifier, limiter: new MemoryRateLimiter(), bodyLimitBytes: 16_384 }));
 * app.get('/api/v1/whoami', (c) => c.json({ tenantId: c.get('tenantId') }));
 * ```
 */
export const apiGate = ({
  verifier,
  tokens,
  limiter,
  bodyLimitBytes,
  routeBodyLimits = {},
}: ApiGateOptions): FrontMiddleware<ApiEnv> => {
  const limiterOf = (maxSize: number) =>
    honoStep<ApiEnv>(
      bodyLimit({
        maxSize,
        onError: (c) =>
          problemResponse(
            c,
            new ApiProblem(413, 'Content Too Large', `Request bodies may be at most ${maxSize} bytes.`),
          ),
      }),
    );
  const limitBody = limiterOf(bodyLimitBytes);
  const routeLimits = new Map(Object.entries(routeBodyLimits).map(([path, max]) => [path, limiterOf(max)]));
  // Only requests that may carry a body: touching the body of a GET costs a full Request object.
  const pass = (c: Context<ApiEnv>, next: FrontNext) =>
    c.req.method === 'GET' || c.req.method === 'HEAD'
      ? next()
      : (routeLimits.get(c.req.path) ?? limitBody)(c, next);
  const counted = (c: Context<ApiEnv>, next: FrontNext, principal: Principal) => {
    // Synchronous while the key holds leased tokens.
    const counting = countRequest(c, limiter, principal);
    return counting ? counting.then(() => pass(c, next)) : pass(c, next);
  };
  // Not an async function: a cached key and a leased token make no promise of the gate's own (in the
  // functions framework's process every promise pays an async-hook init and a destroy hook).
  const step: FrontStep<ApiEnv> = function apiGate(c, next) {
    const principal = authenticateRequest(c, verifier, tokens);
    return principal instanceof Promise
      ? principal.then((p) => counted(c, next, p))
      : counted(c, next, principal);
  };
  return asMiddleware(step);
};
