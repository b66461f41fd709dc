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
];
