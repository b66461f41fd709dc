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

export interface MigrationContext {
  timescale: boolean;
}

export interface Migration {
  version: number;
  name: string;
  statements(ctx: MigrationContext): string[];
}

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

/** Applies pending migrations. Safe to run concurrently: a lock serialises migrators. */
export async function migrate(sql: Sql): Promise<MigrateResult> {
  await sql`create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    applied_at timestamptz not null default now())`;
  const timescale = await hasTimescale(sql);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
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
