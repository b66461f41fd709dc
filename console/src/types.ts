/** The shapes of the public API's answers the console reads (the subset it uses; see /openapi.json). */
export type Role = 'reader' | 'operator' | 'admin';

export interface NodeInfo {
  id: string;
  name: string;
  kind: string;
  districtId: string | null;
  latitude: number | null;
  longitude: number | null;
  metrics: string[];
}

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

export interface Probe {
  ok: boolean;
  latencyMs: number | null;
  error?: string;
}

export interface ApiFigures {
  since: string;
  requests: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  byTier: Record<string, number>;
  hitRatio: Record<string, number | null>;
}

export interface Status {
  status: 'ok' | 'degraded' | 'down';
  tiers: {
    memory: { ok: boolean; entries?: number; bytes?: number };
    hot: Probe & { kind: string };
    postgres: Probe;
  };
  stale: boolean;
  freshness: {
    lastRunAt: string | null;
    lastRunStatus: string | null;
    latestReadingAt: string | null;
    dataAgeSeconds: number | null;
    stale: boolean;
  } | null;
  bytesProcessed: { lastRun: number; last24h: number } | null;
  runs: Run[] | null;
  caller?: { tenantId: string; role: Role; keyId: string; name: string };
  api?: ApiFigures;
}

export interface Summary {
  nodes: { total: number; reportingLastHour: number; byKind: Record<string, number> };
  network24h: {
    systemInflowLps: number | null;
    pressureBar: { mean: number | null; min: number | null };
    quality: { chlorineMinMgL: number | null; turbidityMaxNtu: number | null };
  } | null;
  anomalies: { open: number; acknowledged: number; bySeverity: Record<string, number> };
  qualityScore: number | null;
  efficiency: { day: string | null; month: string | null; nrwPercentDay: number | null };
}

export interface Anomaly {
  id: string;
  nodeId: string | null;
  districtId: string | null;
  type: string;
  metric: string | null;
  severity: string;
  status: string;
  startedAt: string;
  lastSeenAt: string;
  openedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  note: string | null;
  evidence: Record<string, unknown>;
}

export interface Page<T> {
  data: T[];
  next: string | null;
}

export interface HistoryPoint {
  t: string;
  metric: string;
  count: number;
  mean: number | null;
  min: number | null;
  max: number | null;
}

export interface History {
  nodeId: string;
  resolution: string;
  from: string;
  to: string;
  points: HistoryPoint[];
}

export interface WindowStats {
  count: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  p05?: number | null;
  p50?: number | null;
  p95?: number | null;
  last?: number | null;
}

export interface Metrics {
  range: string;
  from: string;
  to: string;
  metrics: Record<string, WindowStats>;
}

export interface Readings {
  asOf: string | null;
  values: Record<string, { value: number; ts: string }>;
}

export interface Prediction {
  targetId: string;
  modelId: string;
  issuedAt: string;
  horizonStart: string;
  unit: string;
  points: { t: string; mean: number; lo80: number; hi80: number; lo95: number; hi95: number }[];
}

export interface QualityReport {
  range: string;
  report: {
    completeness: number;
    validity: number;
    timeliness: number;
    flatlineShare: number;
    duplicateShare: number;
    outOfOrderShare: number;
    score: number;
    lagMs: number | null;
  } | null;
}

export interface Balance {
  districtId: string | null;
  periodKind: 'day' | 'month';
  periodLabel: string;
  computedAt: string;
  figures: Record<string, unknown>;
}

export interface Efficiency {
  network: Balance | null;
  districts: Balance[];
}
