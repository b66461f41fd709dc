/**
 * The scheduled maintenance step (a Cloud Scheduler job publishes `kind=maintenance` to the cycle
 * topic once a day): retention as PRODUCT.md sets it. On plain PostgreSQL the time-series tables
 * drop whole partitions; with Timescale their retention policies do it (added by the migration).
 *   metrics (aggregates, quality, district nights)   90 days
 *   predictions                     30 days
 *   run logs (runs, applied batches) 7 days
 *   anomalies                       until resolved + 30 days
 */

import type { Sql } from '../adapters/postgres/client.ts';
import { TIME_SERIES_TABLES } from '../adapters/postgres/migrations.ts';
import type { PartitionManager, TimeSeriesTable } from '../adapters/postgres/partitions.ts';
import type { Logger } from '../log.ts';

export const RETENTION_DAYS = {
  metrics: 90,
  predictions: 30,
  runLogs: 7,
  resolvedAnomalies: 30,
} as const;

const DAY_MS = 86_400_000;

export interface MaintenanceResult {
  droppedPartitions: string[];
  deleted: Record<string, number>;
}

export async function runMaintenance(
  deps: { sql: Sql; partitions: PartitionManager; logger: Logger },
  nowMs: number = Date.now(),
): Promise<MaintenanceResult> {
  const { sql } = deps;
  const droppedPartitions: string[] = [];
  for (const table of Object.keys(TIME_SERIES_TABLES) as TimeSeriesTable[]) {
    droppedPartitions.push(
      ...(await deps.partitions.dropOlderThan(table, nowMs - RETENTION_DAYS.metrics * DAY_MS)),
    );
  }
  const before = (days: number) => new Date(nowMs - days * DAY_MS);
  const deleted: Record<string, number> = {};
  const count = async (name: string, q: Promise<{ count: number }>) => {
    deleted[name] = (await q).count;
  };
  await count('quality_5m', sql`delete from quality_5m where bucket < ${before(RETENTION_DAYS.metrics)}`);
  await count('quality_1h', sql`delete from quality_1h where bucket < ${before(RETENTION_DAYS.metrics)}`);
  await count('quality_1d', sql`delete from quality_1d where bucket < ${before(RETENTION_DAYS.metrics)}`);
  await count(
    'district_nights',
    sql`delete from district_nights where end_at < ${before(RETENTION_DAYS.metrics)}`,
  );
  await count(
    'predictions',
    sql`delete from predictions where issued_at < ${before(RETENTION_DAYS.predictions)}`,
  );
  await count(
    'model_performance',
    sql`delete from model_performance where evaluated_at < ${before(RETENTION_DAYS.metrics)}`,
  );
  await count('runs', sql`delete from runs where started_at < ${before(RETENTION_DAYS.runLogs)}`);
  await count(
    'applied_batches',
    sql`delete from applied_batches where applied_at < ${before(RETENTION_DAYS.runLogs)}`,
  );
  await count(
    'anomalies',
    sql`delete from anomalies where status = 'resolved' and resolved_at < ${before(RETENTION_DAYS.resolvedAnomalies)}`,
  );
  deps.logger.info('maintenance finished', { event: 'maintenance.finished', droppedPartitions, deleted });
  return { droppedPartitions, deleted };
}
