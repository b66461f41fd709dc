/**
 * The cycle's stores on PostgreSQL: each method binds one owner module's statement to a client (the
 * pool, or a transaction inside a unit of work). The cycle declares what it needs (the `store.ts` of
 * each step under `shared/cycle/`); `shared/wiring/cycle.ts` assigns this object to those ports, which
 * checks conformance structurally. Nothing here awaits what the caller did not: statements issued
 * together inside a transaction still pipeline on its connection, as postgres.js does.
 */

import { anomalyPayload } from '../../anomaly/listed.ts';
import type { NodeStateSpec } from '../../cycle/aggregate/store.ts';
import type { CopyTarget } from '../../cycle/backfill/store.ts';
import type { RetentionCutoffs } from '../../cycle/maintenance/store.ts';
import type { PartialRow } from '../../domain/aggregate.ts';
import {
  mergePartials,
  mergePartialsPart,
  readBatchBuckets,
  readManyBatchBuckets,
  upsertPartials,
} from './aggregates.ts';
import {
  countActive,
  purgeDistrictNights,
  purgeResolvedAnomalies,
  readDetectorHistory,
  readDistrictAnomalies,
  readNights,
  recentAnomalies,
  writeLocations,
  writeNights,
  writeTransitions,
} from './anomalies.ts';
import { purgeAnomalyEvents } from './anomaly-events.ts';
import { nodesWriteCollector, type WritePart, writeCollector } from './batch-write.ts';
import {
  lockNodes,
  readLatestMany,
  readPartials,
  readStoredKeys,
  readWatermarks,
  recordBatches,
  writeLatestMany,
  writeWatermarks,
} from './bulk.ts';
import type { Sql, TransactionSql } from './client.ts';
import { coalescer } from './coalesce.ts';
import { copyPartials, copyTarget, PartialCopyEncoder } from './copy.ts';
import {
  latestEfficiencyLabel,
  readBilled,
  readEfficiency,
  readHourlyMetrics,
  touchedSpans,
  writeEfficiency,
} from './efficiency.ts';
import { readLeakSensitivity } from './leak-sensitivity.ts';
import { TIME_SERIES_TABLES } from './migrations.ts';
import { readNodeState, readNodeStates } from './node-state.ts';
import type { PartitionManager, TimeSeriesTable } from './partitions.ts';
import { readPatternFlows, readPatternsDay, writePatterns } from './patterns.ts';
import {
  latestIssues,
  loadModel,
  purgeModelPerformance,
  purgePredictions,
  readHourly,
  readPrediction,
  saveModels,
  writePerformance,
  writePredictions,
} from './predictions.ts';
import { purgeQuality, readNodeQuality, readTenantQuality, writeQualityStatePart } from './quality.ts';
import {
  countNodesByKind,
  districtMeters,
  ensureWatermarks,
  loadNetwork,
  lockNodeForBatch,
  lockNodesForBatch,
  readDistrictTimezone,
  readWatermark,
  upsertNetwork,
  writeWatermarkPart,
} from './registry.ts';
import { existingReports, periodFigures, purgeReports, writeReports } from './reports.ts';
import {
  closeOpenRun,
  finishRun,
  getRun,
  insertRun,
  openRunsBefore,
  purgeAppliedBatches,
  purgeRuns,
  recentRuns,
  recordAppliedBatchPart,
  unappliedNodes,
} from './runs.ts';
import {
  readEvaluatedMs,
  readLatest,
  readWindowFigures,
  writeEvaluatedMs,
  writeLatestPart,
  writeManyWindows,
  writeSnapshot,
  writeWindows,
} from './serving.ts';
import {
  deleteAllViewStates,
  deleteViewStates,
  readManyNodeViewInputs,
  readNodeViewInputs,
  readViewStateDay,
  rebuildViewState,
  type ViewBounds,
} from './view-state.ts';
import { purgeFinishedDeliveries } from './webhooks.ts';

type Db = Sql | TransactionSql;
const AGGREGATE_TABLES = ['agg_5m', 'agg_1h', 'agg_1d'] as const;
/** The district detectors' progress, kept as a network snapshot. */
const DISTRICT_ANOMALIES_STATE = 'analytics:district-anomalies';

