/**
 * Tracing for a function, from configuration (TRACING=cloud|off). Off loads nothing of OpenTelemetry
 * (shared/telemetry/tracing.ts). A tracing that cannot start is logged and the function runs without
 * spans: observability never takes the function down.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.ts';
import { createLogger } from '../log.ts';
import { startTracing } from '../telemetry/tracing.ts';

/** Starts tracing now (the event-driven functions: at import, beside their first delivery). */
export function startFunctionTracing(config: Config, fn: string): Promise<void> {
  return startTracing({
    mode: config.TRACING,
    projectId: config.GOOGLE_CLOUD_PROJECT,
    serviceName: fn,
    otlpUrl: config.TRACE_OTLP_URL,
  }).catch((err: unknown) => {
    createLogger({ level: config.LOG_LEVEL, base: { function: fn } }).error(
      'tracing could not start; running without spans',
      { event: 'tracing.failed', err },
    );
  });
}

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * For an HTTP function: tracing starts once the instance's first response has been sent, so the
 * OpenTelemetry SDK (lazy chunks of the bundle, ~10 ms of CPU since issue 14 inlined it) loads after the
 * first request is answered instead of competing with it for the one thread (bench:cold-start: time to
 * the first answered request).
 * Requests answered before the SDK has loaded are not traced. `tracing` settles once it has started.
 */
export function tracingAfterFirstResponse<L extends Listener>(
  config: Config,
  fn: string,
  listener: L,
): { listener: L; tracing: Promise<void> } {
  let firstAnswered!: () => void;
  const answered = new Promise<void>((resolve) => {
    firstAnswered = resolve;
  });
  let waiting = true;
  const wrapped = ((req, res) => {
    if (waiting) {
      waiting = false;
      // 'close' also follows an aborted response; setImmediate lets the response's bytes leave first.
      res.once('close', () => setImmediate(firstAnswered));
    }
    return listener(req, res);
  }) as L;
  return { listener: wrapped, tracing: answered.then(() => startFunctionTracing(config, fn)) };
}
