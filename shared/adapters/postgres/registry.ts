/**
 * The node and district registry. PostgreSQL is its system of record: the simulator and CSV
 * sources sync their networks into it; with BigQuery it is maintained by the CLI/API.
 */
import type { District, NodePage } from '../../api/stores.ts';
import type { DistrictMeters } from '../../cycle/rollup/store.ts';
import {
  type DistrictInfo,
  type Metric,
  type Network,
  NODE_KINDS,
  type NodeInfo,
  type NodeKind,
} from '../../domain/readings.ts';
import { numberArray, textArray } from './array-literal.ts';
import type { WritePart } from './batch-write.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

export async function upsertNetwork(db: Db, network: Network): Promise<void> {
  const t = network.tenantId;
  await db`insert into tenants (id, name) values (${t}, ${t}) on conflict (id) do nothing`;
  const d = network.districts;
  if (d.length > 0) {
    await db`
      insert into districts (id, tenant_id, name, timezone, mains_length_km, connections, private_pipe_km, avg_pressure_m)
      select * from unnest(
        ${d.map((x) => x.id)}::text[], ${d.map((x) => x.tenantId)}::text[], ${d.map((x) => x.name)}::text[],
        ${d.map((x) => x.timezone)}::text[], ${d.map((x) => x.mainsLengthKm) as number[]}::float8[],
        ${d.map((x) => x.connections) as number[]}::int4[], ${d.map((x) => x.privatePipeKm) as number[]}::float8[],
        ${d.map((x) => x.avgPressureM) as number[]}::float8[])
      on conflict (id) do update set name = excluded.name, timezone = excluded.timezone,
        mains_length_km = excluded.mains_length_km, connections = excluded.connections,
        private_pipe_km = excluded.private_pipe_km, avg_pressure_m = excluded.avg_pressure_m, updated_at = now()
      where districts.tenant_id = excluded.tenant_id`;
  }
  const n = network.nodes;
  if (n.length > 0) {
    await db`
      insert into nodes (id, tenant_id, district_id, kind, name, latitude, longitude, metrics, feeds_district_id)
      select id, tenant_id, district_id, kind, name, latitude, longitude, string_to_array(metrics, ','), feeds_district_id
      from unnest(
        ${n.map((x) => x.id)}::text[], ${n.map((x) => x.tenantId)}::text[], ${n.map((x) => x.districtId) as string[]}::text[],
        ${n.map((x) => x.kind)}::text[], ${n.map((x) => x.name)}::text[], ${n.map((x) => x.latitude) as number[]}::float8[],
        ${n.map((x) => x.longitude) as number[]}::float8[], ${n.map((x) => x.metrics.join(','))}::text[],
        ${n.map((x) => x.feedsDistrictId ?? null) as string[]}::text[])
        as t(id, tenant_id, district_id, kind, name, latitude, longitude, metrics, feeds_district_id)
      on conflict (id) do update set district_id = excluded.district_id, kind = excluded.kind, name = excluded.name,
        latitude = excluded.latitude, longitude = excluded.longitude, metrics = excluded.metrics,
        feeds_district_id = excluded.feeds_district_id, updated_at = now()
      where nodes.tenant_id = excluded.tenant_id`;
  }
}

interface NodeRow {
  id: string;
  tenant_id: string;
  district_id: string | null;
  kind: string;
  name: string;
  latitude: number | null;
  longitude: number | null;
  metrics: string[];
  feeds_district_id?: string | null;
}

export const nodeFromRow = (r: NodeRow): NodeInfo => ({
  id: r.id,
  tenantId: r.tenant_id,
  districtId: r.district_id,
  kind: (NODE_KINDS as readonly string[]).includes(r.kind) ? (r.kind as NodeKind) : 'pressure',
  name: r.name,
  latitude: r.latitude,
  longitude: r.longitude,
  metrics: r.metrics as Metric[],
  ...(r.feeds_district_id ? { feedsDistrictId: r.feeds_district_id } : {}),
});

/** A districts row. */
interface DistrictRow {
  id: string;
  tenant_id: string;
  name: string;
  timezone: string;
  mains_length_km: number | null;
  connections: number | null;
  private_pipe_km: number | null;
  avg_pressure_m: number | null;
}

const districtFromRow = (d: DistrictRow): DistrictInfo => ({
  id: d.id,
  tenantId: d.tenant_id,
  name: d.name,
  timezone: d.timezone,
  mainsLengthKm: d.mains_length_km,
  connections: d.connections,
  privatePipeKm: d.private_pipe_km,
  avgPressureM: d.avg_pressure_m,
});

