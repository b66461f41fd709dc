/** The shapes tracing.ts and its OpenTelemetry backend (otel.ts) share. */
import type { TraceParent } from './trace-context.ts';

export type SpanKindName = 'server' | 'consumer' | 'producer' | 'internal';
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** What the code inside a span can do with it. */
export interface SpanRef {
  /** This span's identity, or the caller's when tracing is off (undefined when there is neither). */
  readonly context: TraceParent | undefined;
  setName(name: string): void;
  setAttributes(attributes: SpanAttributes): void;
}

/** A started span of the tracing backend (otel.ts). */
export interface LiveSpan extends SpanRef {
  readonly context: TraceParent;
  fail(err: unknown): void;
  end(): void;
}

export interface TracingBackend {
  start(
    name: string,
    kind: SpanKindName,
    parent: TraceParent | undefined,
    attributes: SpanAttributes,
  ): LiveSpan;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export type TracingMode = 'off' | 'cloud';

export interface TracingOptions {
  mode: TracingMode;
  /** The project traces and log lines name (`projects/P/traces/T`). */
  projectId?: string | undefined;
  /** service.name of the spans (the function). */
  serviceName: string;
  /** The OTLP/HTTP endpoint of mode cloud (default: Cloud Trace's, CLOUD_TRACE_OTLP_URL in otel.ts). */
  otlpUrl?: string | undefined;
  /**
   * An OpenTelemetry SpanExporter to use instead of Cloud Trace's (tests: InMemorySpanExporter); spans
   * are then exported one by one as they end. Typed loosely so this module loads nothing of OpenTelemetry.
   */
  exporter?: unknown;
}
