/**
 * The per-node aggregator: one CloudEvent per node message (node-work topic), plus the fan-in's
 * network-rollup messages and dead letters. Throwing makes Pub/Sub redeliver; returning acks.
 */
import * as ff from '@google-cloud/functions-framework';
import type { PubSubCloudEvent } from '../../shared/adapters/bus/bus.ts';
import { loadConfig } from '../../shared/config.ts';
import { handleAggregatorEvent } from '../../shared/cycle/handlers.ts';
import { once } from '../../shared/once.ts';
import { outsideDomain } from '../../shared/outside-domain.ts';
import { aggregatorDeps } from '../../shared/wiring/cycle.ts';

const config = loadConfig();
const deps = once(() => aggregatorDeps(config));

export async function aggregator(event: PubSubCloudEvent): Promise<void> {
  await handleAggregatorEvent(await deps(), event);
}

// Outside the framework's per-request domain: see shared/outside-domain.ts.
ff.cloudEvent('aggregator', (event: ff.CloudEvent<unknown>) =>
  outsideDomain(() => aggregator(event as PubSubCloudEvent)),
);
