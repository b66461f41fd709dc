/**
 * What the rollup step needs of storage (its port; PostgreSQL implements it in
 * `adapters/postgres/cycle-stores.ts`): runs, the served snapshots, what the network figures read of
 * the nodes' windows, and what the rollup's analytics (district anomalies, water balance, network
 * quality, recent anomalies) read and write.
 */
import type { PeriodKind } from '../../analytics/local-period.ts';
import type {
  Anomaly,
  AnomalyStatus,
  DetectorBucket,
  NightFlow,
  Severity,
  Transition,
} from '../../anomaly/index.ts';
import type { LeakCandidateNode, LeakLocalisation } from '../../anomaly/localise.ts';
import type { EfficiencyRow } from '../../domain/efficiency.ts';
import type { DistrictInfo, NodeKind } from '../../domain/readings.ts';
import type { RunRecord, RunStatus } from '../../domain/runs.ts';
import type { WindowFigureValues } from '../../domain/windows.ts';

/**
 * What the network figures need of one node's window: a handful of numbers, extracted in SQL (at
 * 10,000 nodes × 6 ranges the whole window bodies would not fit a small instance's heap).
 */
export interface WindowFigures extends WindowFigureValues {
  kind: NodeKind;
  range: string;
  as_of_ms: number;
}

export interface DistrictMeters {
  district: DistrictInfo;
  nodes: { id: string; kind: NodeKind }[];
  /** Nodes outside the district whose flow supplies it (an outlet declared as feeding it). */
  feeders?: { id: string; kind: NodeKind }[];
}

export interface HourlyMetricRow {
  nodeId: string;
  metric: number;
  bucketMs: number;
  count: number;
  sum: number;
  /** The hour's first and last readings. */
  first?: number;
  last?: number;
}

export interface BilledRow {
  id: number;
  districtId: string;
  fromMs: number;
  toMs: number;
  volumeM3: number;
  unbilledM3: number | null;
  source: string;
}

/** A district's night as the night-flow detector measured it, kept for its reference. */
export interface StoredNight extends NightFlow {
  districtId: string;
}

/** Open and acknowledged anomalies of a tenant, by severity (acknowledged ones count as open). */
export interface AnomalyCounts {
  open: number;
  acknowledged: number;
  bySeverity: Record<Severity, number>;
}

/** The span of reading times a district's nodes received in a run. */
export interface TouchedSpan {
  districtId: string;
  minMs: number;
  maxMs: number;
}

/** A node's latest data-quality scores, with what the network score groups them by. */
export interface NodeQualityRow {
  nodeId: string;
  kind: string;
  districtId: string | null;
  asOfMs: number;
  body: unknown;
}

/** What the district detectors read of one node: 5-minute partials, and hourly ones for the baseline. */
export interface DetectorHistory {
  fiveMinute: DetectorBucket[];
  baseline: DetectorBucket[];
}

/** What the water balance reads and writes (also used by `scripts/billing.ts`). */
export interface EfficiencyStore {
  /** Districts with their metered nodes (all of a tenant's, or the ones named). */
  districtMeters(tenantId: string, districtIds?: readonly string[]): Promise<DistrictMeters[]>;
  readHourlyMetrics(
    nodeIds: readonly string[],
    metrics: readonly number[],
    fromMs: number,
    toMs: number,
  ): Promise<HourlyMetricRow[]>;
  readBilled(
    tenantId: string,
    districtIds: readonly string[],
    fromMs: number,
    toMs: number,
  ): Promise<BilledRow[]>;
  writeEfficiency(rows: readonly EfficiencyRow[]): Promise<void>;
  readEfficiency(
    tenantId: string,
    periodKind: PeriodKind,
    labels: { exact?: readonly string[]; prefix?: string },
  ): Promise<EfficiencyRow[]>;
}

