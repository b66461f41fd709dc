/**
 * District forecasts in the rollup: the net inflow of each district (its inlets minus its outlets),
 * hourly, refreshed when a new hour of data is complete. One read of the last week of hourly flow of
 * every district meter serves all of them; a district's full history is read only when it is trained,
 * and at most `maxTrainings` districts train in one rollup (the rest forecast from the model they have
 * and train in a later one), so the fan-in stays short when a whole network comes due at once.
 */
import type { ModelRegistry } from '../../adapters/coordination/model-registry.ts';
import { bucketStart, DAY_MS, HOUR_MS } from '../../domain/aggregate.ts';
import type { HourlySeries } from '../../forecast/types.ts';
import type { Logger } from '../../log.ts';
import { type ForecastOutcome, forecastTarget } from '../forecasting/forecaster.ts';
import { hourlyMeans, netHourly } from '../forecasting/series.ts';
import type { ForecastStore } from '../forecasting/store.ts';
import type { DistrictMeters } from './store.ts';

const HISTORY_MS = 365 * DAY_MS;
const WEEK_MS = 7 * DAY_MS;

function netSeries(
  meters: DistrictMeters,
  cells: Map<string, { bucketMs: number; count: number; sum: number }[]>,
  fromMs: number,
  toMs: number,
): HourlySeries | null {
  const of = (kind: string) =>
    meters.nodes.filter((n) => n.kind === kind).map((n) => hourlyMeans(cells.get(n.id) ?? [], fromMs, toMs));
  return netHourly(of('inlet'), of('outlet'));
}

export async function forecastDistricts(
  deps: { store: ForecastStore; models: ModelRegistry; logger: Logger },
  tenantId: string,
  districts: readonly DistrictMeters[],
  nowMs: number,
  maxTrainings: number,
): Promise<ForecastOutcome[]> {
  const dataEndMs = bucketStart(nowMs, HOUR_MS);
  const withInlets = districts.filter((d) => d.nodes.some((n) => n.kind === 'inlet'));
  const issued = await deps.store.latestIssues(withInlets.map((d) => d.district.id));
  const due = withInlets.filter((d) => (issued.get(d.district.id) ?? Number.NEGATIVE_INFINITY) < dataEndMs);
  if (due.length === 0) return [];
  const meterIds = (d: DistrictMeters) =>
    d.nodes.filter((n) => n.kind === 'inlet' || n.kind === 'outlet').map((n) => n.id);
  const fromMs = dataEndMs - WEEK_MS;
  const recentCells = await deps.store.readHourly(due.flatMap(meterIds), 'flow', fromMs, dataEndMs);
  const budget = { left: maxTrainings };
  const out: ForecastOutcome[] = [];
  for (const d of due) {
    const recent = netSeries(d, recentCells, fromMs, dataEndMs);
    if (!recent) continue;
    const outcome = await forecastTarget(
      { ...deps, trainingBudget: budget },
      {
        tenantId,
        targetId: d.district.id,
        targetKind: 'district',
        timeZone: d.district.timezone,
        unit: 'L/s',
      },
      {
        dataEndMs,
        recent,
        async loadHistory() {
          const cells = await deps.store.readHourly(meterIds(d), 'flow', dataEndMs - HISTORY_MS, dataEndMs);
          const first = Math.min(dataEndMs, ...[...cells.values()].map((c) => c[0]?.bucketMs ?? dataEndMs));
          return netSeries(d, cells, first, dataEndMs) ?? { startMs: dataEndMs, values: new Float64Array(0) };
        },
      },
    );
    if (outcome) out.push(outcome);
  }
  return out;
}
