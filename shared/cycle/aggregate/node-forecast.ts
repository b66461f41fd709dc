/**
 * Forecasts of an inlet node, in its aggregator step: when a new hour of its data is complete, the
 * champion model is refreshed with the node's hourly flow — the seven days of hourly partials the
 * node's views have just read, so the usual case costs one indexed lookup and one model row — and the
 * week ahead is stored and served.
 */
import type { ModelRegistry } from '../../adapters/coordination/model-registry.ts';
import { bucketStart, DAY_MS, HOUR_MS, type PartialRow } from '../../domain/aggregate.ts';
import type { NodeInfo } from '../../domain/readings.ts';
import type { Logger } from '../../log.ts';
import { type ForecastOutcome, forecastTarget } from '../forecasting/forecaster.ts';
import { districtTimezone, hourlyMeans } from '../forecasting/series.ts';
import type { ForecastStore } from '../forecasting/store.ts';

/** Nodes whose flow is forecast: district inlets (the demand a utility plans for). */
export const isForecastNode = (node: NodeInfo): boolean =>
  node.kind === 'inlet' && node.metrics.includes('flow');

/** How far back training reads (the aggregates are kept 90 days; older data is not there anyway). */
const HISTORY_MS = 365 * DAY_MS;

export async function forecastNode(
  deps: { store: ForecastStore; models: ModelRegistry; logger: Logger },
  node: NodeInfo,
  asOfMs: number,
  hourly: readonly PartialRow[],
): Promise<ForecastOutcome | null> {
  const dataEndMs = bucketStart(asOfMs, HOUR_MS);
  const issued = (await deps.store.latestIssues([node.id])).get(node.id);
  if (issued !== undefined && issued >= dataEndMs) return null;
  const fromMs = dataEndMs - 168 * HOUR_MS;
  const recent = hourlyMeans(
    hourly.filter((r) => r.metric === 'flow'),
    fromMs,
    dataEndMs,
  );
  return forecastTarget(
    deps,
    {
      tenantId: node.tenantId,
      targetId: node.id,
      targetKind: 'node',
      timeZone: await districtTimezone(deps.store, node.districtId),
      unit: 'L/s',
    },
    {
      dataEndMs,
      recent,
      async loadHistory() {
        const startMs = dataEndMs - HISTORY_MS;
        const rows = await deps.store.readHourly([node.id], 'flow', startMs, dataEndMs);
        const cells = rows.get(node.id) ?? [];
        // The series starts at the first stored hour: a year of leading gaps would only cost time.
        const first = cells[0]?.bucketMs ?? dataEndMs;
        return hourlyMeans(cells, first, dataEndMs);
      },
    },
  );
}
