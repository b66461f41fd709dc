/**
 * Network-wide totals of the district water balances of one local period (see `networkBalance`).
 */
import type { PeriodKind } from './local-period.ts';
import type { BalanceFigure, DistrictBalance, MissingInput } from './water-balance-types.ts';

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

const NETWORK_SUMS = [
  'systemInputM3',
  'authorisedConsumptionM3',
  'waterLossesM3',
  'nonRevenueWaterM3',
  'mnfLeakageM3',
  'realLossesM3',
  'carlLPerDay',
  'uarlLPerDay',
] as const;
type NetworkSum = (typeof NETWORK_SUMS)[number];
export type NetworkFigure = NetworkSum | 'nrwPercent' | 'nrwLPerConnDay' | 'ili';

export interface NetworkBalance {
  kind: PeriodKind;
  label: string;
  districts: number;
  figures: Record<NetworkFigure, number | null>;
  /** How many districts each figure is computed over; fewer than `districts` means the figure is partial. */
  included: Record<NetworkFigure, number>;
  partial: NetworkFigure[];
  estimated: NetworkFigure[];
  /** Every input missing in at least one district. */
  missing: MissingInput[];
  missingByDistrict: Record<string, MissingInput[]>;
}

/**
 * Network-wide totals of district balances of the same local period. System input volumes add up
 * correctly even when districts feed each other: a transfer is an outlet of one and an inlet of the other.
 * Each sum covers the districts where the figure is known (`included` says how many), and each ratio is
 * taken over one consistent set of districts: NRW % = ΣNRW / ΣSIV over districts with both,
 * NRW per connection = ΣNRW / Σ(Nc·days), ILI = ΣCARL / ΣUARL over districts with an ILI (IWA's
 * system-level ILI, not a mean of district ILIs).
 */
export function networkBalance(balances: readonly DistrictBalance[]): NetworkBalance {
  const first = balances[0];
  if (!first) throw new RangeError('a network balance needs at least one district');
  if (balances.some((b) => b.period.kind !== first.period.kind || b.period.label !== first.period.label)) {
    throw new RangeError('district balances of different periods cannot be added up');
  }
  const figures = {} as Record<NetworkFigure, number | null>;
  const included = {} as Record<NetworkFigure, number>;
  const estimated: NetworkFigure[] = [];
  const over = (
    figure: NetworkFigure,
    keep: (b: DistrictBalance) => boolean,
    value: (bs: DistrictBalance[]) => number,
    estimatedIf: readonly BalanceFigure[],
  ): void => {
    const kept = balances.filter(keep);
    included[figure] = kept.length;
    figures[figure] = kept.length === 0 ? null : value(kept);
    if (kept.some((b) => estimatedIf.some((f) => b.estimated.includes(f)))) estimated.push(figure);
  };
  for (const f of NETWORK_SUMS) {
    over(
      f,
      (b) => b[f] !== null,
      (bs) => sum(bs.map((b) => b[f]!)),
      [f],
    );
  }
  over(
    'nrwPercent',
    (b) => b.nrwPercent !== null,
    (bs) => (100 * sum(bs.map((b) => b.nonRevenueWaterM3!))) / sum(bs.map((b) => b.systemInputM3!)),
    ['nrwPercent'],
  );
  over(
    'nrwLPerConnDay',
    (b) => b.nrwLPerConnDay !== null,
    (bs) => (1000 * sum(bs.map((b) => b.nonRevenueWaterM3!))) / sum(bs.map((b) => b.connections! * b.days)),
    ['nrwLPerConnDay'],
  );
  over(
    'ili',
    (b) => b.ili !== null,
    (bs) => sum(bs.map((b) => b.carlLPerDay!)) / sum(bs.map((b) => b.uarlLPerDay!)),
    ['ili'],
  );
  const missingByDistrict: Record<string, MissingInput[]> = {};
  for (const b of balances) if (b.missing.length > 0) missingByDistrict[b.districtId] = b.missing;
  return {
    kind: first.period.kind,
    label: first.period.label,
    districts: balances.length,
    figures,
    included,
    partial: (Object.keys(included) as NetworkFigure[]).filter((f) => included[f] < balances.length),
    estimated,
    missing: [...new Set(balances.flatMap((b) => b.missing))],
    missingByDistrict,
  };
}
