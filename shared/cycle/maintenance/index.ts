/**
 * The scheduled maintenance step (a Cloud Scheduler job publishes `kind=maintenance` to the cycle
 * topic once a day): retention as PRODUCT.md sets it. On plain PostgreSQL the time-series tables
 * drop whole partitions; with Timescale their retention policies do it (added by the migration).
 *   metrics (aggregates, quality, district nights)   90 days
 *   predictions                     30 days
 *   run logs (runs, applied batches) 7 days
 *   anomalies                       until resolved + 30 days
 *   KPI reports                     400 days (a year of daily reports to compare with)
 */

import { EVENT_RETENTION_DAYS } from '../../anomaly/events.ts';
import type { Logger } from '../../log.ts';
import type { MaintenanceStore } from './store.ts';

export const RETENTION_DAYS = {
  metrics: 90,
  predictions: 30,
  runLogs: 7,
  resolvedAnomalies: 30,
  reports: 400,
} as const;

const DAY_MS = 86_400_000;

/** Finished webhook deliveries stay in the log an admin reads this long. */
const WEBHOOK_LOG_RETENTION_DAYS = 30;

export interface MaintenanceResult {
  droppedPartitions: string[];
  deleted: Record<string, number>;
}

export async function runMaintenance(
  deps: { stores: { maintenance: MaintenanceStore }; logger: Logger },
  nowMs: number = Date.now(),
): Promise<MaintenanceResult> {
  const store = deps.stores.maintenance;
  const before = (days: number) => nowMs - days * DAY_MS;
  const droppedPartitions = await store.dropPartitionsOlderThan(before(RETENTION_DAYS.metrics));
  const deleted = await store.purge({
    metricsBeforeMs: before(RETENTION_DAYS.metrics),
    predictionsBeforeMs: before(RETENTION_DAYS.predictions),
    runLogsBeforeMs: before(RETENTION_DAYS.runLogs),
    resolvedAnomaliesBeforeMs: before(RETENTION_DAYS.resolvedAnomalies),
    anomalyEventsBeforeMs: before(EVENT_RETENTION_DAYS),
    webhookDeliveriesBeforeMs: before(WEBHOOK_LOG_RETENTION_DAYS),

    reportsBeforeMs: before(RETENTION_DAYS.reports),
  });
  deps.logger.info('maintenance finished', { event: 'maintenance.finished', droppedPartitions, deleted });
  return { droppedPartitions, deleted };
}