export async function loadNetwork(db: Db, tenantId: string): Promise<Network> {
  const districts = await db<
    DistrictRow[]
  >`select * from districts where tenant_id = ${tenantId} order by id`;
  const nodes = await db<NodeRow[]>`
    select id, tenant_id, district_id, kind, name, latitude, longitude, metrics, feeds_district_id
    from nodes where tenant_id = ${tenantId} order by id`;
  return {
    tenantId,
    districts: districts.map(districtFromRow),
    nodes: nodes.map(nodeFromRow),
  };
}

/** Ingestion watermarks of a tenant's nodes; nodes without one get `initialMs`. */
export async function ensureWatermarks(
  db: Db,
  tenantId: string,
  initialMs: number,
): Promise<Map<string, number>> {
  await db`
    insert into node_watermarks (node_id, ingested_to)
    select id, to_timestamp(${initialMs} / 1000.0) from nodes where tenant_id = ${tenantId}
    on conflict (node_id) do nothing`;
  const rows = await db<{ node_id: string; ms: number }[]>`
    select w.node_id, (extract(epoch from w.ingested_to) * 1000)::float8 as ms
    from node_watermarks w join nodes n on n.id = w.node_id where n.tenant_id = ${tenantId}`;
  return new Map(rows.map((r) => [r.node_id, r.ms]));
}

// Read by the API (every read scoped to the caller's tenant: another tenant's row is simply not found).

/** Creates a tenant if it is new (a key's tenant, before its key). */
export async function ensureTenant(db: Db, tenantId: string): Promise<void> {
  await db`insert into tenants (id, name) values (${tenantId}, ${tenantId}) on conflict (id) do nothing`;
}

/** The node if it belongs to the tenant. */
export async function findNode(db: Db, tenantId: string, id: string): Promise<NodeInfo | null> {
  const rows = await db<NodeRow[]>`
    select id, tenant_id, district_id, kind, name, latitude, longitude, metrics, feeds_district_id
    from nodes where id = ${id} and tenant_id = ${tenantId}`;
  const row = rows[0];
  return row ? nodeFromRow(row) : null;
}

export async function findDistrict(db: Db, tenantId: string, id: string): Promise<District | null> {
  const rows = await db<District[]>`
    select id, name, timezone from districts where id = ${id} and tenant_id = ${tenantId}`;
  return rows[0] ?? null;
}

/** A page of the tenant's nodes by id: up to `limit` nodes after `after`, of a kind and district if given. */
export async function listNodes(db: Db, tenantId: string, page: NodePage): Promise<NodeInfo[]> {
  const { after, kind, districtId } = page;
  const rows = await db<NodeRow[]>`
    select id, tenant_id, district_id, kind, name, latitude, longitude, metrics, feeds_district_id from nodes
    where tenant_id = ${tenantId}
      ${after !== null ? db`and id > ${after}` : db``}
      ${kind ? db`and kind = ${kind}` : db``}
      ${districtId ? db`and district_id = ${districtId}` : db``}
    order by id limit ${page.limit}`;
  return rows.map(nodeFromRow);
}

/** The ids of a district's nodes, in order. */
export async function districtNodeIds(db: Db, tenantId: string, districtId: string): Promise<string[]> {
  const rows = await db<{ id: string }[]>`
    select id from nodes where tenant_id = ${tenantId} and district_id = ${districtId} order by id`;
  return rows.map((r) => r.id);
}

/** Which of `ids` are nodes of the tenant (the readings ingestion's tenant check: one query per batch). */
export async function existingNodeIds(db: Db, tenantId: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db<{ id: string }[]>`
    select id from nodes where tenant_id = ${tenantId} and id = any(${ids as string[]}::text[])`;
  return rows.map((r) => r.id);
}

// Read and written by the cycle

/**
 * Serialises a node's batches: the node's lock, held until the transaction ends, and generic plans for
 * the rest of the transaction, in one statement (`set_config(…, true)` is SET LOCAL). The batch's
 * statements are prepared; left to choose (`auto`), PostgreSQL re-planned the node-state read and the
 * stored-bucket read at every execution (their generic plans are costed over every daily partition of
 * agg_5m, pruned only when they run): about 1 ms of planning per node. Their generic plans are index
 * scans on the node's key, as the custom ones. Measured by replaying a logged bench:cycle's statements
 * (backend CPU per execution; 100 nodes, 22 days of history): node-state read 1.15–1.50 → 0.59–0.88 ms,
 * stored buckets 0.51–0.63 → 0.28–0.35 ms.
 */
export async function lockNodeForBatch(tx: TransactionSql, nodeId: string): Promise<void> {
  await tx`
    select pg_advisory_xact_lock(hashtextextended(${nodeId}, 0)),
           set_config('plan_cache_mode', 'force_generic_plan', true)`;
}

/**
 * The locks of several nodes' batches in one transaction, in the order of their lock keys (every
 * transaction takes them in the same order: no deadlock between two that share nodes), and the
 * generic plans, as for one node.
 */
