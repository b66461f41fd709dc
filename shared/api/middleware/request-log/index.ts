/**
 * Request id, the request's span and the request log line (event api.request). It is the outermost
 * middleware: it starts the `out` header record every other middleware and route adds to, and applies
 * those headers (with the security headers and compression) to any response not sent through the fast
 * path.
 *
 * The line is Cloud Logging's request log: `httpRequest` (method, URL, status, latency, user agent,
 * client address, response size) and the trace fields of the caller's `traceparent` /
 * `X-Cloud-Trace-Context` (or of the request's own span when tracing is on), so the request shows in
 * Logs Explorer's request view and beside its trace.
 *
 * Which requests get a line (`lines`): every failed one (status outside 200–399), every slow one
 * (`slowMs`), and one in `sampleEvery` of the rest — that line has `sampled: true`, and so has every
 * line of a request the count chose, so the sampled lines are an unbiased sample (the tier-share
 * metric counts only those). Cloud Run's own request log still has every request (method, URL,
 * status, latency, size, user agent, client address, trace); what a request outside the sample loses
 * is its line's request id, route, tier and key id. With `sampleEvery` 1 every request has a line.
 * A line cost about 7 µs of CPU of a cached read's ~54 (bench:request-log, bench:api's profile).
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { createLogger, type Logger } from '../../../log.ts';
import { incomingTraceParent } from '../../../telemetry/trace-context.ts';
import {
  currentTraceFields,
  inCallersScope,
  inSpan,
  spanRecorded,
  tracingEnabled,
} from '../../../telemetry/tracing.ts';
import type { ApiEnv } from '../../env.ts';
import {
  afterNext,
  asMiddleware,
  type FrontMiddleware,
  type FrontNext,
  type FrontStep,
} from '../../front.ts';
import { finishHeaders, requestHeader } from '../../headers.ts';
import type { RequestStats } from '../../request-stats.ts';
import { clientAddress } from '../unauth-limit/index.ts';

export interface RequestLogOptions {
  /** Where request lines go when there is no `sink`. */
  logger: Logger;
  /** Where request lines go when set (a batched stdout writer), in the logger's shape with `function: api`. */
  sink?: ((line: string) => void) | undefined;
  /** Latency and answering tier of each /api request, for /api/v1/status (the performance monitor). */
  stats?: RequestStats | undefined;
  /** Proxies appending to X-Forwarded-For in front of the app (Cloud Run's front end: 1). */
  trustedHops?: number;
  /** Which successful requests get a line: one in `sampleEvery` (default 1: all; 0: none), and those slower than `slowMs`. */
  lines?: RequestLines | undefined;
}

/** Which requests with a status in 200–399 get a request log line (every other status gets one). */
export interface RequestLines {
  /** One in this many requests (counted over all requests); 1 logs every request, 0 none but the slow and failed. */
  sampleEvery: number;
  /** A request that took at least this long (ms) gets a line. */
  slowMs: number;
}

/**
 * Request log middleware: takes the caller's `X-Request-Id` (at most 100 characters) or makes one,
 * answers with it, runs the request in a span (child of the caller's trace context) and logs method,
 * route, status, latency, the tier that answered, the key id and Cloud Logging's `httpRequest`, for
 * the requests `options.lines` chooses (module comment).
 *
 * @param options.logger - the logger request lines go through when there is no sink
 * @param options.sink - where request lines are written, when set
 * @returns the middleware handler, also a front step (shared/api/front.ts): it makes no promise of its
 *   own when the rest of the request answered without one
 *
 * @example
 * ```ts
 * const app = new Hono<ApiEnv>();
 * app.use('*', requestLog({ logger, sink: (line) => process.stdout.write(`${line}\n`) }));
 * app.get('/', (c) => c.json({ requestId: c.get('requestId') }));
 * ```
 */
