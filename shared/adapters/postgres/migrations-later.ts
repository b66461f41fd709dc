/**
 * Migrations from version 6 on, one entry per feature, in version order; migrations.ts runs them after
 * versions 1–5. Every statement must be safe to run twice (IF NOT EXISTS), as there.
 */
import type { Migration } from './migration-types.ts';

export const LATER_MIGRATIONS: Migration[] = [
  {
    version: 6,
    name: 'consumption patterns and KPI reports',
    statements: () => [
      // The rollup's consumption patterns per district (and '*', the network), recomputed once per local day.
      `create table if not exists consumption_patterns (
         tenant_id text not null,
         district_id text not null,
         as_of_day text not null,
         computed_at timestamptz not null,
         body jsonb not null,
         primary key (tenant_id, district_id))`,
      // Daily and weekly KPI reports per district ('*' = network), generated once per period.
      `create table if not exists kpi_reports (
         tenant_id text not null,
         id text not null,
         district_id text not null,
         period text not null check (period in ('daily', 'weekly')),
         period_label text not null,
         period_start timestamptz not null,
         period_end timestamptz not null,
         generated_at timestamptz not null,
         body jsonb not null,
         primary key (tenant_id, id))`,
      `create index if not exists kpi_reports_list on kpi_reports (tenant_id, period, period_start desc, id)`,
      `create index if not exists kpi_reports_start on kpi_reports (period_start)`,
    ],
  },
  {
    version: 7,
    name: 'anomaly events and webhooks',
    statements: () => [
      // The ordered log of anomaly changes: written in the same statement as the change itself, read by
      // the SSE stream (Last-Event-ID resume) and the webhook fan-out. `tx` is the writing transaction:
      // readers order by (tx, id) and read only below the oldest running transaction, so an event that
      // commits late can never land behind a position a reader already passed (see anomaly-events.ts).
      `create table if not exists anomaly_events (
         id bigserial primary key,
         tx xid8 not null default pg_current_xact_id(),
         tenant_id text not null,
         anomaly_id text not null,
         kind text not null check (kind in ('opened', 'updated', 'acknowledged', 'resolved')),
         payload jsonb not null,
         at timestamptz not null default now())`,
      'create index if not exists anomaly_events_tenant_pos on anomaly_events (tenant_id, tx, id)',
      'create index if not exists anomaly_events_pos on anomaly_events (tx, id)',
      'create index if not exists anomaly_events_at on anomaly_events (at)',
      `create table if not exists webhook_subscriptions (
         id text primary key,
         tenant_id text not null,
         url text not null,
         events text[] not null,
         secret_enc text not null,
         description text,
         created_at timestamptz not null default now(),
         deleted_at timestamptz)`,
      'create index if not exists webhook_subscriptions_tenant on webhook_subscriptions (tenant_id) where deleted_at is null',
      `create table if not exists webhook_deliveries (
         id text primary key,
         tenant_id text not null,
         subscription_id text not null references webhook_subscriptions (id) on delete cascade,
         event_id bigint not null,
         event_kind text not null,
         body text not null,
         status text not null check (status in ('pending', 'delivered', 'dead')),
         attempts integer not null default 0,
         attempts_at_queue integer not null default 0,
         queued_at timestamptz,
         last_status_code integer,
         last_error text,
         last_attempt_at timestamptz,
         delivered_at timestamptz,
         created_at timestamptz not null default now(),
         unique (subscription_id, event_id))`,
      'create index if not exists webhook_deliveries_sub on webhook_deliveries (subscription_id, created_at desc)',
      `create index if not exists webhook_deliveries_queue on webhook_deliveries (created_at)
         where status = 'pending' and queued_at is null`,
      `create table if not exists webhook_attempts (
         id bigserial primary key,
         delivery_id text not null references webhook_deliveries (id) on delete cascade,
         attempt integer not null,
         at timestamptz not null default now(),
         status_code integer,
         error text,
         duration_ms integer not null)`,
      'create index if not exists webhook_attempts_delivery on webhook_attempts (delivery_id, id)',
      // One position for the fan-out over every tenant's events: (tx, event id) as the stream reads them.
      `create table if not exists webhook_fanout (
         singleton boolean primary key default true check (singleton),
         tx xid8 not null,
         event_id bigint not null)`,
      `insert into webhook_fanout (singleton, tx, event_id) values (true, '0', 0) on conflict do nothing`,
    ],
  },
  {
    version: 8,
    name: 'outlets that feed another district',
    statements: () => [
      // The district a node's water goes to when it is not its own: an outlet (a pump, a valve) supplying
      // another district, which counts it as supply in its water balance (shared/anomaly/water-balance.ts).
      'alter table nodes add column if not exists feeds_district_id text references districts(id)',
      'create index if not exists nodes_feeds on nodes (feeds_district_id) where feeds_district_id is not null',
    ],
  },
  {
    version: 9,
    name: 'settled view state',
    statements: () => [
      // Per node, what its views need of the days before its latest reading's (view-state.ts): the cycle's
      // view read then reads that day's rows only.
      `create table if not exists node_view_state (
         node_id text primary key,
         day timestamptz not null,
         body bytea not null)`,
    ],
  },
  {
    version: 10,
    name: 'leak localisation',
    statements: () => [
      // Per tenant and candidate leak node of its hydraulic model (`npm run network:import`): where it is,
      // the pipes it sits on, and the change of head (m) a test leak there makes at each pressure point.
      `create table if not exists leak_sensitivity (
         tenant_id text not null,
         node text not null,
         x float8,
         y float8,
         pipes text[] not null,
         sensors text[] not null,
         dhead_m float8[] not null,
         leak_lps float8 not null,
         imported_at timestamptz not null default now(),
         primary key (tenant_id, node))`,
      // A leak anomaly's ranked candidate locations, refreshed by the rollup while it is open.
      'alter table anomalies add column if not exists locations jsonb',
    ],
  },
  {
    version: 11,
    name: 'window views one row per node',
    statements: () => [
      // A node's window views (1h … 30d), rewritten by every refresh, as ONE row: its JSON object keyed by
      // range, as the text the hot keys get (json, not jsonb: checked, not parsed into a tree and
      // rebuilt). One row instead of six, one index entry, no per-range jsonb. Kept uncompressed in the
      // row up to a page (about 5 KB for five metrics): compressing it again at every write costs more.
      // `figures`: per range, what the rollup's network figures read of the window (serving.ts), so
      // the rollup does not parse every node's windows every cycle.
      `create table if not exists node_windows (
         node_id text primary key,
         as_of timestamptz not null,
         body json not null,
         figures json not null)
       with (toast_tuple_target = 8160)`,
      'alter table node_windows alter column body set storage main',
      `do $$ begin
         if to_regclass('node_window_metrics') is not null then
           insert into node_windows (node_id, as_of, body, figures)
           select node_id, max(as_of), json_object_agg(range, body), json_object_agg(range, json_build_array(
             exists (select 1 from jsonb_each(body -> 'metrics') m where (m.value ->> 'count')::float8 > 0),
             (body #>> '{metrics,flow,mean}')::float8, (body #>> '{metrics,pressure,mean}')::float8,
             (body #>> '{metrics,pressure,min}')::float8, (body #>> '{metrics,chlorine,min}')::float8,
             (body #>> '{metrics,turbidity,max}')::float8))
           from node_window_metrics group by node_id
           on conflict (node_id) do nothing;
           drop table node_window_metrics;
         end if;
       end $$`,
    ],
  },
];
