/**
 * 405 instead of 404 when the path exists with other methods: the allowed methods of a path, from the
 * routes the OpenAPI registry holds (every API route is declared there) and the app's plain routes
 * (`/health`, `/docs`, `/openapi.json`, which are not API routes of the document).
 */
import type { OpenAPIHono } from '@hono/zod-openapi';

interface PathMethods {
  pattern: RegExp;
  methods: Set<string>;
}

// biome-ignore lint/suspicious/noExplicitAny: any app of any env
type AnyApp = OpenAPIHono<any, any, any>;

const escapeRegExp = (s: string) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');

/** Returns a function giving the methods allowed on a path (empty: no such path). Built on first use. */
export function methodsAllowed(app: AnyApp): (path: string) => string[] {
  let table: PathMethods[] | undefined;
  const build = (): PathMethods[] => {
    const byPath = new Map<string, Set<string>>();
    for (const def of app.openAPIRegistry.definitions) {
      if (def.type !== 'route') continue;
      const path = def.route.path.replace(/\/+$/, '') || '/';
      const methods = byPath.get(path) ?? new Set<string>();
      methods.add(def.route.method.toUpperCase());
      if (def.route.method === 'get') methods.add('HEAD');
      byPath.set(path, methods);
    }
    // Hono's own table: plain routes (`app.get`); middleware (`app.use`) is method ALL and not a route.
    for (const r of app.routes) {
      if (r.method === 'ALL' || r.path.includes('*')) continue;
      const path = (r.path.replace(/\/+$/, '') || '/').replace(/:(\w+)(\{[^}]*\})?/g, '{$1}');
      const methods = byPath.get(path) ?? new Set<string>();
      methods.add(r.method.toUpperCase());
      if (r.method.toUpperCase() === 'GET') methods.add('HEAD');
      byPath.set(path, methods);
    }
    return [...byPath].map(([path, methods]) => ({
      pattern: new RegExp(
        `^${path
          .split(/(\{[^}]+\})/)
          .map((part) => (part.startsWith('{') ? '[^/]+' : escapeRegExp(part)))
          .join('')}/?$`,
      ),
      methods,
    }));
  };
  return (path) => {
    table ??= build();
    const allowed = new Set<string>();
    for (const t of table) if (t.pattern.test(path)) for (const m of t.methods) allowed.add(m);
    return [...allowed].sort();
  };
}
