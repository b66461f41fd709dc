/**
 * A stored water balance (network_efficiency): the rollup computes and writes it, the API serves it.
 * One row per district ('*' for the network), period kind and local period label.
 */
import type { PeriodKind } from '../analytics/local-period.ts';

export interface EfficiencyRow {
  tenantId: string;
  districtId: string;
  periodKind: PeriodKind;
  periodLabel: string;
  computedAtMs: number;
  body: unknown;
}
