/**
 * KPI reports (owner of kpi_reports): stored once per period (insert-or-nothing, so a redelivered rollup
 * generates nothing twice), listed with keyset paging, purged by retention; and the period figures the
 * rollup gathers for them that no other store reads — anomaly lifecycle counts, data completeness,
 * water-quality compliance and the champions' live forecast scores, per district in one statement each.
 */
import type { ListedReport, ReportPage, StoredReport } from '../../api/stores.ts';
import type { PeriodFigures, QualityLimits, ReportRow } from '../../cycle/rollup/store.ts';
import { metricIndex } from '../../domain/readings.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;
const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

/** Which of these report ids the tenant has already. */
export async function existingReports(
  db: Db,
  tenantId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db<{ id: string }[]>`
    select id from kpi_reports where tenant_id = ${tenantId} and id = any(${[...ids]}::text[])`;
  return new Set(rows.map((r) => r.id));
}

/** Stores reports not stored yet; a report already there is kept as it was (generated once). */
export async function writeReports(db: Db, rows: readonly ReportRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await db.unsafe(
    `insert into kpi_reports (tenant_id, id, district_id, period, period_label, period_start, period_end, generated_at, body)
     select t, i, d, p, l, to_timestamp(s / 1000.0), to_timestamp(e / 1000.0), to_timestamp(g / 1000.0), b::jsonb
     from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], $8::float8[], $9::text[])
       as x(t, i, d, p, l, s, e, g, b)
     on conflict (tenant_id, id) do nothing`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.id),
      rows.map((r) => r.districtId),
      rows.map((r) => r.period),
      rows.map((r) => r.label),
      rows.map((r) => r.startMs),
      rows.map((r) => r.endMs),
      rows.map((r) => r.generatedAtMs),
      rows.map((r) => JSON.stringify(r.body)),
    ],
  );
  return result.count;
}

/** Anomalies of the tenant opened, acknowledged and resolved in [fromMs, toMs), per district ('*' = all). */
export async function periodFigures(
  db: Db,
  tenantId: string,
  fromMs: number,
  toMs: number,
  limits: QualityLimits,
): Promise<Map<string, PeriodFigures>> {
  const from = new Date(fromMs);
  const to = new Date(toMs);
  const out = new Map<string, PeriodFigures>();
  const at = (d: string) => {
    let f = out.get(d);
    if (!f) {
      f = {
        opened: 0,
        acknowledged: 0,
        resolved: 0,
        meanAckSeconds: null,
        medianAckSeconds: null,
        nodes: 0,
        nodeHours: 0,
        qualityHours: 0,
        qualityHoursCompliant: 0,
        forecastScores: 0,
        maeDay1: null,
        maxAeDay1: null,
        maeDays2to7: null,
      };
      out.set(d, f);
    }
    return f;
  };
  const anomalies = await db<
    {
      d: string | null;
      opened: number;
      acked: number;
      resolved: number;
      mean_s: number | null;
      median_s: number | null;
    }[]
  >`
    select coalesce(a.district_id, n.district_id, '') as d,
      count(*) filter (where a.opened_at >= ${from} and a.opened_at < ${to})::int4 as opened,
      count(*) filter (where a.acknowledged_at >= ${from} and a.acknowledged_at < ${to})::int4 as acked,
      count(*) filter (where a.resolved_at >= ${from} and a.resolved_at < ${to})::int4 as resolved,
      avg(extract(epoch from a.acknowledged_at - a.opened_at))
        filter (where a.acknowledged_at >= ${from} and a.acknowledged_at < ${to})::float8 as mean_s,
      percentile_cont(0.5) within group (order by extract(epoch from a.acknowledged_at - a.opened_at))
        filter (where a.acknowledged_at >= ${from} and a.acknowledged_at < ${to})::float8 as median_s
    from anomalies a left join nodes n on n.id = a.node_id
    where a.tenant_id = ${tenantId} and a.opened_at is not null
      and (a.opened_at < ${to}) and (a.resolved_at is null or a.resolved_at >= ${from})
    group by grouping sets ((coalesce(a.district_id, n.district_id, '')), ())`;
  for (const r of anomalies) {
    const f = at(r.d === null ? '*' : r.d);
    f.opened = r.opened;
    f.acknowledged = r.acked;
    f.resolved = r.resolved;
    f.meanAckSeconds = r.mean_s;
    f.medianAckSeconds = r.median_s;
  }
  const chlorine = metricIndex('chlorine');
  const turbidity = metricIndex('turbidity');
  const data = await db.unsafe<{ d: string | null; nodes: number; hours: number; q: number; ok: number }[]>(
    `select n.district_id as d, count(distinct n.id)::int4 as nodes,
       count(distinct (a.node_id, a.bucket))::int4 as hours,
       count(*) filter (where a.metric in ($4, $5))::int4 as q,
       count(*) filter (where (a.metric = $4 and a.sum / a.count between $6 and $7)
                           or (a.metric = $5 and a.sum / a.count <= $8))::int4 as ok
     from nodes n left join agg_1h a on a.node_id = n.id and a.count > 0
       and a.bucket >= to_timestamp($2 / 1000.0) and a.bucket < to_timestamp($3 / 1000.0)
     where n.tenant_id = $1 and n.district_id is not null
     group by grouping sets ((n.district_id), ())`,
    [
      tenantId,
      fromMs,
      toMs,
      chlorine,
      turbidity,
      limits.chlorineMin,
      limits.chlorineMax,
      limits.turbidityMax,
    ],
  );
  for (const r of data) {
    const f = at(r.d ?? '*');
    f.nodes = r.nodes;
    f.nodeHours = r.hours;
    f.qualityHours = r.q;
    f.qualityHoursCompliant = r.ok;
  }
  const scores = await db<
    { d: string | null; n: number; mae1: number | null; max1: number | null; mae27: number | null }[]
  >`
    select coalesce(n.district_id, d.id) as d, count(*)::int4 as n, avg(m.mae_day1)::float8 as mae1,
      avg(m.max_ae_day1)::float8 as max1, avg(m.mae_days2to7)::float8 as mae27
    from model_performance m
    left join nodes n on n.id = m.target_id and n.tenant_id = ${tenantId}
    left join districts d on d.id = m.target_id and d.tenant_id = ${tenantId}
    where (n.id is not null or d.id is not null) and m.kind = 'live'
      and m.evaluated_at >= ${from} and m.evaluated_at < ${to}
    group by grouping sets ((coalesce(n.district_id, d.id)), ())`;
  for (const r of scores) {
    const f = at(r.d ?? '*');
    f.forecastScores = r.n;
    f.maeDay1 = r.mae1;
    f.maxAeDay1 = r.max1;
    f.maeDays2to7 = r.mae27;
  }
  return out;
}