/**
 * A node batch's statements, bound to its transaction. Its writes (partials, latest values, watermark,
 * the batch's record, quality and scores) issued in one turn go as ONE statement (batch-write.ts): the
 * aggregate step issues them together, so a batch pays one statement's fixed cost for them, not six.
 */
function nodeBatchTx(tx: TransactionSql, nodeId: string, shared?: ReturnType<typeof coalescedStatements>) {
  const write = shared ? shared.write : writeCollector(tx);
  const written = (part: WritePart | null) => (part ? write(part) : Promise.resolve());
  return {
    readWatermark: () => readWatermark(tx, nodeId),
    readNodeState: (spec: NodeStateSpec) => (shared ? shared.nodeState(spec) : readNodeState(tx, spec)),
    readTimezone: (districtId: string) => readDistrictTimezone(tx, districtId),
    readBatchBuckets: (bucketsMs: BatchBucketsMs) =>
      shared ? shared.batchBuckets({ nodeId, bucketsMs }) : readBatchBuckets(tx, nodeId, bucketsMs),
    mergePartials: (table: TimeSeriesTable, delta: PartialRow[], stored?: PartialRow[]) =>
      stored
        ? written(mergePartialsPart(table, delta, stored))
        : mergePartials(tx, table, nodeId, delta, stored),
    readLatest: () => readLatest(tx, nodeId),
    readViewStateDay: () => readViewStateDay(tx, nodeId),
    rebuildViewState: (latestMs: number) => rebuildViewState(tx, nodeId, latestMs),
    writeLatest: (tsMs: number, body: Parameters<typeof writeLatestPart>[2]) =>
      written(writeLatestPart(nodeId, tsMs, body)),
    writeWatermark: (toMs: number) => written(writeWatermarkPart(nodeId, toMs)),
    recordBatch: (batch: Omit<Parameters<typeof recordAppliedBatchPart>[0], 'nodeId'>) =>
      written(recordAppliedBatchPart({ ...batch, nodeId })),
    writeQualityState: (
      changed: Parameters<typeof writeQualityStatePart>[1],
      scores: Parameters<typeof writeQualityStatePart>[2],
      watermarkMs: number,
    ) => written(writeQualityStatePart(nodeId, changed, scores, watermarkMs)),
    writeTransitions: (
      transitions: Parameters<typeof writeTransitions>[2],
      previous: Parameters<typeof writeTransitions>[3],
    ) => writeTransitions(tx, 'node', transitions, previous),
  };
}

type BatchBucketsMs = Parameters<typeof readBatchBuckets>[2];

/**
 * The statements of a multi-node transaction's nodes, coalesced (coalesce.ts): the nodes' node-state
 * reads issued in one turn go as ONE statement, so do their bucket reads, and their combined writes
 * one statement with each kind merged (batch-write.ts). A failure fails every node of it (the
 * transaction is aborted anyway; the aggregate step then applies them one transaction each).
 */
function coalescedStatements(tx: TransactionSql) {
  return {
    write: nodesWriteCollector(tx),
    nodeState: coalescer((specs: NodeStateSpec[]) => readNodeStates(tx, specs)),
    batchBuckets: coalescer((reads: { nodeId: string; bucketsMs: BatchBucketsMs }[]) =>
      readManyBatchBuckets(tx, reads),
    ),
  };
}

/** A backfill chunk's statements, bound to its transaction. */
function backfillTx(tx: TransactionSql) {
  return {
    readWatermarks: (nodeIds: readonly string[]) => readWatermarks(tx, nodeIds),
    readStoredKeys: (table: TimeSeriesTable, nodeIds: readonly string[], fromMs: number, toMs: number) =>
      readStoredKeys(tx, table, nodeIds, fromMs, toMs),
    readPartials: (table: TimeSeriesTable, keys: Parameters<typeof readPartials>[2]) =>
      readPartials(tx, table, keys),
    copyPartials: (target: CopyTarget, chunks: Iterable<Uint8Array>, format: 'binary' | 'text') =>
      copyPartials(tx, target.name, chunks, format),
    upsertPartials: (table: TimeSeriesTable, rows: Parameters<typeof upsertPartials>[2]) =>
      upsertPartials(tx, table, rows),
    readLatestMany: (nodeIds: readonly string[]) => readLatestMany(tx, nodeIds),
    writeLatestMany: (rows: Parameters<typeof writeLatestMany>[1]) => writeLatestMany(tx, rows),
    writeWatermarks: (nodeIds: readonly string[], toMs: number) => writeWatermarks(tx, nodeIds, toMs),
    deleteViewStates: (nodeIds: readonly string[]) => deleteViewStates(tx, nodeIds),
    recordBatches: (runId: string, rows: Parameters<typeof recordBatches>[2]) =>
      recordBatches(tx, runId, rows),
  };
}