export async function lockNodesForBatch(tx: TransactionSql, nodeIds: readonly string[]): Promise<void> {
  await tx`
    select count(pg_advisory_xact_lock(k))::int4 as locked,
           set_config('plan_cache_mode', 'force_generic_plan', true)
    from (select distinct hashtextextended(id, 0) as k from unnest(${[...nodeIds]}::text[]) as id order by k) as keys`;
}

export async function readWatermark(db: Db, nodeId: string): Promise<number | null> {
  const rows = await db<{ ms: number | null }[]>`
    select (extract(epoch from ingested_to) * 1000)::float8 as ms from node_watermarks where node_id = ${nodeId}`;
  return rows[0]?.ms ?? null;
}

/** A node's new watermark, as a part of its batch's combined write (batch-write.ts). */
export function writeWatermarkPart(nodeId: string, toMs: number): WritePart {
  return {
    ctes: (n) => [
      `insert into node_watermarks (node_id, ingested_to) values ($${n}, to_timestamp($${n + 1}::float8 / 1000.0))
       on conflict (node_id) do update set ingested_to = excluded.ingested_to`,
    ],
    params: [nodeId, toMs],
    merge: { kind: 'watermark', rows: [[nodeId, toMs]], of: watermarkRowsPart },
  };
}

/** Several nodes' new watermarks (rows of node, time) as one part: what writeWatermarkPart writes. */
function watermarkRowsPart(rows: unknown[]): WritePart {
  const r = rows as [string, number][];
  return {
    ctes: (n) => [
      `insert into node_watermarks (node_id, ingested_to)
       select x.n, to_timestamp(x.t / 1000.0) from unnest($${n}::text::text[], $${n + 1}::text::float8[]) as x(n, t)
       on conflict (node_id) do update set ingested_to = excluded.ingested_to`,
    ],
    params: [textArray(r.map((x) => x[0])), numberArray(r.map((x) => x[1]))],
  };
}

export async function readDistrictTimezone(db: Db, districtId: string): Promise<string | null> {
  const rows = await db<{ timezone: string }[]>`select timezone from districts where id = ${districtId}`;
  return rows[0]?.timezone ?? null;
}

/** The tenant's node count per kind, in kind order. */
export async function countNodesByKind(db: Db, tenantId: string): Promise<{ kind: string; n: number }[]> {
  return [
    ...(await db<{ kind: string; n: number }[]>`
    select kind, count(*)::int4 as n from nodes where tenant_id = ${tenantId} group by kind order by kind`),
  ];
}

// Read by the local run and the CLI scripts

/** The tenant's district ids, in order. */
export async function districtIds(db: Db, tenantId: string): Promise<string[]> {
  const rows = await db<{ id: string }[]>`select id from districts where tenant_id = ${tenantId} order by id`;
  return rows.map((r) => r.id);
}

/** The first node id (an example for the URLs the local run prints), or null when there are none. */
export async function firstNodeId(db: Db): Promise<string | null> {
  const rows = await db<{ id: string }[]>`select id from nodes order by id limit 1`;
  return rows[0]?.id ?? null;
}

/** The oldest node watermark (where a resumed local run continues), or null before the first batch. */
export async function oldestWatermarkMs(db: Db): Promise<number | null> {
  const rows = await db<{ ms: number | null }[]>`
    select (extract(epoch from min(ingested_to)) * 1000)::float8 as ms from node_watermarks`;
  return rows[0]?.ms ?? null;
}

// Read by the rollup's water balance

/**
 * Districts with their metered nodes (all of a tenant's, or the ones named), and the nodes of other districts
 * (or of none) declared as feeding each (`feeds_district_id`).
 */
export async function districtMeters(
  db: Db,
  tenantId: string,
  districtIds?: readonly string[],
): Promise<DistrictMeters[]> {
  const districts = await db<DistrictRow[]>`
    select id, tenant_id, name, timezone, mains_length_km, connections, private_pipe_km, avg_pressure_m
    from districts where tenant_id = ${tenantId}
    ${districtIds ? db`and id = any(${[...districtIds]}::text[])` : db``} order by id`;
  const nodes = await db<
    { id: string; kind: NodeKind; district_id: string | null; feeds_district_id: string | null }[]
  >`
    select id, kind, district_id, feeds_district_id from nodes
    where tenant_id = ${tenantId} and (district_id is not null or feeds_district_id is not null)
    ${
      districtIds
        ? db`and (district_id = any(${[...districtIds]}::text[]) or feeds_district_id = any(${[...districtIds]}::text[]))`
        : db``
    } order by id`;
  return districts.map((d) => ({
    district: districtFromRow(d),
    nodes: nodes.filter((n) => n.district_id === d.id).map((n) => ({ id: n.id, kind: n.kind })),
    feeders: nodes
      .filter((n) => n.feeds_district_id === d.id && n.district_id !== d.id)
      .map((n) => ({ id: n.id, kind: n.kind })),
  }));
}
