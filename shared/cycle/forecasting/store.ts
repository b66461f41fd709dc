/**
 * What forecasting needs of storage (its port; PostgreSQL implements it in
 * `adapters/postgres/cycle-stores.ts`): issued predictions, fitted models, their scores, and the hourly
 * flow series forecasts are trained on and refreshed with.
 */

export interface PredictionBody {
  unit: string;
  mean: (number | null)[];
  lo80: (number | null)[];
  hi80: (number | null)[];
  lo95: (number | null)[];
  hi95: (number | null)[];
  /** When the serving model was trained, and the end of the data it was refreshed with. */
  trainedAt: string;
  dataTo: string;
}

export interface PredictionRow {
  tenantId: string;
  targetId: string;
  targetKind: 'node' | 'district';
  /** The first forecast hour: a forecast is issued once per hour of data, so this is also its issue time. */
  horizonStartMs: number;
  modelId: string;
  body: PredictionBody;
}

export interface ModelRow {
  tenantId: string;
  targetId: string;
  targetKind: 'node' | 'district';
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
