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
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ parameter: z.string(), reason: z.string() }))
      .optional()
      .openapi({ description: 'For 400: each invalid parameter and why' }),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details' });

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Problem } },
});

/** The error responses of an authenticated route. */
export const errorResponses = {
  400: problem('Invalid parameters: `errors` names each parameter and why'),
  401: problem('No API key, or not a live one'),
  404: problem('Not found (or not in your tenant)'),
  429: problem('Over the key’s rate limit: see Retry-After'),
  503: problem('No data tier can answer right now: see Retry-After'),
} as const;

export const forbiddenResponse = { 403: problem('The key’s role does not allow this') } as const;
export const conflictResponse = {
  409: problem('The transition is not possible from the current state'),
} as const;

export const Page = <T extends z.ZodTypeAny>(item: T) =>
  z.object({
    data: z.array(item),
    next: z.string().nullable().openapi({ description: 'The cursor of the next page; null on the last' }),
  });

export const JSON_HEADERS_DOC = {
  ETag: { schema: { type: 'string' as const }, description: 'Validator for If-None-Match' },
  'X-Cache-Tier': {
    schema: { type: 'string' as const, enum: ['memory', 'redis', 'postgres'] },
    description: 'The tier that answered',
  },
};
