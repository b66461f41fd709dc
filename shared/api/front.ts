/**
 * The API's front — request log, CORS, and for /api the unauthenticated limit and the API gate — run
 * inside each route's own handler instead of as `app.use` middleware (issue 14).
 *
 * Why: Hono calls a route directly, and hands a ready Response to the host as it is, only when exactly
 * ONE handler matches the request (hono-base `#dispatch`, public behaviour); with more (request log →
 * unauthenticated limit → API gate → route) it composes them through one promise per level, and
 * @hono/node-server then takes its promised path (a `close` listener, two more awaits) instead of
 * writing the ready Response. A cached read is a few tens of µs: that path cost a measurable share.
 *
 * How: the app is built as before on an inner router, without the front's middleware; `frontEveryRoute`
 * registers every entry of that router (`app.routes`: method, path, handler, in order) on the app it
 * returns, each handler behind the front. Hono still does all the routing (same entries, same order,
 * same router), and the routes, validators and handlers are the same objects: there is no second
 * routing table or validation. The front runs once per request: in the first handler that matches
 * (later handlers of a composed match see it already ran), or in the not-found handler when none does
 * (so a 404 or 405 under /api is still refused 401 without a key, and every 404 has its log line).
 *
 * The front's steps are our own middleware, composed here by `runFront` with Hono's compose semantics
 * (the same order; an error at a step becomes that step's response through the app's error handler,
 * and the steps before it see it as `c.res`), except that a step whose `next()` came back without a
 * promise continues without one: a memory hit with a cached key and leased tokens is answered
 * synchronously. Hono middleware (CORS) is a valid step (it simply always returns a promise).
 */
import type { Context, Env, Handler, MiddlewareHandler, NotFoundHandler } from 'hono';
import { type ApiRouter, newRouter } from './router.ts';

type MaybePromise<T> = T | Promise<T>;

/** What a step or a route returns: a response, or nothing (it set `c.res`, or passed on), maybe later. */
// biome-ignore lint/suspicious/noConfusingVoidType: as Hono's handlers, a step may return nothing
type StepResult = MaybePromise<Response | undefined | void>;

/** What a front step's `next` returns: nothing, or a promise when the rest of the chain waited. */
export type FrontNext = () => MaybePromise<void>;

/**
 * A step of the front: Hono middleware whose `next()` may come back without a promise, and which may
 * itself return without one. Every such step is also valid Hono middleware (`asMiddleware`).
 */
// biome-ignore lint/suspicious/noExplicitAny: any env
export type FrontStep<E extends Env = any> = (c: Context<E>, next: FrontNext) => StepResult;

// biome-ignore lint/suspicious/noExplicitAny: any env
type ErrorHandlerOf = (err: Error, c: Context<any>) => MaybePromise<Response>;

export const isPromise = <T>(value: MaybePromise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown } | undefined)?.then === 'function';

/** `then` when `value` is a promise, else `fn(value)` now. */
export function afterNext<T, R>(value: MaybePromise<T>, fn: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isPromise(value) ? value.then(fn) : fn(value);
}

/** A front step that is also Hono middleware (`app.use`): Hono awaits whatever a handler returns. */
export type FrontMiddleware<E extends Env> = FrontStep<E> & MiddlewareHandler<E>;

/** `step`, typed as the Hono middleware it also is. */
export const asMiddleware = <E extends Env>(step: FrontStep<E>): FrontMiddleware<E> =>
  step as FrontMiddleware<E>;

/**
 * Hono middleware as a front step: it awaits `next()`, which works on a value as on a promise (it
 * always answers through a promise of its own, so the request does too).
 */
export const honoStep = <E extends Env>(middleware: MiddlewareHandler<E>): FrontStep<E> =>
  middleware as unknown as FrontStep<E>;

/**
 * Runs `steps` then `final` on `c`, as Hono's compose would: each step's response (or the error
 * handler's, when it throws or rejects with an Error) becomes `c.res` unless a step already set it;
 * an error that is not an Error is thrown on. Returns a promise only when some step waited.
 */
export function runFront(
  c: Context,
  steps: readonly FrontStep[],
  final: () => StepResult,
  onError: ErrorHandlerOf,
): MaybePromise<void> {
  let index = -1;
  const failed = (err: unknown): MaybePromise<void> => {
    if (!(err instanceof Error)) throw err;
    c.error = err;
    return afterNext(onError(err, c), (res) => {
      c.res = res;
    });
  };
  const settle = (res: Awaited<StepResult>): void => {
    if (res && !c.finalized) c.res = res;
  };
  const dispatch = (i: number): MaybePromise<void> => {
    if (i <= index) throw new Error('next() called multiple times');
    index = i;
    const step = steps[i];
    let res: StepResult;
    try {
      res = step ? step(c, () => dispatch(i + 1)) : final();
    } catch (err) {
      return failed(err);
    }
    return isPromise(res) ? res.then(settle, failed) : settle(res);
  };
  return dispatch(0);
}

/**
 * The context variable that says the request's front has run (or is running): a variable of the
 * request's own context, not a weak set of contexts (an entry per request the collector would have to
 * process as an ephemeron).
 */
type Fronted = Context<{ Variables: { [FRONTED]: true } }>;
const FRONTED = 'wnm.fronted';
const fronted = {
  has: (c: Context): boolean => (c as Fronted).get(FRONTED) === true,
  add: (c: Context): void => (c as Fronted).set(FRONTED, true),
};

export interface FrontOptions<E extends Env> {
  /** The steps every request goes through, outermost first. */
  all: readonly FrontStep<E>[];
  /** The steps that follow for the paths `gated` accepts. */
  gate: readonly FrontStep<E>[];
  /** Which paths take the `gate` steps (`c.req.path`). */
  gated: (path: string) => boolean;
  /** The app's error handler (the one it gives `onError`): what a failed step or route answers. */
  onError: ErrorHandlerOf;
  /** The app's not-found handler (404 / 405): answered behind the front when no route matched. */
  notFound: (c: Context<E>) => MaybePromise<Response>;
}

/**
 * The app to serve: every route of `inner` (in order) registered on a new router behind the front,
 * with the front's not-found and error handlers. `inner` is not served itself.
 */
export function frontEveryRoute<E extends Env>(inner: ApiRouter, options: FrontOptions<E>): ApiRouter {
  const outer = newRouter();
  const { all, gate, gated, onError, notFound } = options;
  const withGate = [...all, ...gate] as FrontStep[];
  const plain = [...all] as FrontStep[];
  const front = (c: Context, final: () => StepResult): MaybePromise<Response> => {
    fronted.add(c);
    const done = runFront(c, gated(c.req.path) ? withGate : plain, final, onError);
    return isPromise(done) ? done.then(() => c.res) : c.res;
  };
  const behindFront =
    (handler: Handler): Handler =>
    (c, next) =>
      fronted.has(c) ? handler(c, next) : front(c, () => handler(c, next) as StepResult);
  for (const r of inner.routes) outer.on(r.method, r.path, behindFront(r.handler as Handler));
  const notFoundBehindFront: NotFoundHandler = (c) =>
    fronted.has(c) ? notFound(c as Context<E>) : front(c, () => notFound(c as Context<E>));
  outer.notFound(notFoundBehindFront);
  outer.onError(onError);
  return outer;
}
