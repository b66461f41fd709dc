/**
 * The API's stores over PostgreSQL: each a few functions of the tables' owner modules bound to one
 * client. The API declares what it needs (shared/api/stores.ts); the wiring assigns this object to
 * that type, which checks that the two agree.
 */

import type { EventPosition } from '../../anomaly/events.ts';
import type {
  AnomalyFilters,
  AnomalyTransitionRequest,
  BalanceFilter,
  KeyListOptions,
  NodePage,
  ReportPage,
  StoredKeyInput,
} from '../../api/stores.ts';
import type { NewSubscription } from '../../webhooks/store.ts';
import { readNodeRange } from './aggregates.ts';
import { findAnomaly, listAnomalies, transitionAnomaly } from './anomalies.ts';
import { headPosition, readEvents } from './anomaly-events.ts';
import { ping, type Sql } from './client.ts';
import { latestEfficiency } from './efficiency.ts';
import { findLiveKey, insertKey, listKeys, liveAdminKeyHash, revokeKey } from './keys.ts';
import { readPatterns } from './patterns.ts';
import { latestPrediction, modelScoresByRole, servingModels } from './predictions.ts';
import { readQualityCounters } from './quality.ts';
import {
  districtNodeIds,
  ensureTenant,
  existingNodeIds,
  findDistrict,
  findNode,
  listNodes,
} from './registry.ts';
import { findReport, listReports } from './reports.ts';
import { bytesProcessedLastDay, latestWindowEndMs, recentRuns } from './runs.ts';
import {
  latestReadingMs,
  readLatest,
  readOwnedLatest,
  readOwnedWindow,
  readSnapshotValue,
  readWindow,
} from './serving.ts';
import {
  deleteSubscription,
  findSubscription,
  insertSubscription,
  listDeliveries,
  listSubscriptions,
  requeueDelivery,
} from './webhooks.ts';

/** The stored partials of each history resolution. */
const HISTORY_TABLES = { '5m': 'agg_5m', '1h': 'agg_1h', '1d': 'agg_1d' } as const;

/** API keys: creating one also creates its tenant if new (two statements, as before). */
export function postgresKeyStore(sql: Sql) {
  return {
    async insert(key: StoredKeyInput) {
      await ensureTenant(sql, key.tenantId);
      return insertKey(sql, key);
    },
    list: (options: KeyListOptions) => listKeys(sql, options),
    revoke: (id: string, tenantId?: string) => revokeKey(sql, id, tenantId),
    findLive: (id: string) => findLiveKey(sql, id),
    liveAdminHash: (id: string, tenantId: string) => liveAdminKeyHash(sql, id, tenantId),
  };
}

export function postgresApiStores(sql: Sql) {
  return {
    keys: postgresKeyStore(sql),
    registry: {
      node: (tenantId: string, id: string) => findNode(sql, tenantId, id),
      district: (tenantId: string, id: string) => findDistrict(sql, tenantId, id),
      nodes: (tenantId: string, page: NodePage) => listNodes(sql, tenantId, page),
      districtNodeIds: (tenantId: string, districtId: string) => districtNodeIds(sql, tenantId, districtId),
      existingNodeIds: (tenantId: string, ids: readonly string[]) => existingNodeIds(sql, tenantId, ids),
    },
    serving: {
      latest: (nodeId: string) => readLatest(sql, nodeId),
      window: (nodeId: string, range: string) => readWindow(sql, nodeId, range),
      ownedLatest: (tenantId: string, nodeId: string) => readOwnedLatest(sql, tenantId, nodeId),
      ownedWindow: (tenantId: string, nodeId: string, range: string) =>
        readOwnedWindow(sql, tenantId, nodeId, range),
      snapshot: (tenantId: string, kind: string) => readSnapshotValue(sql, tenantId, kind),
      latestReadingMs: (tenantId: string) => latestReadingMs(sql, tenantId),
      history: (resolution: keyof typeof HISTORY_TABLES, nodeId: string, fromMs: number, toMs: number) =>
        readNodeRange(sql, HISTORY_TABLES[resolution], nodeId, fromMs, toMs),
    },
    runs: {
      recent: (tenantId: string, limit: number) => recentRuns(sql, tenantId, limit),
      latestWindowEndMs: (tenantId: string) => latestWindowEndMs(sql, tenantId),
      bytesProcessedLastDay: (tenantId: string) => bytesProcessedLastDay(sql, tenantId),
    },
    anomalies: {
      list: (tenantId: string, f: AnomalyFilters, limit: number, after: readonly [number, string] | null) =>
        listAnomalies(sql, tenantId, f, limit, after),
      find: (tenantId: string, id: string) => findAnomaly(sql, tenantId, id),
      transition: (t: AnomalyTransitionRequest) => transitionAnomaly(sql, t),
    },
    events: {
      read: (tenantId: string, after: EventPosition, limit: number) =>
        readEvents(sql, tenantId, after, limit),
      head: (tenantId: string) => headPosition(sql, tenantId),
    },
    webhooks: {
      create: (s: NewSubscription) => insertSubscription(sql, s),
      list: (tenantId: string) => listSubscriptions(sql, tenantId),
      find: (tenantId: string, id: string) => findSubscription(sql, tenantId, id),
      remove: (tenantId: string, id: string) => deleteSubscription(sql, tenantId, id),
      deliveries: (tenantId: string, subscriptionId: string, limit: number) =>
        listDeliveries(sql, tenantId, subscriptionId, limit),
      requeue: (tenantId: string, subscriptionId: string, deliveryId: string) =>
        requeueDelivery(sql, tenantId, subscriptionId, deliveryId),
    },
    quality: {
      counters: (nodeId: string, fromMs: number, toMs: number) =>
        readQualityCounters(sql, nodeId, fromMs, toMs),
    },
    efficiency: {
      latest: (tenantId: string, periodKind: 'day' | 'month', filter: BalanceFilter) =>
        latestEfficiency(sql, tenantId, periodKind, filter),
    },
    predictions: {
      latest: (tenantId: string, targetId: string) => latestPrediction(sql, tenantId, targetId),
      scoresByRole: (tenantId: string) => modelScoresByRole(sql, tenantId),
      servingModels: (tenantId: string) => servingModels(sql, tenantId),
    },
    reports: {
      list: (tenantId: string, page: ReportPage) => listReports(sql, tenantId, page),
      find: (tenantId: string, id: string) => findReport(sql, tenantId, id),
    },
    patterns: { find: (tenantId: string, districtId: string) => readPatterns(sql, tenantId, districtId) },
    health: { ping: () => ping(sql) },
  };
}
