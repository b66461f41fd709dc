/**
 * Tracing for a function, from configuration (TRACING=cloud|off), started at import. Off loads nothing
 * of OpenTelemetry (shared/telemetry/tracing.ts). A tracing that cannot start is logged and the function
 * runs without spans: observability never takes the function down.
 */
import type { Config } from '../config.ts';
import { createLogger } from '../log.ts';
import { startTracing } from '../telemetry/tracing.ts';

export function startFunctionTracing(config: Config, fn: string): Promise<void> {
  return startTracing({
    mode: config.TRACING,
    projectId: config.GOOGLE_CLOUD_PROJECT,
    serviceName: fn,
  }).catch((err: unknown) => {
    createLogger({ level: config.LOG_LEVEL, base: { function: fn } }).error(
      'tracing could not start; running without spans',
      { event: 'tracing.failed', err },
    );
  });
}
