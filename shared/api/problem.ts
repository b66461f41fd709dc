/**
 * Errors as RFC 9457 problem details (`application/problem+json`): one error type, one handler,
 * never a stack trace in a response.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Retry-After of a 503: about how long a restarted database or cache takes to come back. */
export const RETRY_AFTER_SECONDS = 30;

export class ApiProblem extends Error {
  override name = 'ApiProblem';
  readonly status: ContentfulStatusCode;
  readonly title: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    title: string,
    detail?: string,
    options: { extra?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail ?? title, { cause: options.cause });
    this.status = status;
    this.title = title;
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }
}

export function problemResponse(c: Context, problem: ApiProblem): Response {
  const body = {
    type: 'about:blank',
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    instance: c.req.path,
    ...problem.extra,
  };
  for (const [k, v] of Object.entries(problem.headers)) c.header(k, v);
  // A problem is never cached, and never carries the ETag or encoding of a value it replaced.
  c.header('ETag', undefined);
  c.header('Content-Encoding', undefined);
  c.header('Cache-Control', 'no-store');
  return c.body(JSON.stringify(body), problem.status, { 'Content-Type': 'application/problem+json' });
}
