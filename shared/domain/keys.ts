/**
 * The hot keys the API reads. Every key carries its tenant, so one Redis serves many tenants
 * without one ever reading another's values.
 */
import type { Range } from './windows.ts';

export const keys = {
  nodeMetadata: (tenant: string, nodeId: string) => `t:${tenant}:node:${nodeId}:metadata`,
  nodeLatest: (tenant: string, nodeId: string) => `t:${tenant}:node:${nodeId}:latest`,
  nodeMetrics: (tenant: string, nodeId: string, range: Range) =>
    `t:${tenant}:node:${nodeId}:metrics:${range}`,
  nodeTimeseries7d: (tenant: string, nodeId: string) => `t:${tenant}:node:${nodeId}:timeseries:7d`,
  nodesAll: (tenant: string) => `t:${tenant}:nodes:all`,
  systemMetrics: (tenant: string, range: Range) => `t:${tenant}:system:metrics:${range}`,
  networkMetrics: (tenant: string, range: Range) => `t:${tenant}:network:metrics:${range}`,
  dashboardSummary: (tenant: string) => `t:${tenant}:dashboard:summary`,
  anomaliesRecent: (tenant: string) => `t:${tenant}:anomalies:recent`,
  /** A node's data-quality scores per window (cycle, 24h, 7d). */
  nodeQuality: (tenant: string, nodeId: string) => `t:${tenant}:node:${nodeId}:quality`,
  /** The latest hourly forecast of a node or a district (the champion's, with 80 % and 95 % intervals). */
  predictions: (tenant: string, targetId: string) => `t:${tenant}:predictions:${targetId}`,
  /** Water balance and leakage KPIs of the latest day or month, network-wide and per district. */
  networkEfficiency: (tenant: string, period: 'day' | 'month') => `t:${tenant}:network:efficiency:${period}`,
  /** The network's data-quality score and its worst nodes. */
  networkQuality: (tenant: string) => `t:${tenant}:network:quality`,
  lastRun: (tenant: string) => `t:${tenant}:runs:last`,
} as const;
