/**
 * The OpenTelemetry SDK behind tracing.ts, imported only when tracing is on (its packages are imported
 * dynamically too, so a bundle that never starts tracing never loads them). Spans are exported to Cloud
 * Trace's OTLP endpoint in batches (the exporter itself loaded at the first export), or, with a test
 * exporter, one by one as they end. Sampling follows the caller's
 * flag (Cloud Run's `traceparent`), and a trace the cycle starts itself is always sampled.
 */
import type { Span, SpanContext } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { TraceParent } from './trace-context.ts';
import type { LiveSpan, SpanAttributes, SpanKindName, TracingBackend, TracingOptions } from './types.ts';

/** Cloud Trace's OTLP endpoint (the Telemetry API); Google's own Cloud Trace exporter is archived. */
export const CLOUD_TRACE_OTLP_URL = 'https://telemetry.googleapis.com/v1/traces';

/**
 * OpenTelemetry's OTLP (HTTP/protobuf) exporter to Cloud Trace, with the function's identity (Application
 * Default Credentials, a fresh token per export), imported at its first export instead of at start: the
 * batch processor's first export comes after the first request has been answered.
 */
function lazyCloudTraceExporter(url: string): SpanExporter {
  let exporter: Promise<SpanExporter> | undefined;
  const load = () => {
    exporter ??= Promise.all([
      import('@opentelemetry/exporter-trace-otlp-proto'),
      import('google-auth-library'),
    ]).then(([{ OTLPTraceExporter }, { GoogleAuth }]) => {
      const auth = new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/cloud-platform' });
      return new OTLPTraceExporter({
        url,
        headers: async () => {
          const out: Record<string, string> = {};
          (await auth.getRequestHeaders()).forEach((value, key) => {
            out[key] = value;
          });
          return out;
        },
      });
    });
    return exporter;
  };
  return {
    export(spans, done) {
      load().then(
        (e) => e.export(spans, done),
        (error: Error) => done({ code: 1 /* ExportResultCode.FAILED */, error }),
      );
    },
    shutdown: async () => (await exporter)?.shutdown(),
    forceFlush: async () => (await exporter)?.forceFlush?.(),
  };
}

export async function openTelemetryBackend(options: TracingOptions): Promise<TracingBackend> {
  const [api, sdk, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
  ]);
  const given = options.exporter as SpanExporter | undefined;
  const batch = given === undefined;
  const exporter = given ?? lazyCloudTraceExporter(options.otlpUrl ?? CLOUD_TRACE_OTLP_URL);
  const provider = new sdk.TracerProvider({
    // gcp.project_id: the project the Telemetry API stores the spans in.
    resource: resourceFromAttributes({
      'service.name': options.serviceName,
      ...(options.projectId ? { 'gcp.project_id': options.projectId } : {}),
    }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    spanProcessors: [
      batch ? new sdk.BatchSpanProcessor({ exporter }) : new sdk.SimpleSpanProcessor({ exporter }),
    ],
  });
  const tracer = provider.getTracer('water-network-monitoring');
  const kinds: Record<SpanKindName, number> = {
    server: api.SpanKind.SERVER,
    consumer: api.SpanKind.CONSUMER,
    producer: api.SpanKind.PRODUCER,
    internal: api.SpanKind.INTERNAL,
  };
  const clean = (attributes: SpanAttributes) => {
    const out: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
    return out;
  };
  const live = (span: Span): LiveSpan => {
    const sc = span.spanContext();
    return {
      context: { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & 1) === 1 },
      setName: (name) => span.updateName(name),
      setAttributes: (attributes) => span.setAttributes(clean(attributes)),
      fail(err) {
        if (err instanceof Error) span.recordException(err);
        span.setStatus({
          code: api.SpanStatusCode.ERROR,
          message: err instanceof Error ? err.message : String(err),
        });
      },
      end: () => span.end(),
    };
  };
  return {
    start(name, kind, parent: TraceParent | undefined, attributes) {
      const parentContext: SpanContext | undefined = parent && {
        traceId: parent.traceId,
        spanId: parent.spanId,
        traceFlags: parent.sampled ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE,
        isRemote: true,
      };
      const ctx = parentContext
        ? api.trace.setSpanContext(api.ROOT_CONTEXT, parentContext)
        : api.ROOT_CONTEXT;
      return live(tracer.startSpan(name, { kind: kinds[kind], attributes: clean(attributes) }, ctx));
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
