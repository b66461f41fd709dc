/**
 * Consumption patterns in the rollup, once per local day: when the tenant's last complete local day
 * (in its first district's time zone) is newer than the one stored, the hourly flow summed per district
 * and node kind is read once (SQL sums it; the 1-hour partials are kept 90 days, so a year-ago month is
 * there only where retention is longer) and each district's patterns — its net inflow (inlets minus
 * outlets) and each node kind's summed flow — and the network's are computed (`analytics/patterns.ts`),
 * stored, and returned as hot-cache entries. Times are the data's clock: a replay computes the same.
 */
import type { CacheEntry } from '../../adapters/cache/cache.ts';
import { localDayLabel } from '../../analytics/local-period.ts';
import { consumptionPattern, type HourlyFlow } from '../../analytics/patterns.ts';
import { keys } from '../../domain/keys.ts';
import { localParts, localToUtc } from '../../domain/local-time.ts';
import { calendarFor } from '../forecasting/forecast-refresh.ts';
import type { DistrictMeters, PatternFlowRow, PatternStore, StoredPatterns } from './store.ts';

const DAY_MS = 86_400_000;
/** How far back the month comparison looks (a year and a month). */
const LOOKBACK_MS = 400 * DAY_MS;

/** The end (exclusive) of the last complete local day before `nowMs`, and its label. */
export function lastCompleteDay(nowMs: number, timezone: string): { label: string; endMs: number } {
  const p = localParts(nowMs, timezone);
  const endMs = localToUtc(p.year, p.month, p.day, 0, 0, timezone);
  return { label: localDayLabel(localParts(endMs - 1, timezone)), endMs };
}

function sumByHour(rows: readonly PatternFlowRow[], sign: (r: PatternFlowRow) => number): HourlyFlow[] {
  const by = new Map<number, number>();
  for (const r of rows) by.set(r.bucketMs, (by.get(r.bucketMs) ?? 0) + sign(r) * r.flow);
  return [...by].map(([bucketMs, flow]) => ({ bucketMs, flow }));
}

/** Net inflow: inlets minus outlets, in the hours an inlet reported. */
function netInflow(rows: readonly PatternFlowRow[]): HourlyFlow[] {
  const inletHours = new Set(rows.filter((r) => r.kind === 'inlet').map((r) => r.bucketMs));
  return sumByHour(
    rows.filter((r) => inletHours.has(r.bucketMs) && (r.kind === 'inlet' || r.kind === 'outlet')),
    (r) => (r.kind === 'outlet' ? -1 : 1),
  );
}

export async function refreshPatterns(
  store: PatternStore,
  tenantId: string,
  districts: readonly DistrictMeters[],
  nowMs: number,
  ttlSeconds: number,
): Promise<{ entries: CacheEntry[]; computed: string | null }> {
  const timezone = districts[0]?.district.timezone ?? 'UTC';
  const day = lastCompleteDay(nowMs, timezone);
  if ((await store.readPatternsDay(tenantId)) === day.label) return { entries: [], computed: null };
  const rows = await store.readPatternFlows(tenantId, day.endMs - LOOKBACK_MS, day.endMs);
  const stored: StoredPatterns[] = [];
  const networkHours: HourlyFlow[] = [];
  for (const d of districts) {
    const own = rows.filter((r) => r.districtId === d.district.id);
    const calendar = calendarFor(d.district.timezone);
    const net = netInflow(own);
    networkHours.push(...net);
    const kinds = [...new Set(own.map((r) => r.kind))].sort();
    const body = {
      districtId: d.district.id,
      timezone: d.district.timezone,
      asOfDay: day.label,
      holidays: calendar.description,
      unit: 'L/s',
      netInflow: consumptionPattern(net, calendar, day.endMs),
      byKind: kinds.map((kind) => {
        const ofKind = own.filter((r) => r.kind === kind);
        return {
          kind,
          nodes: Math.max(0, ...ofKind.map((r) => r.nodes)),
          ...consumptionPattern(
            sumByHour(ofKind, () => 1),
            calendar,
            day.endMs,
          ),
        };
      }),
    };
    stored.push({ tenantId, districtId: d.district.id, asOfDay: day.label, computedAtMs: day.endMs, body });
  }
  const networkCalendar = calendarFor(timezone);
  const network = {
    districtId: null,
    timezone,
    asOfDay: day.label,
    holidays: networkCalendar.description,
    unit: 'L/s',
    netInflow: consumptionPattern(
      sumByHour(
        networkHours.map((h) => ({
          districtId: '*',
          kind: 'net',
          bucketMs: h.bucketMs,
          flow: h.flow,
          nodes: 1,
        })),
        () => 1,
      ),
      networkCalendar,
      day.endMs,
    ),
    byKind: [],
  };
  // The network's row last: it marks the day done.
  stored.push({ tenantId, districtId: '*', asOfDay: day.label, computedAtMs: day.endMs, body: network });
  await store.writePatterns(stored);
  return {
    entries: stored.map((s) => ({ key: keys.patterns(tenantId, s.districtId), value: s.body, ttlSeconds })),
    computed: day.label,
  };
}
