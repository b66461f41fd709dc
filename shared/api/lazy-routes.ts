/**
 * The API's resources, loaded on first use (issue 14, bench:cold-start): each route module (its zod
 * schemas, its OpenAPI route objects, its handlers) is a dynamic import, so starting the function and
 * answering /health builds none of them, and a first request builds only its own resource.
 *
 * How routing stays identical: ROUTE_MANIFEST (generated from the built routers, checked by a test)
 * lists every entry a resource's routers give Hono — method and path, validators and `use` middleware
 * included, in order. createApp registers one stand-in per entry at the same method and path, in the
 * same order, so Hono matches, orders and composes exactly as if the routers had been mounted; each
 * stand-in loads the resource once and calls the real entry's handler with the same context and `next`.
 * The OpenAPI document mounts the loaded routers as before (apiDocument in app.ts).
 */
import type { Handler } from 'hono';
import type { RouteDeps } from './context.ts';
import { ROUTE_MANIFEST, type RouteEntry } from './route-manifest.ts';
import type { ApiRouter } from './router.ts';
import type { StreamSettings, WebhookSettings } from './settings.ts';

/** The ingest route's path (its own body limit in the API gate). */
export const READINGS_PATH = '/api/v1/readings';

/** What the resources are built from. */
export interface ResourceDeps {
  route: RouteDeps;
  stream: StreamSettings;
  webhooks: WebhookSettings | undefined;
}

/** One router of a resource, mounted under /api/v1 + prefix. */
export interface RouteMount {
  prefix: string;
  router: ApiRouter;
}

export type ResourceName = keyof typeof ROUTE_MANIFEST;

interface Resource<M> {
  /** Imports the resource's modules. */
  load: () => Promise<M>;
  /** Builds its routers from them. */
  build: (modules: M, deps: ResourceDeps) => RouteMount[];
}
const resource = <M>(load: () => Promise<M>, build: (modules: M, deps: ResourceDeps) => RouteMount[]) =>
  ({ load, build }) as Resource<unknown>;

/** Each resource's routers, in the order they are mounted under /api/v1 (the document's order). */
export const API_RESOURCES: Record<ResourceName, Resource<unknown>> = {
  status: resource(
    () => import('./routes/status.ts'),
    (m, d) => [{ prefix: '/status', router: m.statusRoutes(d.route) }],
  ),
  nodes: resource(
    () => import('./routes/nodes.ts'),
    (m, d) => [{ prefix: '/nodes', router: m.nodesRoutes(d.route) }],
  ),
  history: resource(
    () => import('./routes/history.ts'),
    (m, d) => [{ prefix: '/nodes', router: m.historyRoutes(d.route) }],
  ),
  network: resource(
    () => import('./routes/network.ts'),
    (m, d) => [{ prefix: '/network', router: m.networkRoutes(d.route) }],
  ),
  predictions: resource(
    () => import('./routes/predictions.ts'),
    (m, d) => [{ prefix: '/predictions', router: m.predictionsRoutes(d.route) }],
  ),
  quality: resource(
    () => import('./routes/quality.ts'),
    (m, d) => [{ prefix: '/quality', router: m.qualityRoutes(d.route) }],
  ),
  anomalies: resource(
    () => Promise.all([import('./routes/anomaly-stream.ts'), import('./routes/anomalies.ts')]),
    ([s, a], d) => {
      // Served by GET /anomalies/{id} for the id `stream` (see anomaly-stream.ts: the router stays a RegExpRouter).
      const stream = s.anomalyStreamRoutes({ ...d.route, stream: d.stream });
      return [
        { prefix: '/anomalies', router: stream.docs },
        { prefix: '/anomalies', router: a.anomaliesRoutes({ ...d.route, stream: stream.handle }) },
      ];
    },
  ),
  dashboard: resource(
    () => import('./routes/dashboard.ts'),
    (m, d) => [{ prefix: '/dashboard', router: m.dashboardRoutes(d.route) }],
  ),
  adminKeys: resource(
    () => import('./routes/admin-keys.ts'),
    (m, d) => [{ prefix: '/admin/keys', router: m.adminKeysRoutes(d.route) }],
  ),
  readings: resource(
    () => import('./routes/readings.ts'),
    (m, d) => [{ prefix: '/readings', router: m.readingsRoutes(d.route) }],
  ),
  webhooks: resource(
    () => import('./routes/webhooks.ts'),
    (m, d) => [{ prefix: '/webhooks', router: m.webhooksRoutes({ ...d.route, webhooks: d.webhooks }) }],
  ),
  patterns: resource(
    () => import('./routes/patterns.ts'),
    (m, d) => [{ prefix: '/', router: m.patternsRoutes(d.route) }],
  ),
  reports: resource(
    () => import('./routes/reports.ts'),
    (m, d) => [{ prefix: '/reports', router: m.reportsRoutes(d.route) }],
  ),
};

