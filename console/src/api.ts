/**
 * The console's client of the public API: the typed client `@wnm/client` (openapi-fetch over the
 * types generated from the API's OpenAPI document), so a path, a parameter or an answer the API does
 * not have fails `npm run typecheck`. Around it: the key kept in sessionStorage only (gone when the tab
 * closes), ETag revalidation (If-None-Match; a 304 answers with the body it had), problem+json errors
 * thrown as ApiError, and whether any answer was served stale (`X-Stale`).
 */
import { createWnmClient, type Problem } from '@wnm/client';

const KEY_ITEM = 'wnm.console.key';

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(status: number, title: string, detail: string) {
    super(detail || title);
    this.status = status;
    this.title = title;
  }
}

type Listener = () => void;
const listeners = new Set<Listener>();
const notify = () => {
  for (const l of listeners) l();
};
export const onSessionChange = (l: Listener) => {
  listeners.add(l);
  return () => listeners.delete(l);
};

export const session = {
  key(): string | null {
    return sessionStorage.getItem(KEY_ITEM);
  },
  signIn(key: string) {
    sessionStorage.setItem(KEY_ITEM, key.trim());
    cache.clear();
    notify();
  },
  signOut() {
    sessionStorage.removeItem(KEY_ITEM);
    cache.clear();
    notify();
  },
  /** Paths whose last answer was marked stale by the API. */
  stale: new Set<string>(),
};

/** The last answer with an ETag, per URL: its validator, body and content type. */
const cache = new Map<string, { etag: string; body: string; type: string }>();

/**
 * The fetch under the typed client: GETs revalidate what they hold (`no-store` keeps the browser's own
 * cache out of it, so a 304 is ours to answer), a 401 signs out, a POST drops what was held (lists that
 * held the changed item revalidate).
 */
async function revalidatingFetch(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname + url.search;
  const known = request.method === 'GET' ? cache.get(request.url) : undefined;
  if (known) request.headers.set('If-None-Match', known.etag);
  const res = await fetch(request, { cache: 'no-store' });
  if (res.headers.get('X-Stale') === 'true') session.stale.add(path);
  else session.stale.delete(path);
  if (res.status === 401) session.signOut();
  if (request.method !== 'GET') {
    if (res.ok) cache.clear();
    return res;
  }
  if (res.status === 304 && known) {
    return new Response(known.body, { status: 200, headers: { 'Content-Type': known.type } });
  }
  const etag = res.headers.get('ETag');
  const type = res.headers.get('Content-Type') ?? '';
  if (res.ok && etag && type.startsWith('application/json')) {
    const body = await res.text();
    cache.set(request.url, { etag, body, type });
    return new Response(body, { status: res.status, headers: res.headers });
  }
  return res;
}

/** The typed client every view calls (`api.GET('/api/v1/nodes/{id}', …)`), signed with the session's key. */
export const api = createWnmClient({
  baseUrl: location.origin,
  token: () => session.key() ?? '',
  fetch: revalidatingFetch,
});

/** What the client answers: `data` on success, the problem+json `error` otherwise. */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

function problemOf(status: number, statusText: string, error: unknown): ApiError {
  const p = (typeof error === 'object' && error !== null ? error : {}) as Partial<Problem>;
  return new ApiError(status, p.title ?? statusText, p.detail ?? '');
}

/** The answer's data, or its problem thrown as ApiError. */
export async function call<T>(answer: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await answer;
  if (!response.ok) throw problemOf(response.status, response.statusText, error);
  return data as T;
}

/** Every item of a paged list (`{ data, next }`), following the cursors: `page(cursor)` asks for one page. */
export async function all<T>(
  page: (cursor: string | undefined) => Promise<Answer<{ data: T[]; next: string | null }>>,
  max = 5000,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const got = await call(page(cursor));
    out.push(...got.data);
    cursor = got.next ?? undefined;
  } while (cursor && out.length < max);
  return out;
}

/** Every node of the caller's tenant. */
export const allNodes = () =>
  all((cursor) => api.GET('/api/v1/nodes', { params: { query: { limit: 1000, cursor } } }));

/** The form values as query parameters: empty ones left out (the API refuses `?type=`). */
export const given = (v: string | null | undefined): string | undefined => (v ? v : undefined);

/** A node's history over [fromMs, toMs) at one resolution. */
export async function nodeHistory(
  id: string,
  fromMs: number,
  toMs: number,
  resolution: '5m' | '1h' | '1d',
  signal?: AbortSignal,
) {
  const history = await call(
    api.GET('/api/v1/nodes/{id}/history', {
      params: {
        path: { id },
        query: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), resolution },
      },
      ...(signal ? { signal } : {}),
    }),
  );
  // The route also serves CSV (`format=csv`); without it the answer is JSON.
  if (typeof history === 'string') throw new ApiError(406, 'Not JSON', 'the history came as text');
  return history;
}
