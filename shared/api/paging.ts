/**
 * Keyset paging: a page ends with the sort key of its last item, and the next page starts after it.
 * Pages therefore partition the set in a stable order even while rows are added. Cursors are opaque
 * (base64url JSON) so their shape can change without breaking clients that only pass them back.
 */
import type { Context } from 'hono';
import { ApiProblem } from './problem.ts';

export const encodeCursor = (position: readonly (string | number)[]): string =>
  Buffer.from(JSON.stringify(position)).toString('base64url');

/** The cursor's positions, checked against the expected kinds; a 400 naming `cursor` otherwise. */
export function decodeCursor<const K extends readonly ('string' | 'number')[]>(
  cursor: string,
  kinds: K,
): { [I in keyof K]: K[I] extends 'string' ? string : number } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (
    !Array.isArray(value) ||
    value.length !== kinds.length ||
    value.some((v, i) => typeof v !== kinds[i] || (typeof v === 'number' && !Number.isFinite(v)))
  ) {
    throw new ApiProblem(400, 'Invalid request', 'cursor: not a cursor this list returned', {
      extra: { errors: [{ parameter: 'cursor', reason: 'not a cursor this list returned' }] },
    });
  }
  return value as never;
}

/** The path and query of this request with `cursor` set: the Link to the next page. */
export function nextLink(c: Context, cursor: string): string {
  const url = new URL(c.req.url);
  url.searchParams.set('cursor', cursor);
  return `<${url.pathname}${url.search}>; rel="next"`;
}
