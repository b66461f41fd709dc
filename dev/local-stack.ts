/**
 * Every function in one process: the dispatcher, the aggregator (subscribed to the embedded bus,
 * receiving the same CloudEvents Pub/Sub would deliver) and the API — sharing one storage and one
 * set of embedded adapters. Used by `npm start`, the CLI and the benchmarks.
 */

import { createHash } from 'node:crypto';
import { MemoryBus } from '../shared/adapters/bus/memory.ts';
import { type LiveChannel, MemoryLiveChannel, UpstashLiveChannel } from '../shared/adapters/cache/live.ts';
import { MemoryCache } from '../shared/adapters/cache/memory.ts';
import { MemoryCoordinator } from '../shared/adapters/coordination/memory.ts';
import { MemoryModelRegistry, type ModelRegistry } from '../shared/adapters/coordination/model-registry.ts';
import { postgresApiStores } from '../shared/adapters/postgres/api-stores.ts';
import { postgresWebhookWorkerStore } from '../shared/adapters/postgres/webhooks.ts';
import type { ApiDeps } from '../shared/api/context.ts';
import type { Config } from '../shared/config.ts';
import type { AggregatorDeps, DispatcherDeps } from '../shared/cycle/deps.ts';
import { type DispatchResult, dispatchCycle } from '../shared/cycle/dispatch/index.ts';
import { handleAggregatorEvent } from '../shared/cycle/handlers.ts';
import type { Logger } from '../shared/log.ts';
import { LocalReadingSink, withPushedReadings } from '../shared/sources/pushed.ts';
import type { ReadingSource } from '../shared/sources/source.ts';
import { SecretBox } from '../shared/webhooks/secrets.ts';
import { parseAllowHosts } from '../shared/webhooks/targets.ts';
import { fanoutMessage, handleWebhookEvent, type WebhookWorkerDeps } from '../shared/webhooks/worker.ts';
import {
  baseLogger,
  createBus,
  createCache,
  createCoordinator,
  createModelRegistry,
  createSource,
  cycleSettings,
  openStorage,
  type Storage,
} from '../shared/wiring/cycle.ts';

export interface LocalStack {
  config: Config;
  storage: Storage;
  dispatcher: DispatcherDeps;
  aggregator: AggregatorDeps;
  api: ApiDeps;
  /** The webhook delivery worker (subscribed to the webhook topic of the embedded bus). */
  webhooks: WebhookWorkerDeps;
  /** Wakes anomaly streams: Redis pub/sub with Upstash configured, else this stack's own. */
  live: LiveChannel;
  /** What Cloud Scheduler does every minute: a webhook fan-out (replays, operators' transitions). */
  tickWebhooks(): Promise<void>;
  /** Runs one cycle ending at `nowMs` and waits until every message (and the fan-in) is handled. */
  cycle(nowMs: number, initialWatermarkMs?: number): Promise<DispatchResult>;
  close(): Promise<void>;
}

export interface LocalStackOptions {
  /** Readings from this source instead of the configured one (tests: a simulator with its own options). */
  source?: ReadingSource;
  /** Messages the embedded bus delivers at once (default 8; 1 measures one node's work alone). */
  busConcurrency?: number;
  /** The forecast model registry (default: a new in-process one, or Firestore when configured). */
  models?: ModelRegistry;
  /** The ingestion clock of readings pushed through the API (default Date.now; a simulated clock in tests). */
  ingestClock?: () => number;
}

