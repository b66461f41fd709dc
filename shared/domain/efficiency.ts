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

/**
 * One stored balance as served (the API's body and the rollup's hot value): its figures in one flat
 * object. A district's body is flat already (the meter inputs it was computed from stay internal); the
 * network's keeps its summed KPIs under `figures` beside what they cover (`districts`, `included`, …),
 * lifted here so both read `figures.nrwPercent`, never `figures.figures.nrwPercent`.
 */
export function servedBalance(r: EfficiencyRow) {
  const { inputs: _inputs, kind: _kind, label: _label, figures, ...rest } = r.body as Record<string, unknown>;
  return {
    districtId: r.districtId === '*' ? null : r.districtId,
    periodKind: r.periodKind,
    periodLabel: r.periodLabel,
    computedAt: new Date(r.computedAtMs).toISOString(),
    figures:
      figures && typeof figures === 'object' ? { ...rest, ...(figures as Record<string, unknown>) } : rest,
  };
}
