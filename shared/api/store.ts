/** Small PostgreSQL reads several routes share; every one is scoped to the caller's tenant. */
import type { Sql } from '../adapters/postgres/client.ts';
import { nodeFromRow } from '../adapters/postgres/registry.ts';
import { readSnapshot } from '../adapters/postgres/serving.ts';
import type { NodeInfo } from '../domain/readings.ts';

/** The node if it belongs to the tenant; another tenant's node is simply not found. */
export async function ownNode(sql: Sql, tenantId: string, id: string): Promise<NodeInfo | null> {
  const rows = await sql`
    select id, tenant_id, district_id, kind, name, latitude, longitude, metrics
    from nodes where id = ${id} and tenant_id = ${tenantId}`;
  const row = rows[0];
  return row ? nodeFromRow(row as never) : null;
}

export async function ownDistrict(
  sql: Sql,
  tenantId: string,
  id: string,
): Promise<{ id: string; name: string; timezone: string } | null> {
  const rows = await sql<{ id: string; name: string; timezone: string }[]>`
    select id, name, timezone from districts where id = ${id} and tenant_id = ${tenantId}`;
  return rows[0] ?? null;
}

/**
 * The pipeline's "now" for a tenant: the end of its latest run's window (simulated or replayed data
 * keeps its own clock), or the wall clock before any run.
 */
export async function pipelineNow(sql: Sql, tenantId: string): Promise<number> {
  const rows = await sql<{ ms: number | null }[]>`
    select (extract(epoch from max(window_to)) * 1000)::float8 as ms from runs where tenant_id = ${tenantId}`;
  return rows[0]?.ms ?? Date.now();
}

export const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/**
 * A network snapshot's body. Snapshots written as JSON text into a jsonb parameter arrive as a jsonb
 * string (postgres.js serialises json parameters itself): read either form.
 */
export async function snapshotBody(sql: Sql, tenantId: string, kind: string): Promise<unknown | null> {
  const body = await readSnapshot(sql, tenantId, kind);
  return typeof body === 'string' ? JSON.parse(body) : body;
}
