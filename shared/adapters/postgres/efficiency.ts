/**
 * Water balance storage: which days a run's data touched, the inputs a balance is computed from
 * (hourly partials of a district's meters, billed consumption), and the balances themselves
 * (network_efficiency, one row per district — '*' for the network — period kind and local label).
 */
import type { PeriodKind } from '../../analytics/local-period.ts';
import type { BalanceFilter } from '../../api/stores.ts';
import type { BilledRow, HourlyMetricRow, TouchedSpan } from '../../cycle/rollup/store.ts';
import type { EfficiencyRow } from '../../domain/efficiency.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

/** The span of reading times each district's nodes received in a run (an outlet feeding another district touches both). */
export async function touchedSpans(db: Db, runId: string): Promise<TouchedSpan[]> {
  const rows = await db.unsafe<{ district_id: string; min_ms: number; max_ms: number }[]>(
    `select d.id as district_id, ${ms('min(b.min_ts)')} as min_ms, ${ms('max(b.max_ts)')} as max_ms
     from applied_batches b join nodes n on n.id = b.node_id
       cross join lateral (values (n.district_id), (n.feeds_district_id)) d(id)
     where b.run_id = $1 and d.id is not null and b.min_ts is not null
     group by d.id order by d.id`,
    [runId],
  );
  return rows.map((r) => ({ districtId: r.district_id, minMs: r.min_ms, maxMs: r.max_ms }));
}

/** Hourly count and sum of the given metrics (by METRICS index) of the given nodes over [fromMs, toMs). */
export async function readHourlyMetrics(
  db: Db,
  nodeIds: readonly string[],
  metrics: readonly number[],
  fromMs: number,
  toMs: number,
): Promise<HourlyMetricRow[]> {
  if (nodeIds.length === 0 || toMs <= fromMs) return [];
  const rows = await db.unsafe<
    { node_id: string; metric: number; ms: number; count: number; sum: number; first: number; last: number }[]
  >(
    `select node_id, metric, ${ms('bucket')} as ms, count, sum, first, last from agg_1h
     where node_id = any($1::text[]) and metric = any($2::int2[])
       and bucket >= to_timestamp($3 / 1000.0) and bucket < to_timestamp($4 / 1000.0)`,
    [[...nodeIds], [...metrics], fromMs, toMs],
  );
  return rows.map((r) => ({
    nodeId: r.node_id,
    metric: r.metric,
    bucketMs: r.ms,
    count: r.count,
    sum: r.sum,
    first: r.first,
    last: r.last,
  }));
}

/** Billed consumption of the districts overlapping [fromMs, toMs). */
export async function readBilled(
  db: Db,
  tenantId: string,
  districtIds: readonly string[],
  fromMs: number,
  toMs: number,
): Promise<BilledRow[]> {
  if (districtIds.length === 0) return [];
  const rows = await db<
    {
      id: number;
      district_id: string;
      from_ms: number;
      to_ms: number;
      volume_m3: number;
      unbilled_m3: number | null;
      source: string;
    }[]
  >`
    select id::float8 as id, district_id, (extract(epoch from period_from) * 1000)::float8 as from_ms,
      (extract(epoch from period_to) * 1000)::float8 as to_ms, volume_m3, unbilled_m3, source
    from billed_consumption
    where tenant_id = ${tenantId} and district_id = any(${[...districtIds]}::text[])
      and period_to > to_timestamp(${fromMs} / 1000.0) and period_from < to_timestamp(${toMs} / 1000.0)
    order by district_id, period_from, id`;
  return rows.map((r) => ({
    id: r.id,
    districtId: r.district_id,
    fromMs: r.from_ms,
    toMs: r.to_ms,
    volumeM3: r.volume_m3,
    unbilledM3: r.unbilled_m3,
    source: r.source,
  }));
}

export async function insertBilled(
  db: Db,
  entry: {
    tenantId: string;
    districtId: string;
    fromMs: number;
    toMs: number;
    volumeM3: number;
    unbilledM3?: number | null;
    source: string;
  },
): Promise<number> {
  const [row] = await db<{ id: number }[]>`
    insert into billed_consumption (tenant_id, district_id, period_from, period_to, volume_m3, unbilled_m3, source)
    values (${entry.tenantId}, ${entry.districtId}, to_timestamp(${entry.fromMs} / 1000.0),
      to_timestamp(${entry.toMs} / 1000.0), ${entry.volumeM3}, ${entry.unbilledM3 ?? null}, ${entry.source})
    returning id::float8 as id`;
  return row!.id;
}

