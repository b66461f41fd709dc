/**
 * The dispatcher: Cloud Scheduler publishes to the cycle topic every 30 minutes; each message opens
 * a run and fans out one message per node. Thin: decode, delegate to shared/cycle. The cycle's trace
 * starts here (the node messages carry it on).
 */
import * as ff from '@google-cloud/functions-framework';
import type { PubSubCloudEvent } from '../../shared/adapters/bus/bus.ts';
import { inMessageSpan } from '../../shared/adapters/bus/trace.ts';
import { loadConfig } from '../../shared/config.ts';
import { handleDispatcherEvent } from '../../shared/cycle/handlers.ts';
import { once } from '../../shared/once.ts';
import { dispatcherDeps } from '../../shared/wiring/cycle.ts';
import { startFunctionTracing } from '../../shared/wiring/telemetry.ts';

// Parsed at cold start: a bad variable fails the deployment's first request with its name.
const config = loadConfig();
export const tracing = startFunctionTracing(config, 'dispatcher');
const deps = once(() => dispatcherDeps(config));

export async function dispatcher(event: PubSubCloudEvent): Promise<void> {
  await tracing;
  await inMessageSpan('dispatcher', event, async () => handleDispatcherEvent(await deps(), event));
}

ff.cloudEvent('dispatcher', (event: ff.CloudEvent<unknown>) => dispatcher(event as PubSubCloudEvent));