/** What the district detectors read and write. */
export interface DistrictAnomalyStore {
  /** When the district detectors last ran for the tenant (null before the first time). */
  readDistrictAnomaliesEvaluated(tenantId: string): Promise<number | null>;
  saveDistrictAnomaliesEvaluated(tenantId: string, ms: number): Promise<void>;
  readDetectorHistory(
    nodeIds: readonly string[],
    metrics: readonly number[],
    window: { fromMs: number; toMs: number },
    baselineHoursMs: readonly number[],
  ): Promise<Map<string, DetectorHistory>>;
  readNights(districtIds: readonly string[], sinceMs: number): Promise<StoredNight[]>;
  writeNights(tenantId: string, nights: readonly StoredNight[]): Promise<void>;
  readDistrictAnomalies(districtIds: readonly string[], sinceMs: number): Promise<Anomaly[]>;
  /** District anomaly transitions; resolves with the ids actually written. */
  writeDistrictTransitions(
    transitions: readonly Transition[],
    previous: ReadonlyMap<string, AnomalyStatus>,
  ): Promise<Set<string>>;
  /** The tenant's candidate leak nodes with their sensitivity (empty when no network model was imported). */
  readLeakSensitivity(tenantId: string): Promise<LeakCandidateNode[]>;
  /** Leak anomalies' candidate locations, each replacing the latest the anomaly held (the first is kept as `first`). */
  writeLocations(located: readonly { id: string; locations: LeakLocalisation }[]): Promise<void>;
}

export interface RollupStore extends EfficiencyStore, DistrictAnomalyStore, PatternStore, ReportStore {
  getRun(runId: string): Promise<RunRecord | null>;
  recentRuns(tenantId: string, limit: number): Promise<RunRecord[]>;
  finishRun(
    runId: string,
    outcome: { status: RunStatus; finishedAtMs: number; nodesDone: number; failedNodes: string[] },
  ): Promise<void>;
  /** Every node window's figures of a tenant. */
  readWindowFigures(tenantId: string): Promise<WindowFigures[]>;
  /** The tenant's node count per kind, in kind order. */
  countNodesByKind(tenantId: string): Promise<{ kind: string; n: number }[]>;
  writeSnapshot(tenantId: string, kind: string, asOfMs: number, body: unknown): Promise<void>;
  /** The local days each district's readings of the run spanned. */
  touchedSpans(runId: string): Promise<TouchedSpan[]>;
  latestEfficiencyLabel(
    tenantId: string,
    periodKind: PeriodKind,
    preferComplete?: boolean,
  ): Promise<string | null>;
  readTenantQuality(tenantId: string): Promise<NodeQualityRow[]>;
  /** The tenant's recent anomalies, newest first, in the API's shape (the `anomalies:recent` hot key). */
  recentAnomalyPayloads(tenantId: string, limit: number): Promise<unknown[]>;
  countActive(tenantId: string): Promise<AnomalyCounts>;
}

/** Hourly flow summed over a district's nodes of one kind. */
export interface PatternFlowRow {
  districtId: string;
  kind: string;
  bucketMs: number;
  /** Sum of the nodes' hourly mean flows, L/s. */
  flow: number;
  nodes: number;
}

/** The patterns of a district ('*' = the network) as of a local day. */
export interface StoredPatterns {
  tenantId: string;
  districtId: string;
  asOfDay: string;
  computedAtMs: number;
  body: unknown;
}

/** What consumption patterns read and write (`rollup/patterns.ts`). */
export interface PatternStore {
  readPatternFlows(tenantId: string, fromMs: number, toMs: number): Promise<PatternFlowRow[]>;
  readPatternsDay(tenantId: string): Promise<string | null>;
  writePatterns(rows: readonly StoredPatterns[]): Promise<void>;
}

/** Water-quality limits a report's compliance counts hours against (hourly means). */
export interface QualityLimits {
  chlorineMin: number;
  chlorineMax: number;
  turbidityMax: number;
}

import type { PeriodFigures } from '../../analytics/kpi-report.ts';

export type { PeriodFigures };

export interface ReportRow {
  tenantId: string;
  id: string;
  districtId: string;
  period: 'daily' | 'weekly';
  label: string;
  startMs: number;
  endMs: number;
  generatedAtMs: number;
  body: unknown;
}

/** What KPI reports read and write (`rollup/reports.ts`). */
export interface ReportStore {
  existingReports(tenantId: string, ids: readonly string[]): Promise<Set<string>>;
  writeReports(rows: readonly ReportRow[]): Promise<number>;
  periodFigures(
    tenantId: string,
    fromMs: number,
    toMs: number,
    limits: QualityLimits,
  ): Promise<Map<string, PeriodFigures>>;
}