export async function writeEfficiency(db: Db, rows: readonly EfficiencyRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.unsafe(
    `insert into network_efficiency (tenant_id, district_id, period_kind, period_label, computed_at, body)
     select t, d, k, l, to_timestamp(c / 1000.0), b::jsonb
     from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[]) as x(t, d, k, l, c, b)
     on conflict (tenant_id, district_id, period_kind, period_label) do update set
       computed_at = excluded.computed_at, body = excluded.body`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.districtId),
      rows.map((r) => r.periodKind),
      rows.map((r) => r.periodLabel),
      rows.map((r) => r.computedAtMs),
      rows.map((r) => JSON.stringify(r.body)),
    ],
  );
}

/** Stored balances of a period kind: of the given labels, or of labels starting with a prefix. */
export async function readEfficiency(
  db: Db,
  tenantId: string,
  periodKind: PeriodKind,
  labels: { exact?: readonly string[]; prefix?: string },
): Promise<EfficiencyRow[]> {
  const rows = await db<{ district_id: string; period_label: string; ms: number; body: unknown }[]>`
    select district_id, period_label, (extract(epoch from computed_at) * 1000)::float8 as ms, body
    from network_efficiency
    where tenant_id = ${tenantId} and period_kind = ${periodKind}
      ${labels.exact ? db`and period_label = any(${[...labels.exact]}::text[])` : db``}
      ${labels.prefix !== undefined ? db`and period_label like ${`${labels.prefix}%`}` : db``}
    order by period_label, district_id`;
  return rows.map((r) => ({
    tenantId,
    districtId: r.district_id,
    periodKind,
    periodLabel: r.period_label,
    computedAtMs: r.ms,
    body: r.body,
  }));
}

/** The latest stored label of a period kind, network-wide ('*'): the latest complete one if asked and any. */
export async function latestEfficiencyLabel(
  db: Db,
  tenantId: string,
  periodKind: PeriodKind,
  preferComplete = false,
): Promise<string | null> {
  const rows = await db<{ label: string | null; complete: string | null }[]>`
    select max(period_label) as label,
      max(period_label) filter (where (body->>'partial') is distinct from 'true') as complete
    from network_efficiency
    where tenant_id = ${tenantId} and period_kind = ${periodKind} and district_id = '*'`;
  return (preferComplete ? rows[0]?.complete : null) ?? rows[0]?.label ?? null;
}

// Read by the API

/** The latest period of each district (and of the network, '*') of a kind, or the period `label`. */
export async function latestEfficiency(
  db: Db,
  tenantId: string,
  periodKind: PeriodKind,
  filter: BalanceFilter,
): Promise<EfficiencyRow[]> {
  const { label, districtId } = filter;
  const rows = await db<
    {
      district_id: string;
      period_kind: PeriodKind;
      period_label: string;
      computed_at: Date;
      body: Record<string, unknown>;
    }[]
  >`
    select distinct on (district_id) district_id, period_kind, period_label, computed_at, body
    from network_efficiency
    where tenant_id = ${tenantId} and period_kind = ${periodKind}
      ${label ? db`and period_label = ${label}` : db``}
      ${districtId ? db`and district_id = ${districtId}` : db``}
    order by district_id, period_label desc`;
  return rows.map((r) => ({
    tenantId,
    districtId: r.district_id,
    periodKind: r.period_kind,
    periodLabel: r.period_label,
    computedAtMs: r.computed_at.getTime(),
    body: r.body,
  }));
}

// Read by the billing CLI

/** The first and last local day a district's balance is stored for, or null when none is. */
export async function storedDaySpan(
  db: Db,
  tenantId: string,
  districtId: string,
): Promise<{ first: string; last: string } | null> {
  const [span] = await db<{ first: string | null; last: string | null }[]>`
    select min(period_label) as first, max(period_label) as last from network_efficiency
    where tenant_id = ${tenantId} and district_id = ${districtId} and period_kind = 'day'`;
  return span?.first && span.last ? { first: span.first, last: span.last } : null;
}
