/**
 * Forecasts in PostgreSQL: issued predictions (one row per target and issue hour, hourly arrays in the
 * body), the fitted models the registry names (forecast_models), their backtest and live scores
 * (model_performance), and the hourly flow series forecasts are trained on and refreshed with.
 */
import type { RoleScores, ServingModel } from '../../api/stores.ts';
import type { HourlyCells, ModelRow, PerformanceRow } from '../../cycle/forecasting/store.ts';
import type { IssuedPrediction, PredictionBody, PredictionRow } from '../../domain/predictions.ts';
import { metricIndex } from '../../domain/readings.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

/** The first forecast hour of each target's latest prediction. */
export async function latestIssues(db: Db, targetIds: readonly string[]): Promise<Map<string, number>> {
  if (targetIds.length === 0) return new Map();
  const rows = await db.unsafe<{ target_id: string; ms: number }[]>(
    `select target_id, ${ms('max(horizon_start)')} as ms from predictions
     where target_id = any($1::text[]) group by target_id`,
    [[...targetIds]],
  );
  return new Map(rows.map((r) => [r.target_id, r.ms]));
}

/** Idempotent: the same target and hour is one row, replaced by a later computation. */
export async function writePredictions(db: Db, rows: readonly PredictionRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.unsafe(
    `insert into predictions (tenant_id, target_id, target_kind, issued_at, model_id, horizon_start, body)
     select t, id, k, to_timestamp(h / 1000.0), m, to_timestamp(h / 1000.0), b::jsonb
     from unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::text[]) as x(t, id, k, h, m, b)
     on conflict (target_id, issued_at) do update set
       model_id = excluded.model_id, horizon_start = excluded.horizon_start, body = excluded.body`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.targetId),
      rows.map((r) => r.targetKind),
      rows.map((r) => r.horizonStartMs),
      rows.map((r) => r.modelId),
      rows.map((r) => JSON.stringify(r.body)),
    ],
  );
}

/** The prediction whose first hour was `horizonStartMs` (the one a live score checks), or null. */
export async function readPrediction(
  db: Db,
  targetId: string,
  horizonStartMs: number,
): Promise<{ modelId: string; body: PredictionBody } | null> {
  const rows = await db<{ model_id: string; body: PredictionBody }[]>`
    select model_id, body from predictions
    where target_id = ${targetId} and issued_at = to_timestamp(${horizonStartMs} / 1000.0)`;
  return rows[0] ? { modelId: rows[0].model_id, body: rows[0].body } : null;
}

export async function saveModels(db: Db, rows: readonly ModelRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.unsafe(
    `insert into forecast_models (tenant_id, target_id, target_kind, model_id, trained_at, data_to, body)
     select t, id, k, m, to_timestamp(tr / 1000.0), to_timestamp(d / 1000.0), b::jsonb
     from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::text[])
       as x(t, id, k, m, tr, d, b)
     on conflict (target_id, model_id) do update set
       trained_at = excluded.trained_at, data_to = excluded.data_to, body = excluded.body`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.targetId),
      rows.map((r) => r.targetKind),
      rows.map((r) => r.modelId),
      rows.map((r) => r.trainedMs),
      rows.map((r) => r.dataToMs),
      rows.map((r) => JSON.stringify(r.body)),
    ],
  );
}

export async function loadModel(db: Db, targetId: string, modelId: string): Promise<unknown | null> {
  const rows = await db<{ body: unknown }[]>`
    select body from forecast_models where target_id = ${targetId} and model_id = ${modelId}`;
  return rows[0]?.body ?? null;
}

const finiteOrNull = (x: number | null) => (x !== null && Number.isFinite(x) ? x : null);

export async function writePerformance(db: Db, rows: readonly PerformanceRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.unsafe(
    `insert into model_performance (target_id, model_id, evaluated_at, role, kind, mae_day1, max_ae_day1, mae_days2to7)
     select id, m, to_timestamp(e / 1000.0), r, k, a, b, c
     from unnest($1::text[], $2::text[], $3::float8[], $4::text[], $5::text[], $6::float8[], $7::float8[], $8::float8[])
       as x(id, m, e, r, k, a, b, c)
     on conflict (target_id, model_id, evaluated_at, kind) do update set
       role = excluded.role, mae_day1 = excluded.mae_day1, max_ae_day1 = excluded.max_ae_day1,
       mae_days2to7 = excluded.mae_days2to7`,
    [
      rows.map((r) => r.targetId),
      rows.map((r) => r.modelId),
      rows.map((r) => r.evaluatedAtMs),
      rows.map((r) => r.role),
      rows.map((r) => r.kind),
      rows.map((r) => finiteOrNull(r.maeDay1)),
      rows.map((r) => finiteOrNull(r.maxAeDay1)),
      rows.map((r) => finiteOrNull(r.maeDays2to7)),
    ],
  );
}

