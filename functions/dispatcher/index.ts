/**
 * The dispatcher: Cloud Scheduler publishes to the cycle topic every 30 minutes; each message opens
 * a run and fans out one message per node. Thin: decode, delegate to shared/cycle.
 */
import * as ff from '@google-cloud/functions-framework';
import type { PubSubCloudEvent } from '../../shared/adapters/bus/bus.ts';
import { loadConfig } from '../../shared/config.ts';
import { handleDispatcherEvent } from '../../shared/cycle/handlers.ts';
import { once } from '../../shared/once.ts';
import { dispatcherDeps } from '../../shared/wiring/cycle.ts';

// Parsed at cold start: a bad variable fails the deployment's first request with its name.
const config = loadConfig();
const deps = once(() => dispatcherDeps(config));

export async function dispatcher(event: PubSubCloudEvent): Promise<void> {
  await handleDispatcherEvent(await deps(), event);
}

ff.cloudEvent('dispatcher', (event: ff.CloudEvent<unknown>) => dispatcher(event as PubSubCloudEvent));
