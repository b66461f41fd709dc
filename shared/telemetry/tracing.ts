/**
 * Spans and the trace scope every log line reads. With TRACING=off (local, default) nothing of
 * OpenTelemetry is loaded: a span only carries the caller's trace context (an incoming `traceparent`,
 * `X-Cloud-Trace-Context` or message attribute) so log lines still join the caller's trace. With
 * TRACING=cloud the OpenTelemetry SDK is imported on start (otel.ts) and spans go to Cloud Trace.
 *
 * The scope is our own AsyncLocalStorage: the logger's mixin reads the current span's log fields from
 * it, and the bus copies its `traceparent` into the attributes of what it publishes, so a cycle
 * (dispatcher → Pub/Sub → aggregator → rollup) is one trace.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { formatTraceparent, type TraceParent, traceLogFields } from './trace-context.ts';
import type { SpanAttributes, SpanKindName, SpanRef, TracingBackend, TracingOptions } from './types.ts';

export type { SpanAttributes, SpanKindName, SpanRef, TracingMode, TracingOptions } from './types.ts';

interface Scope {
  context: TraceParent;
  fields: Record<string, unknown>;
  traceparent: string;
}

const scope = new AsyncLocalStorage<Scope>();
let backend: TracingBackend | undefined;
let started: Promise<void> | undefined;
let traceProject: string | undefined;

/**
 * Starts tracing for this process, once: the first call wins (a test that starts it with an in-memory
 * exporter before importing a function keeps its exporter). With mode off and no exporter it loads nothing.
 */
export function startTracing(options: TracingOptions): Promise<void> {
  started ??= (async () => {
    traceProject = options.projectId;
    if (options.mode === 'off' && options.exporter === undefined) return;
    const { openTelemetryBackend } = await import('./otel.ts');
    backend = await openTelemetryBackend(options);
  })();
  return started;
}

/** True when spans are recorded (TRACING=cloud or a test exporter). */
export const tracingEnabled = (): boolean => backend !== undefined;

let lastFlush = 0;

/**
 * Exports the spans that ended (Cloud Run may throttle the CPU once a request or event is answered).
 * With `minIntervalMs`, at most once per that interval: a burst of deliveries (a cycle's node batches on
 * one instance) shares one export instead of one per delivery; what a skipped flush leaves goes with the
 * next one or the batch processor's own timer (spans still batched when the instance stops are lost:
 * the functions framework exits on SIGTERM at once).
 */
export async function flushTracing(options: { minIntervalMs?: number } = {}): Promise<void> {
  if (!backend) return;
  const now = Date.now();
  if (options.minIntervalMs && now - lastFlush < options.minIntervalMs) return;
  lastFlush = now;
  await backend.flush();
}

/** Stops tracing (tests): exports what is pending and forgets the backend, so it can be started again. */
export async function stopTracing(): Promise<void> {
  await started?.catch(() => {});
  const b = backend;
  backend = undefined;
  started = undefined;
  traceProject = undefined;
  await b?.shutdown();
}

const scopeOf = (context: TraceParent): Scope => ({
  context,
  fields: traceLogFields(traceProject, context),
  traceparent: formatTraceparent(context),
});

const noSpan: SpanRef = { context: undefined, setName() {}, setAttributes() {} };
const callersSpan = (context: TraceParent): SpanRef => ({ context, setName() {}, setAttributes() {} });

/**
 * Runs `fn` in a span, child of `parent` (a context from a header or message) or else of the current
 * span. Log lines written inside carry the span's trace fields; a throw marks the span failed.
 *
 * A parent that is not sampled (most requests Cloud Run's front end forwards) gets no span of ours:
 * the sampler follows the parent, so the span would record nothing, and making it cost a cached read
 * about 6 µs of CPU (bench:api --front-end-trace --tracing cloud, its profile). `fn` runs in the
 * caller's context instead: its log lines carry the caller's trace and span, unsampled.
 *
 * @example
 * ```ts
 * await inSpan('cycle.dispatch', { kind: 'consumer', attributes: { runId } }, async () => dispatch());
 * ```
 */
export async function inSpan<T>(
  name: string,
  options: { parent?: TraceParent | undefined; kind?: SpanKindName; attributes?: SpanAttributes },
  fn: (span: SpanRef) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? scope.getStore()?.context;
  if (!backend || parent?.sampled === false) {
    if (!parent) return fn(noSpan);
    return scope.run(scopeOf(parent), () => fn(callersSpan(parent)));
  }
  const span = backend.start(name, options.kind ?? 'internal', parent, options.attributes ?? {});
  try {
    return await scope.run(scopeOf(span.context), () => fn(span));
  } catch (err) {
    span.fail(err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Whether `inSpan` with this parent would record a span: tracing is on and the parent (or, without
 * one, the current span) is not an unsampled trace.
 */
export function spanRecorded(parent?: TraceParent): boolean {
  const p = parent ?? scope.getStore()?.context;
  return backend !== undefined && p?.sampled !== false;
}

/**
 * Runs `fn` in its caller's trace scope, as `inSpan` does when it records no span (`spanRecorded`
 * false), but synchronously: `fn`'s value is returned as it is, a promise only if `fn` made one.
 */
export function inCallersScope<T>(parent: TraceParent, fn: () => T): T {
  return scope.run(scopeOf(parent), fn);
}

/** The current span's Cloud Logging trace fields (the logger's mixin), or undefined outside a span. */
export const currentTraceFields = (): Record<string, unknown> | undefined => scope.getStore()?.fields;

/** The current span's W3C `traceparent`, to pass on with an outgoing message or request. */
export const currentTraceparent = (): string | undefined => scope.getStore()?.traceparent;
