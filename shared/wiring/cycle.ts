/**
 * Builds each function's dependencies from configuration, once per instance. Clients of outside
 * systems are imported lazily, so a function only loads what its configuration uses (the API never
 * loads the BigQuery or Pub/Sub clients).
 */
import type { Bus } from '../adapters/bus/bus.ts';
import { MemoryBus } from '../adapters/bus/memory.ts';
import { createCache } from '../adapters/cache/factory.ts';
import { createLiveChannel } from '../adapters/cache/live.ts';
import type { Coordinator } from '../adapters/coordination/coordinator.ts';
import { MemoryCoordinator } from '../adapters/coordination/memory.ts';
import {
  FirestoreModelRegistry,
  MemoryModelRegistry,
  type ModelRegistry,
} from '../adapters/coordination/model-registry.ts';
import { connect, type Sql } from '../adapters/postgres/client.ts';
import { postgresCycleStores } from '../adapters/postgres/cycle-stores.ts';
import { migrate } from '../adapters/postgres/migrations.ts';
import { PartitionManager } from '../adapters/postgres/partitions.ts';
import { requireMigrated } from '../adapters/postgres/schema-state.ts';
import { type Config, loadConfig, requireDatabaseUrl } from '../config.ts';
import type { AggregatorDeps, CycleSettings, CycleStores, DispatcherDeps } from '../cycle/deps.ts';
import { configureHolidays } from '../cycle/forecasting/forecast-refresh.ts';
import { createLogger, type Logger } from '../log.ts';
import type { ReadingSource } from '../sources/source.ts';
import { fanoutMessage } from '../webhooks/worker.ts';

export function cycleSettings(config: Config): CycleSettings {
  // The process's calendars (forecasts, patterns) take the configured holidays; a bad list fails here, at start.
  configureHolidays(config.HOLIDAYS);
  return {
    tenantId: config.TENANT_ID,
    cycleMs: config.CYCLE_MINUTES * 60_000,
    latenessHorizonMs: config.LATENESS_HORIZON_HOURS * 3_600_000,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    nodesPerMessage: config.NODES_PER_MESSAGE,
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
    analytics: config.ANALYTICS_ENABLED,
    topics: {
      nodeWork: config.TOPIC_NODE_WORK,
      networkRollup: config.TOPIC_NETWORK_ROLLUP,
      deadLetter: config.TOPIC_DEAD_LETTER,
    },
  };
}

/**
 * In-process singletons shared by every function running in this process (the local mode runs
 * them all in one process, so the embedded bus, cache and coordinator must be the same objects).
 */
const embedded: {
  bus?: MemoryBus;
  coordinator?: MemoryCoordinator;
  models?: MemoryModelRegistry;
} = {};
export const embeddedBus = (): MemoryBus => {
  embedded.bus ??= new MemoryBus();
  return embedded.bus;
};
export const embeddedCoordinator = (): MemoryCoordinator => {
  embedded.coordinator ??= new MemoryCoordinator();
  return embedded.coordinator;
};

export const embeddedModelRegistry = (): MemoryModelRegistry => {
  embedded.models ??= new MemoryModelRegistry();
  return embedded.models;
};

/** The forecast model registry: in Firestore wherever coordination is (sharing its client), else in-process. */
export async function createModelRegistry(config: Config, coordinator?: Coordinator): Promise<ModelRegistry> {
  if (config.coordinationBackend === 'memory') return embeddedModelRegistry();
  const { FirestoreCoordinator } = await import('../adapters/coordination/firestore.ts');
  const db =
    coordinator instanceof FirestoreCoordinator
      ? coordinator.db
      : new FirestoreCoordinator({
          projectId: config.GOOGLE_CLOUD_PROJECT,
          databaseId: config.FIRESTORE_DATABASE,
        }).db;
  return new FirestoreModelRegistry({ db });
}

export { createCache, embeddedCache } from '../adapters/cache/factory.ts';

export async function createBus(config: Config): Promise<Bus> {
  if (config.busBackend === 'memory') return embeddedBus();
  const { PubSubBus } = await import('../adapters/bus/pubsub.ts');
  return new PubSubBus({ projectId: config.GOOGLE_CLOUD_PROJECT });
}

