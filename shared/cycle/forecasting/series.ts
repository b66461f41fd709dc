/** Hourly series for forecasting from stored hourly partials, and the districts' time zones (cached). */
import { HOUR_MS } from '../../domain/aggregate.ts';
import type { HourlySeries } from '../../forecast/types.ts';

export interface HourlyCell {
  bucketMs: number;
  count: number;
  sum: number;
}

/** Hourly means on [fromMs, toMs) (NaN where an hour holds nothing). */
export function hourlyMeans(cells: Iterable<HourlyCell>, fromMs: number, toMs: number): HourlySeries {
  const n = Math.max(0, Math.round((toMs - fromMs) / HOUR_MS));
  const values = new Float64Array(n).fill(Number.NaN);
  for (const c of cells) {
    const i = Math.floor((c.bucketMs - fromMs) / HOUR_MS);
    if (i >= 0 && i < n && c.count > 0) values[i] = c.sum / c.count;
  }
  return { startMs: fromMs, values };
}

/**
 * The net hourly inflow of a district: inlets minus outlets. An hour is known only when every meter
 * reported in it (a partial sum would look like a drop in demand).
 */
export function netHourly(inlets: HourlySeries[], outlets: HourlySeries[]): HourlySeries | null {
  const first = inlets[0];
  if (!first) return null;
  const values = new Float64Array(first.values.length);
  for (let i = 0; i < values.length; i++) {
    let total = 0;
    for (const s of inlets) total += s.values[i]!;
    for (const s of outlets) total -= s.values[i]!;
    values[i] = total;
  }
  return { startMs: first.startMs, values };
}

const TIMEZONE_TTL_MS = 10 * 60_000;
const timezones = new Map<string, { timezone: string; atMs: number }>();

/** A district's IANA time zone (UTC for a node outside any district), cached for ten minutes. */
export async function districtTimezone(
  db: { readTimezone(districtId: string): Promise<string | null> },
  districtId: string | null,
): Promise<string> {
  if (districtId === null) return 'UTC';
  const hit = timezones.get(districtId);
  if (hit && Date.now() - hit.atMs < TIMEZONE_TTL_MS) return hit.timezone;
  const timezone = (await db.readTimezone(districtId)) ?? 'UTC';
  if (timezones.size > 10_000) timezones.clear();
  timezones.set(districtId, { timezone, atMs: Date.now() });
  return timezone;
}
