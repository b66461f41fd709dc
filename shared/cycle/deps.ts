/** What the cycle's steps need from the outside world, passed in (never imported) so they stay testable. */
import type { Bus } from '../adapters/bus/bus.ts';
import type { HotCache } from '../adapters/cache/cache.ts';
import type { Coordinator } from '../adapters/coordination/coordinator.ts';
import type { ModelRegistry } from '../adapters/coordination/model-registry.ts';
import type { Logger } from '../log.ts';
import type { ReadingSource } from '../sources/source.ts';
import type { AggregateStore } from './aggregate/store.ts';
import type { BackfillStore } from './backfill/store.ts';
import type { DispatchStore } from './dispatch/store.ts';
import type { ForecastStore } from './forecasting/store.ts';
import type { MaintenanceStore } from './maintenance/store.ts';
import type { RollupStore } from './rollup/store.ts';

export interface CycleSettings {
  tenantId: string;
  cycleMs: number;
  latenessHorizonMs: number;
  maxMessageBytes: number;
  /** Node batches per work message (NODES_PER_MESSAGE; absent: 1, the single-node message). */
  nodesPerMessage?: number;
  cacheTtlSeconds: number;
  /** Data quality, anomalies, forecasts and water balance inside the cycle (ANALYTICS_ENABLED). */
  analytics: boolean;
  topics: { nodeWork: string; networkRollup: string; deadLetter: string };
}

/** Storage, one port per step (each declared by the step that uses it, in its `store.ts`). */
export interface CycleStores {
  dispatch: DispatchStore;
  aggregate: AggregateStore;
  forecasts: ForecastStore;
  rollup: RollupStore;
  backfill: BackfillStore;
  maintenance: MaintenanceStore;
}

export interface StorageDeps {
  stores: CycleStores;
}

export interface DispatcherDeps extends StorageDeps {
  source: ReadingSource;
  bus: Bus;
  coordinator: Coordinator;
  logger: Logger;
  settings: CycleSettings;
}

export interface AggregatorDeps extends StorageDeps {
  cache: HotCache;
  bus: Bus;
  coordinator: Coordinator;
  logger: Logger;
  settings: CycleSettings;
  /** The forecast model registry; an in-process one when absent. */
  models?: ModelRegistry;
  /**
   * Announces that a tenant's anomaly log has new events (wakes the API's streams, starts a webhook
   * fan-out). Best effort: streams poll and the fan-out also runs every minute.
   */
  announceEvents?: (tenantId: string) => Promise<void>;
}
