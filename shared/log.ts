/**
 * Structured logs in Cloud Logging's JSON shape, written by pino: one JSON object per line with
 * `severity`, `message` and `time`; other fields land in jsonPayload. Google's own pino config
 * (@google-cloud/pino-logging-gcp-config) does the same but loads @google-cloud/logging with gRPC
 * (1.3 s to require here under load), so the few formatter options it sets are set here instead:
 * - every line written inside a span (shared/telemetry/tracing.ts: a request, a cycle message) carries
 *   `logging.googleapis.com/trace` (`projects/P/traces/T`), `…/spanId` and `…/trace_sampled`;
 * - an `err` at ERROR or above adds a top-level `stack_trace`, which Error Reporting picks up (a warning's
 *   error, e.g. a node retried by Pub/Sub, keeps its stack inside `err` only).
 *
 * Ids (runId, nodeId, requestId) travel in child loggers so every line of a run, node or request can be
 * filtered. Log-based metrics in Terraform key on `event` (see terraform/monitoring.tf), so event names
 * are part of the contract:
 *   run.started, run.finished (status, durationMs, bytesProcessed, nodesProcessed, nodesFailed),
 *   node.aggregated (durationMs, readings), node.failed, message.poison, message.dead_lettered,
 *   rollup.finished, anomaly.opened (severity, anomalyType), api.request (status, latencyMs, tier, httpRequest),
 *   cache.writes_failing / cache.writes_recovered (once per Redis outage of the cycle's hot-key writes),
 *   rollup.replayed / rollup.replay_failed (a dead-lettered rollup), run.swept (status, rollupLost, failedNodes).
 */
import { type Logger as PinoLogger, pino } from 'pino';
import { currentTraceFields } from './telemetry/tracing.ts';

export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';
const severityOf: Record<string, Severity> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};
/** LOG_LEVEL (Cloud Logging's names) → pino's level names. */
const pinoLevelOf: Record<string, string> = {
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  error: 'error',
  silent: 'silent',
};
const ERROR_LEVEL = 50;

export type Fields = Record<string, unknown>;
export type Sink = (line: string) => void;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

function serializeError(err: unknown): Fields {
  if (err instanceof Error) {
    return {
      name: err.name,
      message: err.message,
      stack: err.stack,
      cause: err.cause ? String(err.cause) : undefined,
    };
  }
  return { message: String(err) };
}

/** The current time in ISO 8601, formatted at most once per millisecond (many lines share one). */
let isoMs = 0;
let isoText = '';
function isoTime(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = `,"time":"${new Date(now).toISOString()}"`;
  }
  return isoText;
}

/** Adds the current span's trace fields, and Error Reporting's `stack_trace` to an error line. */
function mixin(merge: object, level: number): Fields {
  const trace = currentTraceFields();
  const err = (merge as { err?: unknown }).err;
  if (level >= ERROR_LEVEL && err instanceof Error && err.stack) {
    return trace ? { ...trace, stack_trace: err.stack } : { stack_trace: err.stack };
  }
  return trace ?? {};
}

class PinoBackedLogger implements Logger {
  private readonly p: PinoLogger;
  constructor(p: PinoLogger) {
    this.p = p;
  }
  debug(message: string, fields?: Fields) {
    if (fields) this.p.debug(fields, message);
    else this.p.debug(message);
  }
  info(message: string, fields?: Fields) {
    if (fields) this.p.info(fields, message);
    else this.p.info(message);
  }
  warn(message: string, fields?: Fields) {
    if (fields) this.p.warn(fields, message);
    else this.p.warn(message);
  }
  error(message: string, fields?: Fields) {
    if (fields) this.p.error(fields, message);
    else this.p.error(message);
  }
  child(fields: Fields): Logger {
    return new PinoBackedLogger(this.p.child(fields));
  }
}

/**
 * A logger writing Cloud Logging lines to `sink` (one line, without its newline, per call), or to stdout.
 *
 * @param options.level - debug | info | warning | error (LOG_LEVEL by default)
 * @param options.base - fields on every line (e.g. `{ function: 'api' }`)
 */
export function createLogger(options: { level?: string; sink?: Sink; base?: Fields } = {}): Logger {
  const level = pinoLevelOf[options.level ?? process.env.LOG_LEVEL ?? 'info'] ?? 'info';
  const sink = options.sink;
  const stream = sink
    ? { write: (text: string) => sink(text.endsWith('\n') ? text.slice(0, -1) : text) }
    : { write: (text: string) => process.stdout.write(text) };
  const p = pino(
    {
      level,
      base: options.base ?? null,
      messageKey: 'message',
      timestamp: isoTime,
      formatters: { level: (label) => ({ severity: severityOf[label] ?? 'INFO' }) },
      serializers: { err: serializeError },
      mixin,
    },
    stream,
  );
  return new PinoBackedLogger(p);
}

/** A logger that drops everything: for tests and benchmarks that assert on behaviour, not logs. */
export const silentLogger: Logger = createLogger({ level: 'silent', sink: () => {} });
