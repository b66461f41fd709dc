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
  /** A district's consumption patterns (`*`: the network's), refreshed once per local day. */
  patterns: (tenant: string, districtId: string) => `t:${tenant}:patterns:${districtId}`,
} as const;

/**
 * The API's own answers, kept in its in-process memory tier only (the cycle never writes them): `api`
 * keeps them apart from the hot keys above, and each key holds every parameter of its answer.
 */
export const answerKeys = {
  /** A page of the node list. */
  nodesPage: (tenant: string, limit: number, after: string | null, kind?: string, district?: string) =>
    `t:${tenant}:api:nodes:${limit}:${after ?? ''}:${kind ?? ''}:${district ?? ''}`,
  /** A node's history; an open end is empty (it follows the node's latest reading). */
  history: (
    tenant: string,
    nodeId: string,
    resolution: string,
    fromMs: number | null,
    toMs: number | null,
    format: 'csv' | 'json',
  ) => `t:${tenant}:api:history:${nodeId}:${resolution}:${fromMs ?? ''}:${toMs ?? ''}:${format}`,
  quality: (tenant: string, targetId: string, range: Range) => `t:${tenant}:api:quality:${targetId}:${range}`,
  status: (tenant: string) => `t:${tenant}:api:status`,
  /** Every anomaly answer of a tenant starts with this: a transition forgets them all at once. */
  anomalies: (tenant: string) => `t:${tenant}:api:anomalies:`,
  /** A page of anomalies: the query (filters, limit, cursor position) as JSON. */
  anomaliesPage: (tenant: string, query: unknown) =>
    `t:${tenant}:api:anomalies:list:${JSON.stringify(query)}`,
  anomaly: (tenant: string, id: string) => `t:${tenant}:api:anomalies:one:${id}`,
  efficiency: (tenant: string, period: 'day' | 'month', label?: string, district?: string) =>
    `t:${tenant}:api:efficiency:${period}:${label ?? ''}:${district ?? ''}`,
  /** The latest forecast as the API shapes it (the cycle's hot key is `keys.predictions`). */
  predictions: (tenant: string, targetId: string) => `t:${tenant}:api:predictions:${targetId}`,
  patterns: (tenant: string, districtId: string) => `t:${tenant}:api:patterns:${districtId}`,
  reportsPage: (tenant: string, query: unknown) => `t:${tenant}:api:reports:list:${JSON.stringify(query)}`,
  report: (tenant: string, id: string, format: string) => `t:${tenant}:api:reports:one:${id}:${format}`,
} as const;
