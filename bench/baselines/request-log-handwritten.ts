/**
 * BASELINE for bench:request-log — the request log middleware as it was before pino and tracing
 * (commit 10cf076): the line hand-written as a string, no httpRequest, no trace fields. Not used by the app.
 *
 * Request id and the one log line per request (event api.request). It is the outermost middleware: it
 * starts the `out` header record every other middleware and route adds to, and applies those headers
 * (with the security headers and compression) to any response not sent through the fast path.
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from '../../shared/api/env.ts';
import { finishHeaders, requestHeader } from '../../shared/api/headers.ts';
import type { RequestStats } from '../../shared/api/request-stats.ts';
import type { Logger } from '../../shared/log.ts';

export interface RequestLogOptions {
  /** Where request lines go when there is no `sink`. */
  logger: Logger;
  /**
   * Where request lines go when set: written straight to it in the logger's shape (severity, message,
   * time, function, fields), without the generic logger's merging — the hot path.
   */
  sink?: ((line: string) => void) | undefined;
  /** Latency and answering tier of each /api request, for /api/v1/status (the performance monitor). */
  stats?: RequestStats | undefined;
}

/** The current time in ISO 8601, formatted at most once per millisecond (many requests share one). */
let isoMs = 0;
let isoText = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/**
 * Request log middleware: takes the caller's `X-Request-Id` (at most 100 characters) or makes one,
 * answers with it, and logs method, route, status, latency, the tier that answered and the key id.
 *
 * @param options.logger - the logger request lines go through when there is no sink
 * @param options.sink - where request lines are written directly, when set
 * @returns the middleware handler
 *
 * @example
 * ```ts
 * const app = new Hono<ApiEnv>();
 * app.use('*', requestLog({ logger, sink: (line) => process.stdout.write(`${line}\n`) }));
 * app.get('/', (c) => c.json({ requestId: c.get('requestId') }));
 * ```
 */
export const requestLog = ({ logger, sink, stats }: RequestLogOptions): MiddlewareHandler<ApiEnv> =>
  async function requestLog(c, next) {
    const t0 = performance.now();
    const given = requestHeader(c, 'x-request-id')?.slice(0, 100);
    const generated = !given;
    const requestId = given || randomUUID();
    c.set('requestId', requestId);
    const out: Record<string, string> = { 'X-Request-Id': requestId };
    c.set('out', out);
    await next();
    if (!c.get('sealed')) await finishHeaders(c, out);
    const latencyMs = Math.round((performance.now() - t0) * 100) / 100;
    const tier = c.get('tier') ?? 'none';
    const keyId = c.get('principal')?.keyId;
    if (stats && c.req.path.startsWith('/api/')) stats.record(latencyMs, tier);
    if (sink) {
      // A generated id is a UUID and needs no escaping; a given one may hold anything.
      sink(
        `{"severity":"INFO","message":"request","time":"${isoNow()}","function":"api","event":"api.request","requestId":${generated ? `"${requestId}"` : JSON.stringify(requestId)},"method":"${c.req.method}","route":${JSON.stringify(c.req.routePath)},"status":${c.res.status},"latencyMs":${latencyMs},"tier":"${tier}"${keyId ? `,"keyId":"${keyId}"` : ''}}`,
      );
    } else {
      logger.info('request', {
        event: 'api.request',
        requestId,
        method: c.req.method,
        route: c.req.routePath,
        status: c.res.status,
        latencyMs,
        tier,
        keyId,
      });
    }
  };
