/**
 * Trace context as it arrives (W3C `traceparent`, Google's `X-Cloud-Trace-Context`) and as Cloud Logging
 * wants it on a log line (`logging.googleapis.com/trace` = `projects/P/traces/T`, `…/spanId`,
 * `…/trace_sampled`). Pure: parsing and formatting only; spans are made in tracing.ts.
 */

/** One span's identity: 32 hex trace id, 16 hex span id, sampled flag. */
export interface TraceParent {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const CLOUD_TRACE = /^([0-9a-fA-F]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** A W3C `traceparent` header (version 00, or a later one read as 00), or undefined when malformed. */
export function parseTraceparent(header: string | undefined): TraceParent | undefined {
  if (!header) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId: traceId!, spanId: spanId!, sampled: (Number.parseInt(flags!, 16) & 1) === 1 };
}

/** Google's `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` (span id in decimal), or undefined. */
export function parseCloudTraceContext(header: string | undefined): TraceParent | undefined {
  if (!header) return undefined;
  const m = CLOUD_TRACE.exec(header.trim());
  if (!m) return undefined;
  const traceId = m[1]!.toLowerCase();
  if (traceId === ZERO_TRACE) return undefined;
  let spanId = ZERO_SPAN;
  if (m[2]) {
    const n = BigInt(m[2]);
    if (n === 0n || n >= 2n ** 64n) return undefined;
    spanId = n.toString(16).padStart(16, '0');
  }
  if (spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: m[3] === '1' };
}

/** The caller's trace context: `traceparent` first, else `X-Cloud-Trace-Context`. */
export function incomingTraceParent(
  traceparent: string | undefined,
  cloudTraceContext: string | undefined,
): TraceParent | undefined {
  return parseTraceparent(traceparent) ?? parseCloudTraceContext(cloudTraceContext);
}

/** The W3C header value for a span, to pass it on (HTTP header or Pub/Sub attribute). */
export function formatTraceparent(t: TraceParent): string {
  return `00-${t.traceId}-${t.spanId}-${t.sampled ? '01' : '00'}`;
}

export const TRACE_KEY = 'logging.googleapis.com/trace';
export const SPAN_KEY = 'logging.googleapis.com/spanId';
export const SAMPLED_KEY = 'logging.googleapis.com/trace_sampled';

/** The fields Cloud Logging reads to link a line to its trace (and Cloud Trace shows beside the span). */
export function traceLogFields(projectId: string | undefined, t: TraceParent): Record<string, unknown> {
  return {
    [TRACE_KEY]: projectId ? `projects/${projectId}/traces/${t.traceId}` : t.traceId,
    [SPAN_KEY]: t.spanId,
    [SAMPLED_KEY]: t.sampled,
  };
}
