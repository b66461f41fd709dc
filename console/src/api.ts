/**
 * The console's client of the public API: the key kept in sessionStorage only (gone when the tab
 * closes), `Authorization: Bearer`, ETag revalidation (If-None-Match, the 304 reuses the body it
 * had), problem+json errors as ApiError, and whether any answer was served stale (`X-Stale`).
 */
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

const cache = new Map<string, { etag: string; body: unknown }>();

async function problemOf(res: Response): Promise<ApiError> {
  let title = res.statusText;
  let detail = '';
  try {
    const p = (await res.json()) as { title?: string; detail?: string };
    title = p.title ?? title;
    detail = p.detail ?? '';
  } catch {
    // not problem+json
  }
  return new ApiError(res.status, title, detail);
}

function headers(): Record<string, string> {
  const key = session.key();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

export async function get<T>(path: string, init: { signal?: AbortSignal } = {}): Promise<T> {
  const known = cache.get(path);
  const res = await fetch(path, {
    headers: { ...headers(), ...(known ? { 'If-None-Match': known.etag } : {}) },
    cache: 'no-store',
    ...(init.signal ? { signal: init.signal } : {}),
  });
  if (res.headers.get('X-Stale') === 'true') session.stale.add(path);
  else session.stale.delete(path);
  if (res.status === 304 && known) return known.body as T;
  if (!res.ok) {
    const err = await problemOf(res);
    if (res.status === 401) session.signOut();
    throw err;
  }
  const body = (await res.json()) as T;
  const etag = res.headers.get('ETag');
  if (etag) cache.set(path, { etag, body });
  return body;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { ...headers(), 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await problemOf(res);
  cache.clear(); // lists that held the changed item revalidate
  return (await res.json()) as T;
}

/** Every item of a paged list (`{ data, next }`), following the cursors. */
export async function getAll<T>(path: string, max = 5000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const page: { data: T[]; next: string | null } = await get(
      `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    out.push(...page.data);
    cursor = page.next;
  } while (cursor && out.length < max);
  return out;
}

export const qs = (params: Record<string, string | number | undefined | null>) => {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
};
