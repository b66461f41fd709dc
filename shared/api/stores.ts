/**
 * What the API needs from storage, declared by the API (types only). Every read is scoped to the
 * caller's tenant where the table has one; rows come back in the API's vocabulary. The PostgreSQL
 * adapter implements it (api-stores.ts there) and the wiring (shared/wiring/api.ts) passes it in.
 */
import type { QualityCounters } from '../analytics/quality.ts';
import type { PartialRow, Resolution } from '../domain/aggregate.ts';
import type { LatestBody } from '../domain/payloads.ts';
import type { NodeInfo } from '../domain/readings.ts';
import type { KeyRecord, Role, StoredKeyInput } from './auth/keys.ts';

export interface LiveKey {
  keyId: string;
  tenantId: string;
  role: Role;
  name: string;
  rateLimitPerMinute: number;
  secretHash: string;
}

export interface KeyStore {
  /** Stores a key, creating its tenant if new. */
  insert(key: StoredKeyInput): Promise<KeyRecord>;
  list(options: {
    tenantId?: string | undefined;
    includeRevoked?: boolean | undefined;
  }): Promise<KeyRecord[]>;
  /** The revoked key (of the tenant, when given), or null when there is no such key. */
  revoke(id: string, tenantId?: string): Promise<KeyRecord | null>;
  /** A live key by id, marked used; null when unknown or revoked. */
  findLive(id: string): Promise<LiveKey | null>;
  /** The secret hash of a live admin key of the tenant, or null. */
  liveAdminHash(id: string, tenantId: string): Promise<string | null>;
}

export interface District {
  id: string;
  name: string;
  timezone: string;
}

export interface RegistryStore {
  node(tenantId: string, id: string): Promise<NodeInfo | null>;
  district(tenantId: string, id: string): Promise<District | null>;
  /** Up to `limit` nodes by id after `after`, of a kind and a district when given. */
  nodes(
    tenantId: string,
    page: { after: string | null; kind?: string | undefined; districtId?: string | undefined; limit: number },
  ): Promise<NodeInfo[]>;
  districtNodeIds(tenantId: string, districtId: string): Promise<string[]>;
}

export interface ServingStore {
  latest(nodeId: string): Promise<{ tsMs: number; body: LatestBody } | null>;
  /** A node's served window metrics (the body the cycle computed), or null. */
  window(nodeId: string, range: string): Promise<unknown | null>;
  /** A network snapshot's body (dashboard, network:<range>), or null. */
  snapshot(tenantId: string, kind: string): Promise<unknown | null>;
  latestReadingMs(tenantId: string): Promise<number | null>;
  /** A node's stored partials at a resolution in [fromMs, toMs), by bucket then metric. */
  history(resolution: Resolution, nodeId: string, fromMs: number, toMs: number): Promise<PartialRow[]>;
}

export interface RunRecord {
  id: string;
  tenantId: string;
  status: 'running' | 'done' | 'partial' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  windowFrom: string;
  windowTo: string;
  nodesTotal: number;
  nodesDone: number;
  nodesFailed: number;
  failedNodes: string[];
  readings: number;
  bytesProcessed: number;
  durationMs: number | null;
  source: string;
}

export interface RunStore {
  recent(tenantId: string, limit: number): Promise<RunRecord[]>;
  /** The end of the latest run's window, or null before any run. */
  latestWindowEndMs(tenantId: string): Promise<number | null>;
  bytesProcessedLastDay(tenantId: string): Promise<number>;
}

export type AnomalySeverity = 'warning' | 'minor' | 'major' | 'critical';
export type AnomalyStatus = 'pending' | 'open' | 'acknowledged' | 'resolved';

export interface AnomalyView {
  id: string;
  nodeId: string | null;
  districtId: string | null;
  type: string;
  metric: string | null;
  severity: AnomalySeverity;
  status: AnomalyStatus;
  startedAt: string;
  /** The start in epoch microseconds: the exact sort key of keyset paging. */
  startedUs: number;
  lastSeenAt: string;
  openedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  note: string | null;
  evidence: Record<string, unknown>;
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

export interface AnomalyStore {
  /** Newest first (start, then id), after the keyset position [startedUs, id]. */
  list(
    tenantId: string,
    filters: AnomalyFilters,
    limit: number,
    after: readonly [number, string] | null,
  ): Promise<AnomalyView[]>;
  find(tenantId: string, id: string): Promise<AnomalyView | null>;
  /** The anomaly after the transition, or null when its status did not allow it (or it does not exist). */
  transition(t: {
    action: 'acknowledge' | 'resolve';
    tenantId: string;
    id: string;
    by: string;
    note: string | null;
  }): Promise<AnomalyView | null>;
}

export interface QualityStore {
  /** A node's 5-minute counters over [fromMs, toMs), in time order. */
  counters(nodeId: string, fromMs: number, toMs: number): Promise<QualityCounters[]>;
}

export interface StoredBalance {
  districtId: string;
  periodKind: 'day' | 'month';
  periodLabel: string;
  computedAtMs: number;
  body: unknown;
}

export interface EfficiencyStore {
  /** The latest period of each district (and of the network, '*'), or the period `label`. */
  latest(
    tenantId: string,
    periodKind: 'day' | 'month',
    filter: { label?: string | undefined; districtId?: string | undefined },
  ): Promise<StoredBalance[]>;
}

export interface Forecast {
  targetId: string;
  targetKind: 'node' | 'district';
  issuedAt: Date;
  modelId: string;
  horizonStart: Date;
  body: {
    unit?: string;
    mean?: (number | null)[];
    lo80?: (number | null)[];
    hi80?: (number | null)[];
    lo95?: (number | null)[];
    hi95?: (number | null)[];
  };
}

export interface RoleScores {
  role: string;
  models: number;
  meanMaeDay1: number | null;
  meanMaxAeDay1: number | null;
  meanMaeDays2to7: number | null;
  lastEvaluatedAt: Date | null;
}

export interface PredictionStore {
  latest(tenantId: string, targetId: string): Promise<Forecast | null>;
  /** Mean scores per model role over the tenant's targets (each model's latest evaluation). */
  scoresByRole(tenantId: string): Promise<RoleScores[]>;
}

export interface ApiStores {
  keys: KeyStore;
  registry: RegistryStore;
  serving: ServingStore;
  runs: RunStore;
  anomalies: AnomalyStore;
  quality: QualityStore;
  efficiency: EfficiencyStore;
  predictions: PredictionStore;
  /** A round trip to the database, for /status. */
  health: { ping(): Promise<void> };
}
