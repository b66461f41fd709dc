/**
 * Errors as RFC 9457 problem details (`application/problem+json`): one error type, one handler,
 * never a stack trace in a response.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Where problem types are documented: `type` is this plus `#<slug>` (a relative URI reference, RFC 9457 §3.1.1). */
export const PROBLEM_TYPES_PATH = '/docs/problems';

/** Every problem type the API answers with: its slug, title and what to do about it. */
export const PROBLEM_TYPES = {
  'invalid-request': [
    'Invalid request',
    'A parameter or the body is invalid: `errors` names each one and why.',
  ],
  unauthorized: ['Unauthorized', 'No API key or bearer token, or not a live one.'],
  'invalid-token': [
    'Invalid token',
    'The bearer token is expired, for another audience or issuer, signed by an unknown key or algorithm, or malformed: get a new one.',
  ],
  forbidden: ['Forbidden', 'The key or token is valid but its role does not allow this.'],
  'token-not-allowed': [
    'Token not allowed',
    'The token is valid but names a tenant or subject this API does not serve to its issuer.',
  ],
  'not-found': ['Not found', 'No such resource in your tenant.'],
  'method-not-allowed': ['Method not allowed', 'The path exists; `Allow` lists its methods.'],
  conflict: ['Conflict', 'The transition is not possible from the current state.'],
  'content-too-large': ['Content too large', 'The request body is over the limit.'],
  'unsupported-media-type': ['Unsupported media type', 'Send the body as one of the declared content types.'],
  'rate-limited': ['Too many requests', 'Over the rate limit: retry after `Retry-After` seconds.'],
  unavailable: ['Service unavailable', 'A tier the answer needs is down: retry after `Retry-After` seconds.'],
  'token-keys-unavailable': [
    'Token keys unavailable',
    "The token issuer's keys cannot be fetched now: retry after `Retry-After` seconds.",
  ],
  'internal-error': ['Internal error', 'Unexpected: the request id (`X-Request-Id`) finds it in the logs.'],
} as const satisfies Record<string, readonly [string, string]>;

export type ProblemType = keyof typeof PROBLEM_TYPES;

const DEFAULT_TYPES: Partial<Record<number, ProblemType>> = {
  400: 'invalid-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  413: 'content-too-large',
  415: 'unsupported-media-type',
  429: 'rate-limited',
  500: 'internal-error',
  503: 'unavailable',
};

/** The `type` URI of a problem slug. */
export const problemTypeUri = (slug: ProblemType): string => `${PROBLEM_TYPES_PATH}#${slug}`;

/** The catalogue as Markdown, for the API reference (the OpenAPI description). */
export function problemTypesMarkdown(): string {
  const rows = Object.entries(PROBLEM_TYPES).map(
    ([slug, [title, text]]) => `| \`${problemTypeUri(slug as ProblemType)}\` | ${title} | ${text} |`,
  );
  return [
    '## Problem types',
    `Every error is a problem (RFC 9457) whose \`type\` is one of these (also at [${PROBLEM_TYPES_PATH}](${PROBLEM_TYPES_PATH})):`,
    '',
    '| type | title | meaning |',
    '|---|---|---|',
    ...rows,
  ].join('\n');
}

/** The catalogue as a small HTML page, each type at its anchor: what a problem's `type` points at. */
export function problemTypesHtml(): string {
  const esc = (t: string) =>
    t
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/`([^`]*)`/g, '<code>$1</code>');
  const items = Object.entries(PROBLEM_TYPES)
    .map(
      ([slug, [title, text]]) =>
        `<dt id="${slug}"><a href="#${slug}">${slug}</a>: ${esc(title)}</dt><dd>${esc(text)}</dd>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Problem types</title></head><body><h1>Problem types</h1><p>Errors are <code>application/problem+json</code> (RFC 9457); their <code>type</code> is <code>${PROBLEM_TYPES_PATH}#&lt;slug&gt;</code>.</p><dl>\n${items}\n</dl></body></html>`;
}

/** Retry-After of a 503: about how long a restarted database or cache takes to come back. */
export const RETRY_AFTER_SECONDS = 30;

export class ApiProblem extends Error {
  override name = 'ApiProblem';
  readonly status: ContentfulStatusCode;
  readonly title: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;
  readonly type: ProblemType | undefined;

  constructor(
    status: ContentfulStatusCode,
    title: string,
    detail?: string,
    options: {
      extra?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
      /** The problem type; by default the status's (PROBLEM_TYPES). */
      type?: ProblemType;
    } = {},
  ) {
    super(detail ?? title, { cause: options.cause });
    this.status = status;
    this.title = title;
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
    this.type = options.type;
  }
}

/** The problem document (RFC 9457) of `problem`, for the request path `instance`. */
function problemBody(problem: ApiProblem, instance: string): string {
  const slug = problem.type ?? DEFAULT_TYPES[problem.status];
  return JSON.stringify({
    type: slug ? problemTypeUri(slug) : 'about:blank',
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    instance,
    ...problem.extra,
  });
}

/**
 * A problem as a plain Response, for the host when the app itself could not answer (it failed to
 * start, or threw outside Hono's own error handling).
 */
export function problemAsResponse(problem: ApiProblem, instance: string): Response {
  return new Response(problemBody(problem, instance), {
    status: problem.status,
    headers: { ...problem.headers, 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' },
  });
}

export function problemResponse(c: Context, problem: ApiProblem): Response {
  for (const [k, v] of Object.entries(problem.headers)) c.header(k, v);
  // A problem is never cached, and never carries the ETag or encoding of a value it replaced.
  c.header('ETag', undefined);
  c.header('Content-Encoding', undefined);
  c.header('Cache-Control', 'no-store');
  const body = problemBody(problem, c.req.path);
  // Its length, so the compressor on the way out (headers.ts) leaves a small problem alone: without
  // one it gzipped every 404 through a CompressionStream (a zlib stream set up per answer), the
  // costliest thing a miss of a node without data did (bench:api --miss, --profile).
  return c.body(body, problem.status, {
    'Content-Type': 'application/problem+json',
    'Content-Length': String(Buffer.byteLength(body)),
  });
}