/** The route modules, once imported (shared by every app of the process). */
const imported = new Map<ResourceName, Promise<unknown>>();
const importedModules = new Map<ResourceName, unknown>();

function importResource(name: ResourceName): Promise<unknown> {
  let loading = imported.get(name);
  if (!loading) {
    loading = API_RESOURCES[name].load().then((m) => {
      importedModules.set(name, m);
      return m;
    });
    loading.catch(() => imported.delete(name));
    imported.set(name, loading);
  }
  return loading;
}

/** Imports every route module (for an app built with `routes: 'eager'`: tests, tools). */
export async function importAllRoutes(): Promise<void> {
  await Promise.all(RESOURCE_NAMES.map(importResource));
}

/** Every resource's routers, built now from modules already imported (importAllRoutes first). */
export function buildAllNow(deps: ResourceDeps): RouteMount[][] {
  return RESOURCE_NAMES.map((name) => {
    if (!importedModules.has(name))
      throw new Error(`route module "${name}" not imported: await importAllRoutes()`);
    return API_RESOURCES[name].build(importedModules.get(name), deps);
  });
}

/** How many route modules this process has imported (or is importing). */
export const importedRouteModules = (): number => imported.size;

export const RESOURCE_NAMES = Object.keys(API_RESOURCES) as ResourceName[];

/** The entries Hono gets from mounting these routers: [prefix, method, path] each, in order. */
export function routeEntries(mounts: RouteMount[]): RouteEntry[] {
  return mounts.flatMap(({ prefix, router }) =>
    router.routes.map((r) => [prefix, r.method, r.path] as RouteEntry),
  );
}

/** Every resource's routers, loaded once per app. */
export class ApiResources {
  readonly #deps: ResourceDeps;
  readonly #loaded = new Map<ResourceName, Promise<RouteMount[]>>();

  constructor(deps: ResourceDeps) {
    this.#deps = deps;
  }

  /** The resource's routers; a failed load is tried again by the next request. */
  load(name: ResourceName): Promise<RouteMount[]> {
    let loading = this.#loaded.get(name);
    if (!loading) {
      loading = importResource(name).then((m) => API_RESOURCES[name].build(m, this.#deps));
      loading.catch(() => this.#loaded.delete(name));
      this.#loaded.set(name, loading);
    }
    return loading;
  }

  /** Every resource, in the document's order. */
  all(): Promise<RouteMount[][]> {
    return Promise.all(RESOURCE_NAMES.map((name) => this.load(name)));
  }

  /** The real handlers of a resource, entry by entry, once its routers match the manifest. */
  async handlers(name: ResourceName): Promise<Handler[]> {
    const mounts = await this.load(name);
    const entries = routeEntries(mounts);
    const expected = ROUTE_MANIFEST[name];
    if (JSON.stringify(entries) !== JSON.stringify(expected)) {
      throw new Error(
        `the routes of "${name}" differ from shared/api/route-manifest.ts: run \`npm run routes:manifest\``,
      );
    }
    return mounts.flatMap(({ router }) => router.routes.map((r) => r.handler as Handler));
  }
}

/**
 * Registers a stand-in for each manifest entry of every resource on `v1` (the /api/v1 router), in
 * manifest order: the same method, the same merged path as `v1.route(prefix, router)` would give.
 */
export function mountLazyResources(v1: ApiRouter, resources: ApiResources): void {
  for (const name of RESOURCE_NAMES) {
    let handlers: Handler[] | undefined;
    let resolving: Promise<Handler[]> | undefined;
    const resolve = (): Promise<Handler[]> => {
      resolving ??= resources.handlers(name).then(
        (hs) => {
          handlers = hs;
          return hs;
        },
        (err: unknown) => {
          resolving = undefined;
          throw err;
        },
      );
      return resolving;
    };
    ROUTE_MANIFEST[name].forEach(([prefix, method, path], index) => {
      const standIn: Handler = (c, next) => {
        if (handlers) return handlers[index]!(c, next);
        return resolve().then((hs) => hs[index]!(c, next));
      };
      v1.basePath(prefix).on(method, path, standIn);
    });
  }
}