export function postgresForecastStore(sql: Db) {
  return {
    latestIssues: (targetIds: readonly string[]) => latestIssues(sql, targetIds),
    writePredictions: (rows: Parameters<typeof writePredictions>[1]) => writePredictions(sql, rows),
    readPrediction: (targetId: string, horizonStartMs: number) =>
      readPrediction(sql, targetId, horizonStartMs),
    saveModels: (rows: Parameters<typeof saveModels>[1]) => saveModels(sql, rows),
    loadModel: (targetId: string, modelId: string) => loadModel(sql, targetId, modelId),
    writePerformance: (rows: Parameters<typeof writePerformance>[1]) => writePerformance(sql, rows),
    readHourly: (nodeIds: readonly string[], metric: 'flow' | 'pressure', fromMs: number, toMs: number) =>
      readHourly(sql, nodeIds, metric, fromMs, toMs),
    readTimezone: (districtId: string) => readDistrictTimezone(sql, districtId),
  };
}

/** The water balance's reads and writes (the rollup's, and `scripts/billing.ts`'s). */
export function postgresEfficiencyStore(sql: Db) {
  return {
    districtMeters: (tenantId: string, districtIds?: readonly string[]) =>
      districtMeters(sql, tenantId, districtIds),
    readHourlyMetrics: (
      nodeIds: readonly string[],
      metrics: readonly number[],
      fromMs: number,
      toMs: number,
    ) => readHourlyMetrics(sql, nodeIds, metrics, fromMs, toMs),
    readBilled: (tenantId: string, districtIds: readonly string[], fromMs: number, toMs: number) =>
      readBilled(sql, tenantId, districtIds, fromMs, toMs),
    writeEfficiency: (rows: Parameters<typeof writeEfficiency>[1]) => writeEfficiency(sql, rows),
    readEfficiency: (
      tenantId: string,
      periodKind: 'day' | 'month',
      labels: { exact?: readonly string[]; prefix?: string },
    ) => readEfficiency(sql, tenantId, periodKind, labels),
  };
}

