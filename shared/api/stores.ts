/**
 * What the API needs from storage, declared by the API (types only). Every read is scoped to the
 * caller's tenant where the table has one; rows come back in the API's vocabulary. The PostgreSQL
 * adapter implements it (api-stores.ts there) and the wiring (shared/wiring/api.ts) passes it in.
 */
import type { PeriodKind } from '../analytics/local-period.ts';
import type { QualityCounters } from '../analytics/quality.ts';
import type { AnomalyEvent, EventPosition } from '../anomaly/events.ts';
import type { ListedAnomaly } from '../anomaly/listed.ts';
import type { PartialRow, Resolution } from '../domain/aggregate.ts';
import type { EfficiencyRow } from '../domain/efficiency.ts';
import type { StoredLatest } from '../domain/payloads.ts';
import type { IssuedPrediction } from '../domain/predictions.ts';
import type { DistrictInfo, NodeInfo } from '../domain/readings.ts';
import type { RunRecord } from '../domain/runs.ts';
import type { WebhookStore } from '../webhooks/store.ts';
import type { KeyRecord, Role, StoredKeyInput } from './auth/keys.ts';

// The key records are the API's own vocabulary (auth/keys.ts); the adapter reads them from here.
export type { KeyRecord, Role, StoredKeyInput };

/** A live key as authentication needs it. */
export interface LiveKey {
  keyId: string;
  tenantId: string;
  role: Role;
  name: string;
  rateLimitPerMinute: number;
  secretHash: string;
}

/** Which keys a listing holds: a tenant's (else all), revoked ones too when asked. */
export interface KeyListOptions {
  tenantId?: string | undefined;
  includeRevoked?: boolean | undefined;
}

export interface KeyStore {
  /** Stores a key, creating its tenant if new. */
  insert(key: StoredKeyInput): Promise<KeyRecord>;
  list(options: KeyListOptions): Promise<KeyRecord[]>;
  /** The revoked key (of the tenant, when given), or null when there is no such key. */
  revoke(id: string, tenantId?: string): Promise<KeyRecord | null>;
  /** A live key by id, marked used; null when unknown or revoked. */
  findLive(id: string): Promise<LiveKey | null>;
  /** The secret hash of a live admin key of the tenant, or null. */
  liveAdminHash(id: string, tenantId: string): Promise<string | null>;
}

export type District = Pick<DistrictInfo, 'id' | 'name' | 'timezone'>;

/** A page of nodes: up to `limit` by id after `after`, of a kind and a district when given. */
export interface NodePage {
  after: string | null;
  kind?: string | undefined;
  districtId?: string | undefined;
  limit: number;
}

export interface RegistryStore {
  node(tenantId: string, id: string): Promise<NodeInfo | null>;
  district(tenantId: string, id: string): Promise<District | null>;
  /** Up to `limit` nodes by id after `after`, of a kind and a district when given. */
  nodes(tenantId: string, page: NodePage): Promise<NodeInfo[]>;
  districtNodeIds(tenantId: string, districtId: string): Promise<string[]>;
  /** Which of `ids` are nodes of the tenant. */
  existingNodeIds(tenantId: string, ids: readonly string[]): Promise<string[]>;
}

export interface ServingStore {
  latest(nodeId: string): Promise<StoredLatest | null>;
  /** A node's served window metrics (the body the cycle computed), or null. */
  window(nodeId: string, range: string): Promise<unknown | null>;
  /** The same, only if the node is the tenant's (ownership and body in one round trip). */
  ownedWindow(tenantId: string, nodeId: string, range: string): Promise<unknown | null>;
  /** A node's latest values, only if the node is the tenant's (one round trip). */
  ownedLatest(tenantId: string, nodeId: string): Promise<StoredLatest | null>;
  /** A network snapshot's body (dashboard, network:<range>), or null. */
  snapshot(tenantId: string, kind: string): Promise<unknown | null>;
  latestReadingMs(tenantId: string): Promise<number | null>;
  /** A node's stored partials at a resolution in [fromMs, toMs), by bucket then metric. */
  history(resolution: Resolution, nodeId: string, fromMs: number, toMs: number): Promise<PartialRow[]>;
}

export interface RunStore {
  recent(tenantId: string, limit: number): Promise<RunRecord[]>;
  /** The end of the latest run's window, or null before any run. */
  latestWindowEndMs(tenantId: string): Promise<number | null>;
  bytesProcessedLastDay(tenantId: string): Promise<number>;
}

