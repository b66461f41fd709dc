/**
 * Consumption patterns of one flow series (a district's net inflow, the summed flow of a kind of node, the
 * network): the typical day by day type (weekday, weekend, holiday) and the typical week, each hour as
 * p10/p50/p90 and mean over the last eight weeks; this month so far against the same month last year and
 * against the four weeks before it; and the night-time share (02:00–04:00 local) of each day's volume.
 * Local time and holidays come from the calendar (the forecasting one: Italian public holidays unless
 * configured otherwise). Input: hourly mean flows (L/s), complete hours only. Pure.
 */
import type { Calendar } from '../forecast/calendar.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
export const PATTERN_WEEKS = 8;
/** Local clock hours counted as night for the night-time share: [2, 4). */
export const NIGHT_HOURS = [2, 3] as const;

export interface HourlyFlow {
  bucketMs: number;
  /** Mean flow in the hour, L/s. */
  flow: number;
}

export interface Spread {
  p10: number | null;
  p50: number | null;
  p90: number | null;
  mean: number | null;
  /** Values behind the figures (days, or weeks for the typical week). */
  n: number;
}

export interface Comparison {
  /** Mean flow of the month so far, L/s. */
  thisMonthMeanLps: number | null;
  thisMonth: string;
  sameMonthLastYearMeanLps: number | null;
  sameMonthLastYear: string;
  /** Mean flow of the 28 days before this month's first day, L/s. */
  last4WeeksMeanLps: number | null;
  /** (this − other) / other × 100; null when either side is missing. */
  vsSameMonthLastYearPercent: number | null;
  vsLast4WeeksPercent: number | null;
}

export interface ConsumptionPattern {
  typicalDay: { weekday: Spread[]; weekend: Spread[]; holiday: Spread[] };
  /** 168 hours from Monday 00:00 local. */
  typicalWeek: Spread[];
  comparison: Comparison;
  nightShare: { window: string; meanPercent: number | null; days: number };
}

function quantile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const round = (x: number | null) => (x === null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);

export function spread(values: number[]): Spread {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : null;
  return {
    p10: round(quantile(sorted, 0.1)),
    p50: round(quantile(sorted, 0.5)),
    p90: round(quantile(sorted, 0.9)),
    mean: round(mean),
    n: sorted.length,
  };
}

const meanOf = (xs: number[]) => (xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null);
const percent = (a: number | null, b: number | null) =>
  a === null || b === null || b === 0 ? null : round(((a - b) / Math.abs(b)) * 100);

/**
 * The patterns as of the end of the local day `asOfEndMs` (exclusive; hours at or after it are ignored).
 * `hours` may be in any order and may have gaps.
 */
export function consumptionPattern(
  hours: readonly HourlyFlow[],
  calendar: Calendar,
  asOfEndMs: number,
): ConsumptionPattern {
  const from = asOfEndMs - PATTERN_WEEKS * 7 * DAY_MS;
  const byType = { weekday: [] as number[][], weekend: [] as number[][], holiday: [] as number[][] };
  for (const k of Object.keys(byType) as (keyof typeof byType)[]) {
    byType[k] = Array.from({ length: 24 }, () => []);
  }
  const week: number[][] = Array.from({ length: 168 }, () => []);
  const days = new Map<string, { sum: number; night: number; n: number; nightN: number }>();
  const monthly = new Map<string, number[]>();
  const asOf = calendar.at(asOfEndMs - HOUR_MS);
  const thisMonth = asOf.date.slice(0, 7);
  const lastYear = `${String(Number(thisMonth.slice(0, 4)) - 1).padStart(4, '0')}${thisMonth.slice(4)}`;
  const monthStartMs = (() => {
    // The first hour whose local date is in this month, within the last 31 days.
    let t = asOfEndMs - HOUR_MS;
    while (calendar.at(t - HOUR_MS).date.startsWith(thisMonth) && t > asOfEndMs - 32 * DAY_MS) t -= HOUR_MS;
    return t;
  })();
  const last4: number[] = [];
  for (const h of hours) {
    if (h.bucketMs >= asOfEndMs || !Number.isFinite(h.flow)) continue;
    const local = calendar.at(h.bucketMs);
    const month = local.date.slice(0, 7);
    if (month === thisMonth || month === lastYear) {
      const list = monthly.get(month) ?? [];
      list.push(h.flow);
      monthly.set(month, list);
    }
    if (h.bucketMs < monthStartMs && h.bucketMs >= monthStartMs - 28 * DAY_MS) last4.push(h.flow);
    if (h.bucketMs < from) continue;
    const type = local.holiday ? 'holiday' : local.weekday >= 5 ? 'weekend' : 'weekday';
    byType[type][local.hour]!.push(h.flow);
    week[local.hourOfWeek]!.push(h.flow);
    const d = days.get(local.date) ?? { sum: 0, night: 0, n: 0, nightN: 0 };
    d.sum += h.flow;
    d.n += 1;
    if ((NIGHT_HOURS as readonly number[]).includes(local.hour)) {
      d.night += h.flow;
      d.nightN += 1;
    }
    days.set(local.date, d);
  }
  // Whole days only (23 to 25 hours with the clock changes) with both night hours.
  const shares = [...days.values()]
    .filter((d) => d.n >= 23 && d.nightN === NIGHT_HOURS.length && d.sum > 0)
    .map((d) => (d.night / d.sum) * 100);
  const thisMean = meanOf(monthly.get(thisMonth) ?? []);
  const lastYearMean = meanOf(monthly.get(lastYear) ?? []);
  const last4Mean = meanOf(last4);
  return {
    typicalDay: {
      weekday: byType.weekday.map(spread),
      weekend: byType.weekend.map(spread),
      holiday: byType.holiday.map(spread),
    },
    typicalWeek: week.map(spread),
    comparison: {
      thisMonth,
      thisMonthMeanLps: round(thisMean),
      sameMonthLastYear: lastYear,
      sameMonthLastYearMeanLps: round(lastYearMean),
      last4WeeksMeanLps: round(last4Mean),
      vsSameMonthLastYearPercent: percent(thisMean, lastYearMean),
      vsLast4WeeksPercent: percent(thisMean, last4Mean),
    },
    nightShare: {
      window: `${String(NIGHT_HOURS[0]).padStart(2, '0')}:00–${String(NIGHT_HOURS[1] + 1).padStart(2, '0')}:00 local`,
      meanPercent: round(meanOf(shares)),
      days: shares.length,
    },
  };
}
