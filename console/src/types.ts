/**
 * The shapes of the public API's answers the console reads: the typed client's, generated from the
 * API's OpenAPI document (`npm run client:generate`), so they cannot drift from what the API serves.
 * Two parts the document declares as open objects (a run of /status, the 24 h network figures and
 * anomaly counts of /dashboard/summary) are refined here with the fields the console reads.
 */
import type { components } from '@wnm/client';

type Schemas = components['schemas'];
export type NodeInfo = Schemas['Node'];
export type Anomaly = Schemas['Anomaly'];
export type History = Schemas['History'];
export type HistoryPoint = Schemas['HistoryPoint'];
export type Metrics = Schemas['WindowMetrics'];
export type Readings = Schemas['LatestReadings'];
export type Prediction = Schemas['Prediction'];
export type QualityReport = Schemas['Quality'];
export type Balance = NonNullable<Schemas['WaterBalance']>;
export type Efficiency = Schemas['NetworkEfficiency'];

/** One cycle run as /status lists it (`runs[]`, an open object in the document). */
export interface Run {
  id: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  windowFrom: string;
  windowTo: string;
  nodesTotal: number;
  nodesDone: number;
  nodesFailed: number;
  readings: number;
  bytesProcessed: number;
  durationMs: number | null;
  source: string;
}
export type Status = Omit<Schemas['Status'], 'runs'> & { runs: Run[] | null };
export type Role = Status['caller']['role'];

/** What /dashboard/summary adds to its declared fields (open in the document). */
export type Summary = Schemas['DashboardSummary'] & {
  network24h: {
    systemInflowLps: number | null;
    pressureBar: { mean: number | null; min: number | null };
    quality: { chlorineMinMgL: number | null; turbidityMaxNtu: number | null };
  } | null;
  anomalies: { open: number; acknowledged: number; bySeverity: Record<string, number> };
  qualityScore: number | null;
  efficiency: { day: string | null; month: string | null; nrwPercentDay: number | null };
};