export async function createCoordinator(config: Config): Promise<Coordinator> {
  if (config.coordinationBackend === 'memory') return embeddedCoordinator();
  const { FirestoreCoordinator } = await import('../adapters/coordination/firestore.ts');
  return new FirestoreCoordinator({
    projectId: config.GOOGLE_CLOUD_PROJECT,
    databaseId: config.FIRESTORE_DATABASE,
  });
}

export async function createSource(config: Config, sql: Sql): Promise<ReadingSource> {
  const s = config.readingsSource;
  if (s.kind === 'csv') {
    const { openCsvSource } = await import('../sources/csv.ts');
    return openCsvSource(s.path, { tenantId: config.TENANT_ID });
  }
  if (s.kind === 'bigquery') {
    const { createBigQuerySource } = await import('../sources/bigquery.ts');
    const { loadNetwork } = await import('../adapters/postgres/registry.ts');
    return createBigQuerySource({
      projectId: config.GOOGLE_CLOUD_PROJECT ?? '',
      dataset: config.BIGQUERY_DATASET!,
      table: config.BIGQUERY_TABLE,
      location: config.BIGQUERY_LOCATION,
      apiEndpoint: config.BIGQUERY_API_ENDPOINT,
      registry: () => loadNetwork(sql, config.TENANT_ID),
    });
  }
  const { createSimulatorSource } = await import('../simulator/index.ts');
  return createSimulatorSource({
    seed: config.SIMULATOR_SEED,
    nodes: config.SIMULATOR_NODES,
    tenantId: config.TENANT_ID,
  });
}

export interface Storage {
  sql: Sql;
  partitions: PartitionManager;
  /** The cycle's ports on this PostgreSQL (the steps see only these). */
  stores: CycleStores;
}

/** The cycle's stores on a PostgreSQL client (assigned to the ports: checked structurally). */
export function cycleStores(sql: Sql, partitions: PartitionManager): CycleStores {
  return postgresCycleStores(sql, partitions);
}

/**
 * Connects, migrates (idempotent, serialised by an advisory lock) and prepares partitions. With
 * MIGRATE_ON_START=false (the cloud) it only checks the schema is current and fails otherwise: the
 * migrate job runs before a new revision takes traffic, so a schema change never lands at a cold start.
 */
export async function openStorage(config: Config): Promise<Storage> {
  const sql = connect(requireDatabaseUrl(config), {
    max: config.PG_POOL_MAX,
    idleTimeoutSeconds: config.PG_IDLE_TIMEOUT_SECONDS,
    maxLifetimeSeconds: config.PG_MAX_LIFETIME_SECONDS,
    caCert: config.DATABASE_CA_CERT,
    // A node batch's statements are issued together: one system call for them (see poolSockets).
    coalesceWrites: true,
  });
  const { timescale } = await (config.MIGRATE_ON_START ? migrate(sql) : requireMigrated(sql)).catch(
    async (err: unknown) => {
      await sql.end({ timeout: 1 });
      throw err;
    },
  );
  const partitions = new PartitionManager(sql, timescale);
  return { sql, partitions, stores: cycleStores(sql, partitions) };
}

export function baseLogger(config: Config, fn: string): Logger {
  return createLogger({ level: config.LOG_LEVEL, base: { function: fn } });
}

/** The dispatcher's deps, with the storage they were built from (its owner closes the pool). */
export async function dispatcherDeps(config: Config = loadConfig()): Promise<DispatcherDeps & Storage> {
  const storage = await openStorage(config);
  return {
    ...storage,
    source: await createSource(config, storage.sql),
    bus: await createBus(config),
    coordinator: await createCoordinator(config),
    logger: baseLogger(config, 'dispatcher'),
    settings: cycleSettings(config),
  };
}

export async function aggregatorDeps(config: Config = loadConfig()): Promise<AggregatorDeps & Storage> {
  const storage = await openStorage(config);
  const coordinator = await createCoordinator(config);
  const bus = await createBus(config);
  const logger = baseLogger(config, 'aggregator');
  const live = createLiveChannel(config.upstash, config.REDIS_KEY_PREFIX, logger);
  return {
    ...storage,
    cache: await createCache(config),
    bus,
    announceEvents: async (tenantId) => {
      await Promise.all([
        live.notify(tenantId),
        bus.publish(config.TOPIC_WEBHOOK_DELIVERIES, [fanoutMessage()]),
      ]);
    },
    coordinator,
    logger,
    settings: cycleSettings(config),
    models: await createModelRegistry(config, coordinator),
  };
}

export { once } from '../once.ts';
