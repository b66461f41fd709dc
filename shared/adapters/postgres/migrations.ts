/**
 * Versioned, idempotent migrations. Each runs once, in order, inside a transaction, recorded in
 * `schema_migrations`; every statement is also safe to run twice (IF NOT EXISTS), so a migration
 * interrupted between its DDL and its record heals on the next run.
 *
 * They run on plain PostgreSQL 15+ (Cloud SQL), on PGlite (the embedded local default) and, where
 * the timescaledb extension is installed, they turn the time-series tables into hypertables with
 * compression and retention policies instead of native partitions (detected, not assumed).
 */
import type { Sql } from './client.ts';
import type { Migration, MigrationContext } from './migration-types.ts';
import { LATER_MIGRATIONS } from './migrations-later.ts';

export type { Migration, MigrationContext } from './migration-types.ts';

const aggColumns = `
  node_id   text        not null,
  metric    smallint    not null,
  bucket    timestamptz not null,
  count     integer     not null,
  sum       double precision not null,
  m2        double precision not null, -- Σ(v − mean)², the stable form of the sum of squares
  min       double precision not null,
  max       double precision not null,
  first_ts  timestamptz not null,
  first     double precision not null,
  last_ts   timestamptz not null,
  last      double precision not null,
  sketch    bytea       not null,
  seen      bytea,      -- 5m only: bitmap of the bucket's seconds holding a value (cross-batch dedupe)
  primary key (node_id, metric, bucket)`;

/** Time-series tables: native range partitions on plain PostgreSQL, hypertables with Timescale. */
export const TIME_SERIES_TABLES = {
  agg_5m: { partition: 'day', retentionDays: 90 },
  agg_1h: { partition: 'month', retentionDays: 90 },
  agg_1d: { partition: 'month', retentionDays: 90 },
} as const;

function timeSeriesTable(name: keyof typeof TIME_SERIES_TABLES, ctx: MigrationContext): string[] {
  const { partition, retentionDays } = TIME_SERIES_TABLES[name];
  if (!ctx.timescale) {
    return [`create table if not exists ${name} (${aggColumns}) partition by range (bucket)`];
  }
  const chunk = partition === 'day' ? '1 day' : '7 days';
  return [
    `create table if not exists ${name} (${aggColumns})`,
    `select create_hypertable('${name}', 'bucket', chunk_time_interval => interval '${chunk}', if_not_exists => true)`,
    `alter table ${name} set (timescaledb.compress, timescaledb.compress_segmentby = 'node_id, metric')`,
    `select add_compression_policy('${name}', interval '7 days', if_not_exists => true)`,
    `select add_retention_policy('${name}', interval '${retentionDays} days', if_not_exists => true)`,
  ];
}