export function postgresCycleStores(sql: Sql, partitions: PartitionManager) {
  const dispatch = {
    upsertNetwork: (network: Parameters<typeof upsertNetwork>[1]) => upsertNetwork(sql, network),
    loadNetwork: (tenantId: string) => loadNetwork(sql, tenantId),
    ensureWatermarks: (tenantId: string, initialMs: number) => ensureWatermarks(sql, tenantId, initialMs),
    insertRun: (run: Parameters<typeof insertRun>[1]) => insertRun(sql, run),
    openRunsBefore: (tenantId: string, windowToMs: number) => openRunsBefore(sql, tenantId, windowToMs),
    unappliedNodes: (tenantId: string, runId: string) => unappliedNodes(sql, tenantId, runId),
    closeOpenRun: (runId: string, outcome: Parameters<typeof closeOpenRun>[2]) =>
      closeOpenRun(sql, runId, outcome),
  };
  // The views' refreshes issued in one turn (a message's nodes, and others'): their reads go as ONE
  // statement, so do their window writes; a joint statement that fails runs each alone.
  const viewInputs = coalescer(
    (reads: { nodeId: string; bounds: ViewBounds }[]) => readManyNodeViewInputs(sql, reads),
    (r) => readNodeViewInputs(sql, r.nodeId, r.bounds),
  );
  type WindowsWrite = { nodeId: string; asOfMs: number; windows: Parameters<typeof writeWindows>[3] };
  const windows = coalescer(
    async (items: WindowsWrite[]) => {
      await writeManyWindows(sql, items);
      return items.map(() => undefined);
    },
    (w) => writeWindows(sql, w.nodeId, w.asOfMs, w.windows),
  );
  const aggregate = {
    async ensurePartitions(bucketsMs: number[]) {
      for (const table of AGGREGATE_TABLES) await partitions.ensure(table, bucketsMs);
    },
    inNodeTransaction: <T>(nodeId: string, work: (tx: ReturnType<typeof nodeBatchTx>) => Promise<T>) =>
      sql.begin(async (tx) => {
        // Not awaited alone: the batch's reads pipeline behind it (the server runs them once it holds).
        const locked = lockNodeForBatch(tx, nodeId);
        locked.catch(() => {});
        const result = await work(nodeBatchTx(tx, nodeId));
        await locked;
        return result;
      }) as Promise<T>,
    inNodesTransaction: <T>(
      nodeIds: readonly string[],
      work: (txOf: (nodeId: string) => ReturnType<typeof nodeBatchTx>) => Promise<T>,
    ) =>
      sql.begin(async (tx) => {
        // As for one node: the reads pipeline behind the locks.
        const locked = lockNodesForBatch(tx, nodeIds);
        locked.catch(() => {});
        const shared = coalescedStatements(tx);
        const result = await work((nodeId) => nodeBatchTx(tx, nodeId, shared));
        await locked;
        return result;
      }) as Promise<T>,
    readWatermarks: (nodeIds: readonly string[]) => readWatermarks(sql, nodeIds),
    readLatest: (nodeId: string) => readLatest(sql, nodeId),
    readNodeViewInputs: (nodeId: string, bounds: ViewBounds) => viewInputs({ nodeId, bounds }),
    readNodeQuality: (nodeId: string) => readNodeQuality(sql, nodeId),
    writeWindows: (nodeId: string, asOfMs: number, w: Parameters<typeof writeWindows>[3]) =>
      windows({ nodeId, asOfMs, windows: w }),
  };
  const rollup = {
    ...postgresEfficiencyStore(sql),
    getRun: (runId: string) => getRun(sql, runId),
    recentRuns: (tenantId: string, limit: number) => recentRuns(sql, tenantId, limit),
    finishRun: (runId: string, outcome: Parameters<typeof finishRun>[2]) => finishRun(sql, runId, outcome),
    readWindowFigures: (tenantId: string) => readWindowFigures(sql, tenantId),
    countNodesByKind: (tenantId: string) => countNodesByKind(sql, tenantId),
    writeSnapshot: (tenantId: string, kind: string, asOfMs: number, body: unknown) =>
      writeSnapshot(sql, tenantId, kind, asOfMs, body),
    touchedSpans: (runId: string) => touchedSpans(sql, runId),
    latestEfficiencyLabel: (tenantId: string, periodKind: 'day' | 'month', preferComplete?: boolean) =>
      latestEfficiencyLabel(sql, tenantId, periodKind, preferComplete),
    readTenantQuality: (tenantId: string) => readTenantQuality(sql, tenantId),
    recentAnomalyPayloads: async (tenantId: string, limit: number) =>
      (await recentAnomalies(sql, tenantId, limit)).map(anomalyPayload),
    countActive: (tenantId: string) => countActive(sql, tenantId),
    readDistrictAnomaliesEvaluated: (tenantId: string) =>
      readEvaluatedMs(sql, tenantId, DISTRICT_ANOMALIES_STATE),
    saveDistrictAnomaliesEvaluated: (tenantId: string, ms: number) =>
      writeEvaluatedMs(sql, tenantId, DISTRICT_ANOMALIES_STATE, ms),
    readDetectorHistory: (
      nodeIds: readonly string[],
      metrics: readonly number[],
      window: { fromMs: number; toMs: number },
      baselineHoursMs: readonly number[],
    ) => readDetectorHistory(sql, nodeIds, metrics, window, baselineHoursMs),
    readNights: (districtIds: readonly string[], sinceMs: number) => readNights(sql, districtIds, sinceMs),
    writeNights: (tenantId: string, nights: Parameters<typeof writeNights>[2]) =>
      writeNights(sql, tenantId, nights),
    readDistrictAnomalies: (districtIds: readonly string[], sinceMs: number) =>
      readDistrictAnomalies(sql, districtIds, sinceMs),
    readPatternFlows: (tenantId: string, fromMs: number, toMs: number) =>
      readPatternFlows(sql, tenantId, fromMs, toMs),
    readPatternsDay: (tenantId: string) => readPatternsDay(sql, tenantId),
    writePatterns: (rows: Parameters<typeof writePatterns>[1]) => writePatterns(sql, rows),
    existingReports: (tenantId: string, ids: readonly string[]) => existingReports(sql, tenantId, ids),
    writeReports: (rows: Parameters<typeof writeReports>[1]) => writeReports(sql, rows),
    periodFigures: (
      tenantId: string,
      fromMs: number,
      toMs: number,
      limits: Parameters<typeof periodFigures>[4],
    ) => periodFigures(sql, tenantId, fromMs, toMs, limits),
    writeDistrictTransitions: (
      transitions: Parameters<typeof writeTransitions>[2],
      previous: Parameters<typeof writeTransitions>[3],
    ) => writeTransitions(sql, 'district', transitions, previous),
    readLeakSensitivity: (tenantId: string) => readLeakSensitivity(sql, tenantId),
    writeLocations: (located: Parameters<typeof writeLocations>[1]) => writeLocations(sql, located),
  };
  const backfill = {
    upsertNetwork: dispatch.upsertNetwork,
    loadNetwork: dispatch.loadNetwork,
    readWatermarks: (nodeIds: readonly string[]) => readWatermarks(sql, nodeIds),
    async ensurePartitions(daysMs: number[]) {
      for (const table of AGGREGATE_TABLES) await partitions.ensure(table, daysMs);
    },
    createEncoder: (format: 'binary' | 'text') => new PartialCopyEncoder(format),
    copyTarget: (table: TimeSeriesTable, bucketMs: number) => copyTarget(partitions, table, bucketMs),
    inNodesTransaction: <T>(
      nodeIds: readonly string[],
      work: (tx: ReturnType<typeof backfillTx>) => Promise<T>,
    ) =>
      sql.begin(async (tx) => {
        // This transaction only: its commit does not wait for the WAL flush. Safe for the backfill: a
        // crash can lose only the last chunks' commits, each whole (watermarks with their partials,
        // never one without the other), and a rerun re-applies exactly those nodes.
        await tx`set local synchronous_commit = off`;
        await lockNodes(tx, nodeIds);
        return work(backfillTx(tx));
      }) as Promise<T>,
  };
  const maintenance = {
    async dropPartitionsOlderThan(beforeMs: number) {
      const dropped: string[] = [];
      for (const table of Object.keys(TIME_SERIES_TABLES) as TimeSeriesTable[]) {
        dropped.push(...(await partitions.dropOlderThan(table, beforeMs)));
      }
      // The settled view states may hold partials of dropped partitions: rebuilt from what is left.
      if (dropped.length > 0) await deleteAllViewStates(sql);
      return dropped;
    },
    // One purge per owner module, one statement at a time (retention is no hot path; the log stays readable).
    async purge(cutoffs: RetentionCutoffs) {
      const metrics = new Date(cutoffs.metricsBeforeMs);
      const deleted: Record<string, number> = { ...(await purgeQuality(sql, metrics)) };
      deleted.district_nights = await purgeDistrictNights(sql, metrics);
      deleted.predictions = await purgePredictions(sql, new Date(cutoffs.predictionsBeforeMs));
      deleted.model_performance = await purgeModelPerformance(sql, metrics);
      deleted.runs = await purgeRuns(sql, new Date(cutoffs.runLogsBeforeMs));
      deleted.applied_batches = await purgeAppliedBatches(sql, new Date(cutoffs.runLogsBeforeMs));
      deleted.anomalies = await purgeResolvedAnomalies(sql, new Date(cutoffs.resolvedAnomaliesBeforeMs));
      deleted.anomaly_events = await purgeAnomalyEvents(sql, new Date(cutoffs.anomalyEventsBeforeMs));
      deleted.webhook_deliveries = await purgeFinishedDeliveries(
        sql,
        new Date(cutoffs.webhookDeliveriesBeforeMs),
      );
      if (cutoffs.reportsBeforeMs !== undefined) {
        deleted.kpi_reports = await purgeReports(sql, new Date(cutoffs.reportsBeforeMs));
      }
      return deleted;
    },
  };
  return { dispatch, aggregate, rollup, backfill, maintenance, forecasts: postgresForecastStore(sql) };
}
