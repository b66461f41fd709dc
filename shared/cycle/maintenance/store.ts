/** What the maintenance step needs of storage (its port; PostgreSQL implements it in `adapters/postgres/cycle-stores.ts`). */

/** Rows older than these instants go (ms since the epoch). */
export interface RetentionCutoffs {
  metricsBeforeMs: number;
  predictionsBeforeMs: number;
  runLogsBeforeMs: number;
  resolvedAnomaliesBeforeMs: number;
  /** The anomaly event log (how far back a stream can resume). */
  anomalyEventsBeforeMs: number;
  /** Finished webhook deliveries (delivered or dead) and their attempts. */
  webhookDeliveriesBeforeMs: number;

  /** KPI reports whose period started before it. */
  reportsBeforeMs?: number;
}

export interface MaintenanceStore {
  /** Drops the time-series tables' partitions wholly older than `beforeMs`; resolves with their names. */
  dropPartitionsOlderThan(beforeMs: number): Promise<string[]>;
  /** Deletes what retention lets go, table by table; resolves with the rows deleted per table. */
  purge(cutoffs: RetentionCutoffs): Promise<Record<string, number>>;
}