/** The count columns of quality_5m/1h/1d (migration 4), named after QualityCounters' fields. */
const QUALITY_COUNT_COLUMNS = [
  'received',
  'present',
  'valid',
  'invalid',
  'future',
  'nan',
  'out_of_range',
  'duplicates',
  'out_of_order',
];
const camel = (column: string) => column.replace(/_(.)/g, (_, ch: string) => ch.toUpperCase());

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'registry, aggregates, watermarks, runs, serving tables',
    statements: (ctx) => [
      `create table if not exists tenants (
         id text primary key,
         name text not null,
         created_at timestamptz not null default now())`,
      // The system of record for districts and nodes (BigQuery holds readings only).
      `create table if not exists districts (
         id text primary key,
         tenant_id text not null references tenants(id),
         name text not null,
         timezone text not null default 'UTC',
         mains_length_km double precision,
         connections integer,
         private_pipe_km double precision,
         avg_pressure_m double precision,
         updated_at timestamptz not null default now())`,
      `create index if not exists districts_tenant on districts (tenant_id)`,
      `create table if not exists nodes (
         id text primary key,
         tenant_id text not null references tenants(id),
         district_id text references districts(id),
         kind text not null,
         name text not null,
         latitude double precision,
         longitude double precision,
         metrics text[] not null,
         updated_at timestamptz not null default now())`,
      `create index if not exists nodes_tenant on nodes (tenant_id, id)`,
      ...timeSeriesTable('agg_5m', ctx),
      ...timeSeriesTable('agg_1h', ctx),
      ...timeSeriesTable('agg_1d', ctx),
      // Per-node ingestion watermark: every reading ingested at or before it has been applied.
      // Advanced in the same transaction as the aggregates, so a batch applies exactly once.
      `create table if not exists node_watermarks (
         node_id text primary key,
         ingested_to timestamptz not null)`,
      // Audit trail of applied batches (run, node, part) and what each held.
      `create table if not exists applied_batches (
         run_id text not null,
         node_id text not null,
         part integer not null,
         applied_at timestamptz not null default now(),
         readings integer not null,
         rejected jsonb not null default '{}',
         primary key (run_id, node_id, part))`,
      `create index if not exists applied_batches_time on applied_batches (applied_at)`,
      `create table if not exists runs (
         id text primary key,
         tenant_id text not null,
         status text not null,
         started_at timestamptz not null,
         finished_at timestamptz,
         window_from timestamptz not null,
         window_to timestamptz not null,
         nodes_total integer not null,
         nodes_done integer not null default 0,
         nodes_failed integer not null default 0,
         failed_nodes text[] not null default '{}',
         readings bigint not null default 0,
         bytes_processed bigint not null default 0,
         duration_ms integer,
         source text not null)`,
      `create index if not exists runs_tenant_started on runs (tenant_id, started_at desc)`,
      // What the API serves, kept current by the cycle (the PostgreSQL tier of the read path).
      `create table if not exists node_latest (
         node_id text primary key,
         ts timestamptz not null,
         body jsonb not null)`,
      `create table if not exists node_window_metrics (
         node_id text not null,
         range text not null,
         as_of timestamptz not null,
         body jsonb not null,
         primary key (node_id, range))`,
      `create table if not exists network_snapshots (
         tenant_id text not null,
         kind text not null,
         as_of timestamptz not null,
         body jsonb not null,
         primary key (tenant_id, kind))`,
    ],
  },
  {
    version: 2,
    name: 'analytics, API keys and billing inputs',
    statements: () => [
      // Data-quality counters per node and 5-minute bucket (shared/analytics/quality.ts QualityCounters).
      `create table if not exists quality_5m (
         node_id text not null,
         bucket timestamptz not null,
         counters jsonb not null,
         primary key (node_id, bucket))`,
      `create index if not exists quality_5m_bucket on quality_5m (bucket)`,
      // Anomalies with their lifecycle: pending → open → acknowledged → resolved (auto or by an operator).
      // The id is deterministic (node/district, type, metric, start), so replays update, never duplicate.
      `create table if not exists anomalies (
         id text primary key,
         tenant_id text not null references tenants(id),
         node_id text,
         district_id text,
         type text not null,
         metric text,
         severity text not null check (severity in ('critical', 'major', 'minor', 'warning')),
         status text not null check (status in ('pending', 'open', 'acknowledged', 'resolved')),
         started_at timestamptz not null,
         last_seen_at timestamptz not null,
         opened_at timestamptz,
         acknowledged_at timestamptz,
         acknowledged_by text,
         resolved_at timestamptz,
         resolved_by text,
         resolution text,
         evidence jsonb not null default '{}',
         updated_at timestamptz not null default now())`,
      `create index if not exists anomalies_tenant_status on anomalies (tenant_id, status, started_at desc)`,
      `create index if not exists anomalies_node on anomalies (node_id, status)`,
      // Forecasts: one row per target (node or district) and issue time; hourly arrays in the body.
      `create table if not exists predictions (
         tenant_id text not null references tenants(id),
         target_id text not null,
         target_kind text not null check (target_kind in ('node', 'district')),
         issued_at timestamptz not null,
         model_id text not null,
         horizon_start timestamptz not null,
         body jsonb not null,
         primary key (target_id, issued_at))`,
      `create index if not exists predictions_issued on predictions (issued_at)`,
      `create table if not exists model_performance (
         target_id text not null,
         model_id text not null,
         evaluated_at timestamptz not null,
         role text not null check (role in ('champion', 'challenger', 'retired')),
         mae_day1 double precision,
         max_ae_day1 double precision,
         mae_days2to7 double precision,
         primary key (target_id, model_id, evaluated_at))`,
      // Water balance and leakage KPIs per district (district_id '*' = network-wide) and period.
      `create table if not exists network_efficiency (
         tenant_id text not null references tenants(id),
         district_id text not null,
         period_kind text not null check (period_kind in ('day', 'month')),
         period_label text not null,
         computed_at timestamptz not null,
         body jsonb not null,
         primary key (tenant_id, district_id, period_kind, period_label))`,
      // Billed (authorised) consumption entered through the API or CLI, for any period.
      `create table if not exists billed_consumption (
         id bigint generated always as identity primary key,
         tenant_id text not null references tenants(id),
         district_id text not null references districts(id),
         period_from timestamptz not null,
         period_to timestamptz not null,
         volume_m3 double precision not null check (volume_m3 >= 0),
         unbilled_m3 double precision check (unbilled_m3 >= 0),
         source text not null default 'api',
         created_at timestamptz not null default now(),
         check (period_to > period_from))`,
      `create index if not exists billed_consumption_district on billed_consumption (district_id, period_from)`,
      // API keys: only a hash of the secret is stored; the prefix identifies the key in logs and lists.
      `create table if not exists api_keys (
         id text primary key,
         tenant_id text not null references tenants(id),
         role text not null check (role in ('reader', 'operator', 'admin')),
         name text not null,
         secret_hash text not null,
         rate_limit_per_minute integer not null default 600,
         created_at timestamptz not null default now(),
         last_used_at timestamptz,
         revoked_at timestamptz)`,
      `create index if not exists api_keys_tenant on api_keys (tenant_id)`,
    ],
  },
  {
    version: 3,
    name: 'analytics in the cycle: hourly quality, node quality, fitted models, district nights',
    statements: () => [
      // Hourly and daily roll-ups of quality_5m (merged the same way): a node's 24 h and 7 d scores read
      // 24 hourly and 7 daily rows instead of 2,016 five-minute ones.
      `create table if not exists quality_1h (
         node_id text not null,
         bucket timestamptz not null,
         counters jsonb not null,
         primary key (node_id, bucket))`,
      `create index if not exists quality_1h_bucket on quality_1h (bucket)`,
      `create table if not exists quality_1d (
         node_id text not null,
         bucket timestamptz not null,
         counters jsonb not null,
         primary key (node_id, bucket))`,
      `create index if not exists quality_1d_bucket on quality_1d (bucket)`,
      // Counters and scores are rewritten every cycle in place: room on each page lets PostgreSQL update
      // them without touching their indexes (HOT updates).
      `alter table quality_5m set (fillfactor = 70)`,
      `alter table quality_1h set (fillfactor = 70)`,
      `alter table quality_1d set (fillfactor = 70)`,
      // A node's quality scores per window (cycle, 24h, 7d) as of its watermark; the rollup's network score.
      `create table if not exists node_quality (
         node_id text primary key,
         as_of timestamptz not null,
         body jsonb not null) with (fillfactor = 70)`,
      // What the lifecycle keeps besides migration 2's columns; `subject` tells node from district anomalies.
      `alter table anomalies add column if not exists subject text not null default 'node'`,
      `alter table anomalies add column if not exists peak_severity text`,
      `alter table anomalies add column if not exists first_seen_at timestamptz`,
      `alter table anomalies add column if not exists ended_at timestamptz`,
      `alter table anomalies add column if not exists peak_evidence jsonb`,
      `create index if not exists anomalies_district on anomalies (district_id, status)`,
      // Fitted forecast models (plain data) per target and method; the registry (Firestore) says which serves.
      `create table if not exists forecast_models (
         tenant_id text not null,
         target_id text not null,
         target_kind text not null check (target_kind in ('node', 'district')),
         model_id text not null,
         trained_at timestamptz not null,
         data_to timestamptz not null,
         body jsonb not null,
         primary key (target_id, model_id))`,
      // Backtest scores (at training) and live scores (a week of a served forecast against what happened).
      `alter table model_performance add column if not exists kind text not null default 'backtest'`,
      `alter table model_performance drop constraint if exists model_performance_pkey`,
      `alter table model_performance add primary key (target_id, model_id, evaluated_at, kind)`,
      // The reading times a batch held: the rollup recomputes water balances only for the days they touch.
      `alter table applied_batches add column if not exists min_ts timestamptz`,
      `alter table applied_batches add column if not exists max_ts timestamptz`,
      // Each local night's minimum net inflow per district, kept once the night is over (night-flow leaks).
      `create table if not exists district_nights (
         tenant_id text not null,
         district_id text not null,
         night text not null,
         start_at timestamptz not null,
         end_at timestamptz not null,
         mnf_lps double precision not null,
         at timestamptz not null,
         primary key (district_id, night))`,
    ],
  },
  {
    version: 4,
    name: 'quality counters in typed columns',
    // Ten counter rows are written per node and batch: as one jsonb document each (key names and all)
    // they were most of the write-ahead log the analytics added. Existing rows are converted in place.
    statements: () =>
      ['quality_5m', 'quality_1h', 'quality_1d'].flatMap((t) => [
        `alter table ${t}
           ${QUALITY_COUNT_COLUMNS.map((c) => `add column ${c} int4 not null default 0`).join(',\n           ')},
           add column min_ts timestamptz,
           add column max_ts timestamptz,
           add column ingest_delay_sum_ms double precision not null default 0,
           add column flatline_max_run int2 not null default 12,
           add column flat jsonb not null default '{}'`,
        `update ${t} set
           ${QUALITY_COUNT_COLUMNS.map((c) => `${c} = (counters->>'${camel(c)}')::int4`).join(',\n           ')},
           min_ts = to_timestamp((counters->>'minTs')::float8 / 1000.0),
           max_ts = to_timestamp((counters->>'maxTs')::float8 / 1000.0),
           ingest_delay_sum_ms = (counters->>'ingestDelaySumMs')::float8,
           flatline_max_run = (counters->>'flatlineMaxRun')::int2,
           flat = coalesce((
             select jsonb_object_agg(k, jsonb_build_array(
               v->'n', v->'firstValue', v->'firstRun', v->'lastValue', v->'lastRun', v->'flat'))
             from jsonb_each(counters->'flat') as e(k, v)), '{}')`,
        `alter table ${t} drop column counters`,
        `alter table ${t}
           ${[...QUALITY_COUNT_COLUMNS, 'ingest_delay_sum_ms', 'flatline_max_run', 'flat']
             .map((c) => `alter column ${c} drop default`)
             .join(',\n           ')}`,
      ]),
  },
  {
    version: 5,
    name: 'room for in-place updates of the node window views',
    // Every batch rewrites its node's six window views (about 1 KB each). On full pages each rewrite was
    // a new tuple elsewhere plus a new index entry; with room on the page it stays a HOT update.
    statements: () => [`alter table node_window_metrics set (fillfactor = 70)`],
  },
  ...LATER_MIGRATIONS,
];

