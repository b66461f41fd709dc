/** The anomalies table as the API reads and changes it (the cycle writes it; operators transition it). */
import type { Sql } from '../../adapters/postgres/client.ts';

export interface AnomalyRow {
  id: string;
  node_id: string | null;
  district_id: string | null;
  type: string;
  metric: string | null;
  severity: 'warning' | 'minor' | 'major' | 'critical';
  status: 'pending' | 'open' | 'acknowledged' | 'resolved';
  started_at: Date;
  /** started_at in epoch microseconds: the exact sort key of keyset paging. */
  started_us: number;
  last_seen_at: Date;
  opened_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution: string | null;
  evidence: Record<string, unknown>;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const anomalyPayload = (r: AnomalyRow) => ({
  id: r.id,
  nodeId: r.node_id,
  districtId: r.district_id,
  type: r.type,
  metric: r.metric,
  severity: r.severity,
  status: r.status,
  startedAt: r.started_at.toISOString(),
  lastSeenAt: r.last_seen_at.toISOString(),
  openedAt: iso(r.opened_at),
  acknowledgedAt: iso(r.acknowledged_at),
  acknowledgedBy: r.acknowledged_by,
  resolvedAt: iso(r.resolved_at),
  resolvedBy: r.resolved_by,
  note: r.resolution,
  evidence: r.evidence,
});

const COLUMNS = `id, node_id, district_id, type, metric, severity, status, started_at,
  (extract(epoch from started_at) * 1000000)::int8::float8 as started_us, last_seen_at, opened_at,
  acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution, evidence`;

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

export async function listAnomalies(
  sql: Sql,
  tenantId: string,
  f: AnomalyFilters,
  limit: number,
  after: readonly [number, string] | null,
): Promise<AnomalyRow[]> {
  return sql<AnomalyRow[]>`
    select ${sql.unsafe(COLUMNS)} from anomalies
    where tenant_id = ${tenantId} and status = any(${f.statuses}::text[])
      ${f.severities ? sql`and severity = any(${f.severities}::text[])` : sql``}
      ${f.types ? sql`and type = any(${f.types}::text[])` : sql``}
      ${f.nodeId ? sql`and node_id = ${f.nodeId}` : sql``}
      ${f.districtId ? sql`and district_id = ${f.districtId}` : sql``}
      ${f.toMs !== undefined ? sql`and started_at < ${new Date(f.toMs)}` : sql``}
      ${f.fromMs !== undefined ? sql`and (resolved_at is null or resolved_at >= ${new Date(f.fromMs)})` : sql``}
      ${
        after
          ? sql`and ((extract(epoch from started_at) * 1000000)::int8, id) < (${after[0]}::int8, ${after[1]})`
          : sql``
      }
    order by started_at desc, id desc
    limit ${limit}`;
}

export async function findAnomaly(sql: Sql, tenantId: string, id: string): Promise<AnomalyRow | null> {
  const rows = await sql<AnomalyRow[]>`
    select ${sql.unsafe(COLUMNS)} from anomalies where id = ${id} and tenant_id = ${tenantId}`;
  return rows[0] ?? null;
}

export type TransitionResult =
  | { kind: 'changed' | 'unchanged'; row: AnomalyRow }
  | { kind: 'conflict'; row: AnomalyRow }
  | { kind: 'missing' };

/**
 * acknowledge: open → acknowledged; resolve: open | acknowledged → resolved. One conditional UPDATE,
 * so two operators racing cannot both change it; when it matches nothing, the current row says why.
 */
export async function transition(
  sql: Sql,
  t: { action: 'acknowledge' | 'resolve'; tenantId: string; id: string; by: string; note: string | null },
): Promise<TransitionResult> {
  const rows =
    t.action === 'acknowledge'
      ? await sql<AnomalyRow[]>`
          update anomalies set status = 'acknowledged', acknowledged_at = now(), acknowledged_by = ${t.by},
            resolution = coalesce(${t.note}, resolution), updated_at = now()
          where id = ${t.id} and tenant_id = ${t.tenantId} and status = 'open'
          returning ${sql.unsafe(COLUMNS)}`
      : await sql<AnomalyRow[]>`
          update anomalies set status = 'resolved', resolved_at = now(), resolved_by = ${t.by},
            resolution = coalesce(${t.note}, resolution), updated_at = now()
          where id = ${t.id} and tenant_id = ${t.tenantId} and status in ('open', 'acknowledged')
          returning ${sql.unsafe(COLUMNS)}`;
  if (rows[0]) return { kind: 'changed', row: rows[0] };
  const row = await findAnomaly(sql, t.tenantId, t.id);
  if (!row) return { kind: 'missing' };
  const done = t.action === 'acknowledge' ? 'acknowledged' : 'resolved';
  return row.status === done ? { kind: 'unchanged', row } : { kind: 'conflict', row };
}
