/**
 * The per-node aggregator: one CloudEvent per node message (node-work topic), plus the fan-in's
 * network-rollup messages and dead letters. Throwing makes Pub/Sub redeliver; returning acks.
 * Each message is handled in a span, child of the trace context it carries.
 */
import * as ff from '@google-cloud/functions-framework';
import type { PubSubCloudEvent } from '../../shared/adapters/bus/bus.ts';
import { inMessageSpan } from '../../shared/adapters/bus/trace.ts';
import { loadConfig } from '../../shared/config.ts';
import { handleAggregatorEvent } from '../../shared/cycle/handlers.ts';
import { once } from '../../shared/once.ts';
import { withoutRequestDomains } from '../../shared/request-domains.ts';
import { aggregatorDeps } from '../../shared/wiring/cycle.ts';
import { startFunctionTracing } from '../../shared/wiring/telemetry.ts';

// No per-request Domain, so no async hook on every promise of the process: see shared/request-domains.ts.
withoutRequestDomains();
const config = loadConfig();
export const tracing = startFunctionTracing(config, 'aggregator');
const deps = once(() => aggregatorDeps(config));

export async function aggregator(event: PubSubCloudEvent): Promise<void> {
  await tracing;
  await inMessageSpan('aggregator', event, async () => handleAggregatorEvent(await deps(), event));
}

ff.cloudEvent('aggregator', (event: ff.CloudEvent<unknown>) => aggregator(event as PubSubCloudEvent));