export async function hasTimescale(sql: Sql): Promise<boolean> {
  const rows = await sql<{ ok: boolean }[]>`
    select exists (select 1 from pg_available_extensions where name = 'timescaledb') as ok`;
  if (!rows[0]?.ok) return false;
  try {
    await sql`create extension if not exists timescaledb`;
    return true;
  } catch {
    // Available but not preloaded (shared_preload_libraries): run on plain PostgreSQL.
    return false;
  }
}

export interface MigrateResult {
  applied: number[];
  timescale: boolean;
}

/**
 * Applies pending migrations (up to version `to`, all by default). Safe to run concurrently: a lock
 * serialises migrators.
 */
export async function migrate(sql: Sql, options: { to?: number } = {}): Promise<MigrateResult> {
  // Under the same lock as the migrations: two concurrent `create table if not exists` can both find no
  // table and one then fails on the catalog's unique index (N backfill tasks starting on a new database).
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(7423001)`;
    await tx`create table if not exists schema_migrations (
      version integer primary key,
      name text not null,
      applied_at timestamptz not null default now())`;
  });
  const timescale = await hasTimescale(sql);
  const applied: number[] = [];
  for (const m of MIGRATIONS.filter((x) => x.version <= (options.to ?? Number.POSITIVE_INFINITY))) {
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(7423001)`;
      const done = await tx`select 1 from schema_migrations where version = ${m.version}`;
      if (done.length > 0) return;
      for (const statement of m.statements({ timescale })) await tx.unsafe(statement);
      await tx`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`;
      applied.push(m.version);
    });
  }
  return { applied, timescale };
}
