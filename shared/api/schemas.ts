/** Schemas shared by the routes: identifiers, paging, problems, and the responses every route may give. */
import { z } from '@hono/zod-openapi';
import { RANGE_NAMES, type Range } from '../domain/windows.ts';

export const ID_PATTERN = /^[A-Za-z0-9._:-]+$/;

/** An id in the path (or, with `in: 'query'`, a query parameter). */
export const Id = (name: string, example: string, description?: string, where: 'path' | 'query' = 'path') =>
  z
    .string()
    .min(1)
    .max(200)
    .regex(ID_PATTERN, 'letters, digits, dot, dash, underscore or colon')
    .openapi({ param: { name, in: where }, example, ...(description ? { description } : {}) });

export const NodeIdParam = z.object({ id: Id('id', 'd01-inlet-1', 'A node id') });

export const RangeEnum = z
  .enum(RANGE_NAMES as [Range, ...Range[]])
  .openapi({ description: 'The window, ending with the latest data' });

/** Page size: decimal digits only (Number() would also take `0x10`, `1e2` or ` 5`). */
export const Limit = z
  .string()
  .regex(/^[0-9]{1,4}$/, 'a decimal integer from 1 to 1000')
  .optional()
  .transform((s) => (s === undefined ? 100 : Number(s)))
  .pipe(z.number().int().min(1).max(1000))
  .openapi({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 100,
    description: 'Page size (at most 1000)',
  });

export const Cursor = z
  .string()
  .max(500)
  .optional()
  .openapi({ description: 'Where the next page starts: the `next` cursor of the previous page' });

export const Problem = z
  .object({
    type: z.string().openapi({ example: '/docs/problems#not-found' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ parameter: z.string(), reason: z.string() }))
      .optional()
      .openapi({ description: 'For 400: each invalid parameter and why' }),
  })
  .openapi('Problem', {
    description:
      'RFC 9457 problem details. `type` is a URI reference to the problem catalogue (`/docs/problems#<slug>`), listed in the API description.',
  });

type HeaderDoc = { schema: { type: 'string' | 'integer'; enum?: string[] }; description: string };
const header = (description: string, type: 'string' | 'integer' = 'string'): HeaderDoc => ({
  schema: { type },
  description,
});

/** RateLimit-* (IETF draft): on every answer of an authenticated route. */
export const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': header('Requests per minute the key or token may make', 'integer'),
  'RateLimit-Remaining': header('Requests left in the current window', 'integer'),
  'RateLimit-Reset': header('Seconds until the window resets', 'integer'),
} as const;

const RETRY_AFTER = { 'Retry-After': header('Seconds to wait before retrying', 'integer') } as const;

/** What a cached read answers with besides its body. */
export const TIERED_HEADERS = {
  ETag: header('Validator: send it back as If-None-Match for a 304'),
  'X-Cache-Tier': {
    schema: { type: 'string', enum: ['memory', 'redis', 'postgres'] },
    description: 'The tier that answered',
  } as HeaderDoc,
  'Cache-Control': header('private, max-age=N (or no-cache when stale)'),
  'X-Stale': header('`true` when a tier below was down and an older value answered'),
  ...RATE_LIMIT_HEADERS,
} as const;

/** `Link: <…?cursor=…>; rel="next"` on a page that has a next one. */
export const LINK_HEADER = { Link: header('The next page (RFC 8288), when there is one') } as const;

/** A 200 of a cached read: its body, and the ETag / X-Cache-Tier / RateLimit-* headers (and Link on pages). */
export const tieredOk = <C>(description: string, content: C, options: { link?: boolean } = {}) => ({
  description,
  headers: { ...TIERED_HEADERS, ...(options.link ? LINK_HEADER : {}) },
  content,
});

/** A 200/201 of a write or an uncached read: its body and the RateLimit-* headers. */
export const plainOk = <C>(description: string, content: C) => ({
  description,
  headers: RATE_LIMIT_HEADERS,
  content,
});

/**
 * If-None-Match, honoured by every cached read (304 when it matches the ETag). Declared as a plain
 * parameter, not a request schema: a schema would add a validating middleware to the hot path.
 */
export const CONDITIONAL_GET = {
  parameters: [
    {
      name: 'If-None-Match',
      in: 'header' as const,
      required: false,
      description: 'The ETag of a copy you hold: 304 Not Modified (no body) when it is still current',
      schema: { type: 'string' as const },
      example: '"3f2a9c"',
    },
  ],
};

const problem = (description: string, headers?: Record<string, HeaderDoc>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: Problem } },
});

/** The error responses of an authenticated route. */
export const errorResponses = {
  400: problem('Invalid parameters: `errors` names each parameter and why', RATE_LIMIT_HEADERS),
  401: problem('No API key or token, or not a live/valid one', {
    'WWW-Authenticate': header('Bearer challenge (with `error="invalid_token"` for a bad token)'),
  }),
  403: problem('The key or token is valid, but not allowed this (its role, or its tenant)'),
  404: problem('Not found (or not in your tenant)', RATE_LIMIT_HEADERS),
  429: problem('Over the key’s rate limit: see Retry-After', { ...RETRY_AFTER, ...RATE_LIMIT_HEADERS }),
  503: problem('No data tier can answer right now: see Retry-After', RETRY_AFTER),
} as const;

export const forbiddenResponse = {
  403: problem('The role of the key or token does not allow this'),
} as const;
export const conflictResponse = {
  409: problem('The transition is not possible from the current state'),
} as const;

export const Page = <T extends z.ZodTypeAny>(item: T) =>
  z.object({
    data: z.array(item),
    next: z.string().nullable().openapi({ description: 'The cursor of the next page; null on the last' }),
  });