export async function createLocalStack(
  config: Config,
  logger?: Logger,
  options: LocalStackOptions = {},
): Promise<LocalStack> {
  const storage = await openStorage(config);
  const settings = cycleSettings(config);
  const log = logger ?? baseLogger(config, 'local');
  // A stack owns its embedded parts (not the process-wide singletons), so tests can run several.
  const bus =
    config.busBackend === 'memory'
      ? new MemoryBus({
          logger: log,
          ...(options.busConcurrency ? { concurrency: options.busConcurrency } : {}),
        })
      : await createBus(config);
  const coordinator =
    config.coordinationBackend === 'memory' ? new MemoryCoordinator() : await createCoordinator(config);
  const cache = config.upstash ? await createCache(config) : new MemoryCache();
  const pushed = new LocalReadingSink(options.ingestClock ? { now: options.ingestClock } : {});

  const live: LiveChannel = config.upstash
    ? new UpstashLiveChannel({ ...config.upstash, prefix: config.REDIS_KEY_PREFIX, logger: log })
    : new MemoryLiveChannel();
  const dispatcher: DispatcherDeps = {
    ...storage,
    // Readings pushed through POST /readings join the source's own in the cycle's one read.
    source: withPushedReadings(options.source ?? (await createSource(config, storage.sql)), pushed),
    bus,
    coordinator,
    logger: log.child({ function: 'dispatcher' }),
    settings,
  };
  const aggregator: AggregatorDeps = {
    ...storage,
    cache,
    bus,
    coordinator,
    logger: log.child({ function: 'aggregator' }),
    settings,
    announceEvents: async (tenantId) => {
      await Promise.all([
        live.notify(tenantId),
        bus.publish(config.TOPIC_WEBHOOK_DELIVERIES, [fanoutMessage()]),
      ]);
    },
    models:
      options.models ??
      (config.coordinationBackend === 'memory'
        ? new MemoryModelRegistry()
        : await createModelRegistry(config, coordinator)),
  };
  // Local runs only: without WEBHOOK_SECRET_KEY, secrets are sealed under a fixed development key.
  const box = new SecretBox(
    config.WEBHOOK_SECRET_KEY ?? createHash('sha256').update('wnm local development only').digest('base64'),
  );
  const policy = { allowHosts: parseAllowHosts(config.WEBHOOK_ALLOW_HOSTS) };
  const webhooks: WebhookWorkerDeps = {
    store: postgresWebhookWorkerStore(storage.sql),
    bus,
    box,
    policy,
    topic: config.TOPIC_WEBHOOK_DELIVERIES,
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    logger: log.child({ function: 'webhooks' }),
  };
  const api: ApiDeps = {
    stores: postgresApiStores(storage.sql),
    cache,
    logger: log.child({ function: 'api' }),
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
    defaultTenantId: config.TENANT_ID,
    readingSink: pushed,

    live,
    webhooks: { box, policy },
    consoleTiles: config.consoleTiles,
  };
  if (bus.name !== 'memory') {
    throw new Error('the local stack delivers messages in-process; unset PUBSUB_EMULATOR_HOST/BUS_BACKEND');
  }
  const memoryBus = bus as MemoryBus;
  const deliver = (event: Parameters<typeof handleAggregatorEvent>[1]) =>
    handleAggregatorEvent(aggregator, event);
  const delivery = { maxAttempts: config.MAX_DELIVERY_ATTEMPTS, deadLetterTopic: settings.topics.deadLetter };
  memoryBus.subscribe(settings.topics.nodeWork, deliver, delivery);
  memoryBus.subscribe(settings.topics.networkRollup, deliver, delivery);
  memoryBus.subscribe(settings.topics.deadLetter, deliver, { maxAttempts: 1 });
  // The worker dead-letters a delivery itself after WEBHOOK_MAX_ATTEMPTS; the bus's limit is a safety net.
  memoryBus.subscribe(config.TOPIC_WEBHOOK_DELIVERIES, (event) => handleWebhookEvent(webhooks, event), {
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS + 2,
  });

  return {
    config,
    storage,
    dispatcher,
    aggregator,
    api,
    webhooks,
    live,
    async tickWebhooks() {
      await bus.publish(config.TOPIC_WEBHOOK_DELIVERIES, [fanoutMessage()]);
    },
    async cycle(nowMs, initialWatermarkMs) {
      const result = await dispatchCycle(dispatcher, { nowMs, initialWatermarkMs });
      await memoryBus.drain();
      return result;
    },
    async close() {
      await memoryBus.close();
      await coordinator.close();
      await storage.sql.end({ timeout: 5 });
    },
  };
}
