/**
 * Reads answered in front of the functions framework's Express app, on the framework's own server.
 *
 * The framework (v5) serves an HTTP function through Express 5: per request a router walk over ten
 * layers (three path-to-regexp matches), five body parsers (each a no-op on a GET, still a call and a
 * content-type check), an execution id (`Date.now()` and `Math.random()` in base 36), an async
 * AsyncLocalStorage middleware (a promise per request), `on-finished` listeners, the timeout
 * middleware, the Domain (shared/request-domains.ts) and a `process.nextTick` before the function
 * runs. For a cached read that host work cost more CPU than the whole app (bench:api, bare-ff row).
 *
 * `frontOfFramework(listener, takes)` returns the HTTP function to register. On the first request of a
 * server it finds that server (the request's socket's `server`, the one the framework created) and puts
 * one `request` listener in place of the framework's: requests `takes` accepts (GET and HEAD, which carry no body) go straight to
 * `listener` with Node's own `req`/`res`; every other request goes to the framework's Express app
 * exactly as before (its body parsers keep `rawBody` for the app). The framework still creates the
 * server, listens, handles SIGTERM and uncaught exceptions; the first request itself goes through it.
 *
 * What a request taken here does not get from the framework: Express's prototypes on `req`/`res`
 * (the app writes with Node's own methods), the execution id and its AsyncLocalStorage context (only
 * read by the framework's LOG_EXECUTION_ID logging, which we do not use), the 404 for /favicon.ico and
 * /robots.txt (kept: `takes` leaves those to the framework), and the socket timeout of
 * CLOUD_RUN_TIMEOUT_SECONDS (Cloud Run enforces the request timeout itself).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** The framework answers these paths itself (a 404 without calling the function): left to it. */
const FRAMEWORK_PATHS = /^\/(?:favicon\.ico|robots\.txt)(?:[/?#]|$)/i;

/** GET and HEAD requests (no body to parse), except the paths the framework answers itself. */
export function bodylessRead(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && !FRAMEWORK_PATHS.test(req.url ?? '/');
}

/** The servers seen (each answered in front of its framework, unless it was not the framework's as expected). */
const fronted = new WeakSet<Server>();

/**
 * The HTTP function to register with the framework: `listener` for every request, and once the server
 * is known, `takes`'s requests answered before the framework's Express app.
 */
export function frontOfFramework(
  listener: NodeListener,
  takes: (req: IncomingMessage) => boolean = bodylessRead,
): NodeListener {
  // Only requests that reach the function through the framework come here: the first of each server
  // (one in production; tests start several) and those `takes` leaves to the framework.
  return function viaFramework(req, res) {
    const server = (req.socket as { server?: unknown } | null)?.server;
    if (isHttpServer(server) && !fronted.has(server)) install(server, listener, takes);
    return listener(req, res);
  };
}

function isHttpServer(value: unknown): value is Server {
  return typeof (value as Server | undefined)?.listeners === 'function';
}

function install(server: Server, listener: NodeListener, takes: (req: IncomingMessage) => boolean): void {
  const current = server.listeners('request');
  fronted.add(server);
  // One listener, the framework's app: anything else is a server we do not know, left as it is.
  if (current.length !== 1) return;
  const framework = current[0] as (req: IncomingMessage, res: ServerResponse) => void;
  server.removeListener('request', framework);
  server.on('request', function front(req: IncomingMessage, res: ServerResponse) {
    if (!takes(req)) {
      framework.call(server, req, res);
      return;
    }
    // What the framework does for a function that throws or rejects: a 500, and the process lives on.
    try {
      const done = listener(req, res) as PromiseLike<unknown> | undefined;
      if (typeof done?.then === 'function') done.then(undefined, (error: unknown) => crashed(res, error));
    } catch (error) {
      crashed(res, error);
    }
  });
}

/** A read whose listener failed: 500 if nothing was sent yet, else the connection is cut (a partial body is not an answer). */
function crashed(res: ServerResponse, error: unknown): void {
  process.emitWarning(
    `a read answered in front of the framework failed: ${String((error as Error)?.stack ?? error)}`,
  );
  if (!res.headersSent) {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Internal Server Error');
  } else {
    res.destroy();
  }
}