export const requestLog = ({
  logger,
  sink,
  stats,
  trustedHops = 1,
  lines: chosen = { sampleEvery: 1, slowMs: Number.POSITIVE_INFINITY },
}: RequestLogOptions): FrontMiddleware<ApiEnv> => {
  const lines = sink ? createLogger({ level: 'info', sink, base: { function: 'api' } }) : logger;
  const { sampleEvery, slowMs } = chosen;
  /** Requests counted towards the sample. */
  let counted = 0;
  /** Whether this request is one of the sample (one in `sampleEvery`). */
  const inSample = (): boolean => {
    if (sampleEvery === 1) return true;
    if (sampleEvery < 1) return false;
    counted = (counted + 1) % sampleEvery;
    return counted === 0;
  };

  /** The request: the header record, the handlers, the headers on the way out, the line. */
  function handle(c: Context<ApiEnv>, next: FrontNext, t0: number): void | Promise<void> {
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    const bytesBefore = outgoing?.socket?.bytesWritten;
    const given = requestHeader(c, 'x-request-id')?.slice(0, 100);
    const requestId = given || randomUUID();
    c.set('requestId', requestId);
    const out: Record<string, string> = { 'X-Request-Id': requestId };
    c.set('out', out);
    // Without a promise of its own when the handlers answered without one and the response was sealed.
    return afterNext(next(), () =>
      c.get('sealed')
        ? logLine(c, requestId, t0, outgoing, bytesBefore)
        : finishHeaders(c, out).then(() => logLine(c, requestId, t0, outgoing, bytesBefore)),
    );
  }

  /** The request's line, if it gets one (module comment). */
  function logLine(
    c: Context<ApiEnv>,
    requestId: string,
    t0: number,
    outgoing: ServerResponse | undefined,
    bytesBefore: number | undefined,
  ): void {
    const latencyMs = Math.round((performance.now() - t0) * 100) / 100;
    const tier = c.get('tier') ?? 'none';
    const status = c.res.status;
    if (stats && c.req.path.startsWith('/api/')) stats.record(latencyMs, tier);
    const sampled = inSample();
    if (!sampled && status >= 200 && status < 400 && latencyMs < slowMs) return;
    const fields = {
      event: 'api.request',
      sampled,
      requestId,
      method: c.req.method,
      route: routeOf(c),
      status,
      latencyMs,
      tier,
      keyId: c.get('principal')?.keyId,
      httpRequest: {
        requestMethod: c.req.method,
        requestUrl: c.req.url,
        status,
        latency: `${(latencyMs / 1000).toFixed(5)}s`,
        userAgent: requestHeader(c, 'user-agent'),
        remoteIp: clientAddress(requestHeader(c, 'x-forwarded-for'), trustedHops),
        responseSize: undefined as string | undefined,
      },
    };
    // The response's size (headers and body, as Cloud Logging counts it) is known once the host has
    // written it: what the connection sent meanwhile (one response at a time per HTTP/1.1 connection).
    // The line then goes out, with this request's trace fields; an aborted response has no size.
    if (outgoing?.socket && bytesBefore !== undefined && !outgoing.writableEnded) {
      const trace = currentTraceFields();
      const socket = outgoing.socket;
      outgoing.once('close', () => {
        if (outgoing.writableFinished) {
          fields.httpRequest.responseSize = String(socket.bytesWritten - bytesBefore);
        }
        lines.info('request', trace ? { ...fields, ...trace } : fields);
      });
    } else {
      lines.info('request', fields);
    }
  }

  const step: FrontStep<ApiEnv> = function requestLog(c, next) {
    const t0 = performance.now();
    const parent = incomingTraceParent(
      requestHeader(c, 'traceparent'),
      requestHeader(c, 'x-cloud-trace-context'),
    );
    // No caller's context and no tracing: nothing to scope (the common local case costs nothing), and
    // no promise of this function's own around the request's (in the functions framework's process
    // every promise pays an async-hook init and a destroy hook).
    if (!parent && !tracingEnabled()) return handle(c, next, t0);
    // A caller's context with no span of ours to record (tracing off, or the caller's trace not
    // sampled — most of what Cloud Run's front end forwards): its scope, without a promise of ours.
    if (parent && !spanRecorded(parent)) return inCallersScope(parent, () => handle(c, next, t0));
    return inSpan(c.req.method, { parent, kind: 'server' }, async (span) => {
      await handle(c, next, t0);
      const status = c.res.status;
      const route = routeOf(c);
      span.setName(route === undefined ? c.req.method : `${c.req.method} ${route}`);
      span.setAttributes({
        'http.request.method': c.req.method,
        ...(route === undefined ? {} : { 'http.route': route }),
        'http.response.status_code': status,
      });
    });
  };
  return asMiddleware(step);
};

/** The matched route's path, or undefined when no route matched (a 404 answered by the app's not-found handler). */
function routeOf(c: Context<ApiEnv>): string | undefined {
  return c.req.matchedRoutes.length > 0 ? c.req.routePath : undefined;
}
