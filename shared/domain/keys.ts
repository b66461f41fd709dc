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
  lastRun: (tenant: string) => `t:${tenant}:runs:last`,
} as const;