const listed = (r: {
  id: string;
  district_id: string;
  period: 'daily' | 'weekly';
  period_label: string;
  start_ms: number;
  end_ms: number;
  generated_ms: number;
}): ListedReport => ({
  id: r.id,
  districtId: r.district_id === '*' ? null : r.district_id,
  period: r.period,
  label: r.period_label,
  startMs: r.start_ms,
  endMs: r.end_ms,
  generatedAtMs: r.generated_ms,
});

/** A page of the tenant's reports, newest period first (then id), after the keyset position. */
export async function listReports(db: Db, tenantId: string, page: ReportPage): Promise<ListedReport[]> {
  const params: unknown[] = [tenantId, page.period, page.limit];
  let where = 'tenant_id = $1 and period = $2';
  if (page.districtId !== undefined) {
    params.push(page.districtId ?? '*');
    where += ` and district_id = $${params.length}`;
  }
  if (page.after) {
    params.push(page.after[0], page.after[1]);
    where += ` and (period_start, id) < (to_timestamp($${params.length - 1} / 1000.0), $${params.length})`;
  }
  const rows = await db.unsafe<Parameters<typeof listed>[0][]>(
    `select id, district_id, period, period_label, ${ms('period_start')} as start_ms, ${ms('period_end')} as end_ms,
       ${ms('generated_at')} as generated_ms
     from kpi_reports where ${where} order by period_start desc, id desc limit $3`,
    params as never[],
  );
  return rows.map(listed);
}

export async function findReport(db: Db, tenantId: string, id: string): Promise<StoredReport | null> {
  const rows = await db.unsafe<(Parameters<typeof listed>[0] & { body: unknown })[]>(
    `select id, district_id, period, period_label, ${ms('period_start')} as start_ms, ${ms('period_end')} as end_ms,
       ${ms('generated_at')} as generated_ms, body
     from kpi_reports where tenant_id = $1 and id = $2`,
    [tenantId, id],
  );
  const r = rows[0];
  return r ? { ...listed(r), body: r.body } : null;
}

export async function purgeReports(db: Db, before: Date): Promise<number> {
  return (await db`delete from kpi_reports where period_start < ${before}`).count;
}