/** Hourly count and sum of one metric per node over [fromMs, toMs) (no sketches: cheap to read). */
export async function readHourly(
  db: Db,
  nodeIds: readonly string[],
  metric: 'flow' | 'pressure',
  fromMs: number,
  toMs: number,
): Promise<HourlyCells> {
  const out: HourlyCells = new Map();
  if (nodeIds.length === 0 || toMs <= fromMs) return out;
  const rows = await db.unsafe<{ node_id: string; ms: number; count: number; sum: number }[]>(
    `select node_id, ${ms('bucket')} as ms, count, sum from agg_1h
     where node_id = any($1::text[]) and metric = $2 and bucket >= to_timestamp($3 / 1000.0)
       and bucket < to_timestamp($4 / 1000.0)
     order by node_id, bucket`,
    [[...nodeIds], metricIndex(metric), fromMs, toMs],
  );
  for (const r of rows) {
    const list = out.get(r.node_id);
    const row = { bucketMs: r.ms, count: r.count, sum: r.sum };
    if (list) list.push(row);
    else out.set(r.node_id, [row]);
  }
  return out;
}

// Read by the API

/** The tenant's latest forecast of a target, or null. */
export async function latestPrediction(
  db: Db,
  tenantId: string,
  targetId: string,
): Promise<IssuedPrediction | null> {
  const rows = await db<
    {
      target_id: string;
      target_kind: 'node' | 'district';
      issued_at: Date;
      model_id: string;
      horizon_start: Date;
      body: IssuedPrediction['body'];
    }[]
  >`
    select target_id, target_kind, issued_at, model_id, horizon_start, body from predictions
    where target_id = ${targetId} and tenant_id = ${tenantId}
    order by issued_at desc limit 1`;
  const r = rows[0];
  return r
    ? {
        targetId: r.target_id,
        targetKind: r.target_kind,
        issuedAt: r.issued_at,
        modelId: r.model_id,
        horizonStart: r.horizon_start,
        body: r.body,
      }
    : null;
}

export async function modelScoresByRole(db: Db, tenantId: string): Promise<RoleScores[]> {
  const models = await db<
    {
      role: string;
      models: number;
      mae1: number | null;
      maxae1: number | null;
      mae27: number | null;
      last: Date | null;
    }[]
  >`
    select role, count(*)::int4 as models, avg(mae_day1)::float8 as mae1, avg(max_ae_day1)::float8 as maxae1,
      avg(mae_days2to7)::float8 as mae27, max(evaluated_at) as last
    from (
      select distinct on (target_id, model_id) * from model_performance
      where target_id in (select id from nodes where tenant_id = ${tenantId}
                          union all select id from districts where tenant_id = ${tenantId})
      order by target_id, model_id, evaluated_at desc) m
    group by role order by role`;
  return models.map((m) => ({
    role: m.role,
    models: m.models,
    meanMaeDay1: m.mae1,
    meanMaxAeDay1: m.maxae1,
    meanMaeDays2to7: m.mae27,
    lastEvaluatedAt: m.last,
  }));
}

/**
 * Which model serves each forecast target of the tenant (district inlets and districts), from its latest
 * prediction: one index probe per node and district of the tenant.
 */
export async function servingModels(db: Db, tenantId: string): Promise<ServingModel[]> {
  const rows = await db<
    {
      target_id: string;
      target_kind: 'node' | 'district';
      model_id: string;
      horizon_start: Date;
      served_by: string | null;
      history_hours: number | null;
      note: string | null;
      trained_at: string | null;
    }[]
  >`
    select t.id as target_id, p.target_kind, p.model_id, p.horizon_start, p.body->>'servedBy' as served_by,
      (p.body->>'historyHours')::float8 as history_hours, p.body->>'note' as note,
      p.body->>'trainedAt' as trained_at
    from (select id from nodes where tenant_id = ${tenantId}
          union all select id from districts where tenant_id = ${tenantId}) t
    cross join lateral (
      select target_kind, model_id, horizon_start, body from predictions
      where target_id = t.id and tenant_id = ${tenantId}
      order by issued_at desc limit 1) p
    order by p.target_kind, t.id`;
  return rows.map((r) => ({
    targetId: r.target_id,
    targetKind: r.target_kind,
    modelId: r.model_id,
    servedBy: r.served_by === 'fallback' ? 'fallback' : 'champion',
    historyHours: r.history_hours,
    note: r.note,
    trainedAt: r.trained_at,
    horizonStart: r.horizon_start.toISOString(),
  }));
}

// Purged by the cycle's maintenance step

export async function purgePredictions(db: Db, before: Date): Promise<number> {
  return (await db`delete from predictions where issued_at < ${before}`).count;
}

export async function purgeModelPerformance(db: Db, before: Date): Promise<number> {
  return (await db`delete from model_performance where evaluated_at < ${before}`).count;
}
