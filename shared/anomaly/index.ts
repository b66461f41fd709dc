/**
 * Anomaly detection: pure detectors, their per-kind configuration and the anomaly lifecycle. See README.md
 * for how the aggregator wires them in.
 */

export type { BaselineConfig } from './baseline.ts';
export { DEFAULT_BASELINE, detectBaselineDeviation } from './baseline.ts';
export type { BurstConfig } from './burst.ts';
export { DEFAULT_BURST, detectBurst, detectDistrictBurst } from './burst.ts';
export type { AnomalyConfig, DistrictDetectorConfig, NodeDetectorConfig, Overrides } from './config.ts';
export { DEFAULT_ANOMALY_CONFIG, withOverrides } from './config.ts';
export { detectDistrictConditions, detectNodeConditions } from './detect.ts';
export { advanceDistrictInstant, pressureExcludedSpans, SUPERSEDED_BY } from './district-instant.ts';
export type {
  Anomaly,
  AnomalyStatus,
  AnomalySubject,
  CycleResult,
  LifecycleConfig,
  Transition,
  TransitionKind,
} from './lifecycle.ts';
export {
  ANOMALY_STATUSES,
  AnomalyTransitionError,
  acknowledgeAnomaly,
  advanceAnomalies,
  anomalyId,
  DEFAULT_LIFECYCLE,
  isExpired,
  RETENTION_AFTER_RESOLVED_MS,
  reopenLookbackMs,
  resolveAnomaly,
  retentionUntilMs,
} from './lifecycle.ts';
export type { ListedAnomaly } from './listed.ts';
export type {
  LeakCandidateNode,
  LeakLocalisation,
  LeakLocalisationAt,
  LeakLocation,
  LocaliseConfig,
} from './localise.ts';
export { DEFAULT_LOCALISE, locateLeak, rankLeakCandidates } from './localise.ts';
export type { NightFlow, NightFlowConfig } from './night-flow.ts';
export { DEFAULT_NIGHT_FLOW, detectNightFlowLeak, netInflow, nightlyMinimumFlows } from './night-flow.ts';
export type { PressureModelConfig, PressureResidual, PressureSeries } from './pressure-model.ts';
export {
  DEFAULT_PRESSURE_MODEL,
  detectPressureResidualLeak,
  detectPressureStepUp,
  pressureResiduals,
} from './pressure-model.ts';
export type { FlatlineConfig, GapConfig, NegativeFlowConfig, RangeConfig } from './sensor-faults.ts';
export { detectFlatline, detectGaps, detectNegativeFlow, detectOutOfRange } from './sensor-faults.ts';
export { emptySeries, rollUpSeries, toBucketSeries } from './series.ts';
export type { SpikeConfig } from './spikes.ts';
export { DEFAULT_SPIKES, detectSpikes } from './spikes.ts';
export type {
  AggregateBucket,
  AnomalyType,
  BucketSeries,
  Condition,
  DetectorBucket,
  DistrictCycleInput,
  DistrictNodeSeries,
  Evidence,
  MetricHistory,
  NodeCycleInput,
  Severity,
} from './types.ts';
export { ANOMALY_TYPES, maxSeverity, SEVERITIES, severityRank } from './types.ts';
export type { WaterBalanceConfig, WaterBalanceCusum, WaterBalanceInput } from './water-balance.ts';
export {
  DEFAULT_WATER_BALANCE,
  detectWaterBalanceLeak,
  detectWaterBalanceStepUp,
  hourlyWaterBalance,
  waterBalanceCusum,
} from './water-balance.ts';
export type { QualityLimit, WaterQualityConfig } from './water-quality.ts';
export { DEFAULT_WATER_QUALITY, detectWaterQuality } from './water-quality.ts';
