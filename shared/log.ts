/**
 * Structured logs in Cloud Logging's JSON shape: one JSON object per line on stdout, with `severity`
 * and `message`; other fields land in jsonPayload. Ids (runId, nodeId, requestId) travel in child
 * loggers so every line of a run, node or request can be filtered. Log-based metrics in Terraform
 * key on `event` (see terraform/monitoring.tf), so event names are part of the contract:
 *   run.started, run.finished (status, durationMs, bytesProcessed, nodesProcessed, nodesFailed),
 *   node.aggregated (durationMs, readings), node.failed, message.poison, message.dead_lettered,
 *   rollup.finished, anomaly.opened (severity, anomalyType), api.request (status, latencyMs, tier),
 *   cache.writes_failing / cache.writes_recovered (once per Redis outage of the cycle's hot-key writes),
 *   rollup.replayed / rollup.replay_failed (a dead-lettered rollup), run.swept (status, rollupLost, failedNodes).
 */

export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';
const rank: Record<Severity, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3, CRITICAL: 4 };
const levelOf: Record<string, Severity> = {
  debug: 'DEBUG',
  info: 'INFO',
  warning: 'WARNING',
  error: 'ERROR',
};

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

export function createLogger(options: { level?: string; sink?: Sink; base?: Fields } = {}): Logger {
  const min = rank[levelOf[options.level ?? process.env.LOG_LEVEL ?? 'info'] ?? 'INFO'];
  const sink: Sink = options.sink ?? ((line) => process.stdout.write(`${line}\n`));
  const base = options.base ?? {};
  const emit = (severity: Severity, message: string, fields?: Fields) => {
    if (rank[severity] < min) return;
    const entry: Fields = { severity, message, time: new Date().toISOString(), ...base, ...fields };
    if (entry.err !== undefined) entry.err = serializeError(entry.err);
    sink(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARNING', m, f),
    error: (m, f) => emit('ERROR', m, f),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything: for tests and benchmarks that assert on behaviour, not logs. */
export const silentLogger: Logger = createLogger({ sink: () => {} });