export interface AnomalyFilters {
  statuses: string[];
  severities?: string[] | undefined;
  types?: string[] | undefined;
  nodeId?: string | undefined;
  districtId?: string | undefined;
  /** Active at some time in [fromMs, toMs): started before toMs, not resolved before fromMs. */
  fromMs?: number | undefined;
  toMs?: number | undefined;
}

/** An operator's acknowledgement or resolution of an anomaly. */
export interface AnomalyTransitionRequest {
  action: 'acknowledge' | 'resolve';
  tenantId: string;
  id: string;
  by: string;
  note: string | null;
}

export interface AnomalyStore {
  /** Newest first (start, then id), after the keyset position [startedUs, id]. */
  list(
    tenantId: string,
    filters: AnomalyFilters,
    limit: number,
    after: readonly [number, string] | null,
  ): Promise<ListedAnomaly[]>;
  find(tenantId: string, id: string): Promise<ListedAnomaly | null>;
  /** The anomaly after the transition, or null when its status did not allow it (or it does not exist). */
  transition(t: AnomalyTransitionRequest): Promise<ListedAnomaly | null>;
}

/** The tenant's anomaly event log, in log order (anomaly_events). */
export interface EventLogStore {
  /** Up to `limit` events after `after`. */
  read(tenantId: string, after: EventPosition, limit: number): Promise<AnomalyEvent[]>;
  /** The tenant's latest position: where a stream without Last-Event-ID starts. */
  head(tenantId: string): Promise<EventPosition>;
}

export interface QualityStore {
  /** A node's 5-minute counters over [fromMs, toMs), in time order. */
  counters(nodeId: string, fromMs: number, toMs: number): Promise<QualityCounters[]>;
}

/** Which stored balances: the period `label` (else each district's latest), of one district when given. */
export interface BalanceFilter {
  label?: string | undefined;
  districtId?: string | undefined;
}

export interface EfficiencyStore {
  /** The latest period of each district (and of the network, '*'), or the period `label`. */
  latest(tenantId: string, periodKind: PeriodKind, filter: BalanceFilter): Promise<EfficiencyRow[]>;
}

/** Mean scores per model role over the tenant's targets, each model's latest evaluation. */
export interface RoleScores {
  role: string;
  models: number;
  meanMaeDay1: number | null;
  meanMaxAeDay1: number | null;
  meanMaeDays2to7: number | null;
  lastEvaluatedAt: Date | null;
}

/** The model serving a forecast target, from its latest prediction. */
export interface ServingModel {
  targetId: string;
  targetKind: 'node' | 'district';
  modelId: string;
  servedBy: 'champion' | 'fallback';
  historyHours: number | null;
  note: string | null;
  trainedAt: string | null;
  horizonStart: string;
}

export interface PredictionStore {
  latest(tenantId: string, targetId: string): Promise<IssuedPrediction | null>;
  /** Which model serves each forecast target of the tenant, and on how much history. */
  servingModels(tenantId: string): Promise<ServingModel[]>;
  /** Mean scores per model role over the tenant's targets (each model's latest evaluation). */
  scoresByRole(tenantId: string): Promise<RoleScores[]>;
}

/** A stored KPI report as listed. */
export interface ListedReport {
  id: string;
  /** null: the network. */
  districtId: string | null;
  period: 'daily' | 'weekly';
  label: string;
  startMs: number;
  endMs: number;
  generatedAtMs: number;
}

export interface StoredReport extends ListedReport {
  body: unknown;
}

/** A page of reports of one period kind: of one district (null = the network's) when given. */
export interface ReportPage {
  period: 'daily' | 'weekly';
  districtId?: string | null | undefined;
  limit: number;
  after: readonly [number, string] | null;
}

export interface ReportStore {
  list(tenantId: string, page: ReportPage): Promise<ListedReport[]>;
  find(tenantId: string, id: string): Promise<StoredReport | null>;
}

export interface PatternStore {
  /** The stored consumption patterns of a district ('*' = the network), or null. */
  find(tenantId: string, districtId: string): Promise<unknown | null>;
}

export interface ApiStores {
  reports: ReportStore;
  patterns: PatternStore;
  keys: KeyStore;
  registry: RegistryStore;
  serving: ServingStore;
  runs: RunStore;
  anomalies: AnomalyStore;
  events: EventLogStore;
  webhooks: WebhookStore;
  quality: QualityStore;
  efficiency: EfficiencyStore;
  predictions: PredictionStore;
  /** A round trip to the database, for /status. */
  health: { ping(): Promise<void> };
}
