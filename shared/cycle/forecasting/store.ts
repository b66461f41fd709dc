/**
 * What forecasting needs of storage (its port; PostgreSQL implements it in
 * `adapters/postgres/cycle-stores.ts`): issued predictions, fitted models, their scores, and the hourly
 * flow series forecasts are trained on and refreshed with.
 */

import type { PredictionBody, PredictionRow, TargetKind } from '../../domain/predictions.ts';

export interface ModelRow {
  tenantId: string;
  targetId: string;
  targetKind: TargetKind;
  modelId: string;
  trainedMs: number;
  dataToMs: number;
  body: unknown;
}

export interface PerformanceRow {
  targetId: string;
  modelId: string;
  evaluatedAtMs: number;
  role: 'champion' | 'challenger' | 'retired';
  kind: 'backtest' | 'live';
  maeDay1: number | null;
  maxAeDay1: number | null;
  maeDays2to7: number | null;
}

export type HourlyCells = Map<string, { bucketMs: number; count: number; sum: number }[]>;

export interface ForecastStore {
  /** The first forecast hour of each target's latest prediction. */
  latestIssues(targetIds: readonly string[]): Promise<Map<string, number>>;
  writePredictions(rows: readonly PredictionRow[]): Promise<void>;
  readPrediction(
    targetId: string,
    horizonStartMs: number,
  ): Promise<{ modelId: string; body: PredictionBody } | null>;
  saveModels(rows: readonly ModelRow[]): Promise<void>;
  loadModel(targetId: string, modelId: string): Promise<unknown | null>;
  writePerformance(rows: readonly PerformanceRow[]): Promise<void>;
  /** Hourly count and sum of one metric of the nodes over [fromMs, toMs), per node in time order. */
  readHourly(
    nodeIds: readonly string[],
    metric: 'flow' | 'pressure',
    fromMs: number,
    toMs: number,
  ): Promise<HourlyCells>;
  readTimezone(districtId: string): Promise<string | null>;
}
