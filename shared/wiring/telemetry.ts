/**
 * Tracing for a function, from configuration (TRACING=cloud|off): started at import, awaited before the
 * first request or event is handled. Off loads nothing of OpenTelemetry (shared/telemetry/tracing.ts).
 */
import type { Config } from '../config.ts';
import { startTracing } from '../telemetry/tracing.ts';

export function startFunctionTracing(config: Config, fn: string): Promise<void> {
  return startTracing({ mode: config.TRACING, projectId: config.GOOGLE_CLOUD_PROJECT, serviceName: fn });
}
