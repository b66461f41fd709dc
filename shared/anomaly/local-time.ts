/**
 * Local wall-clock time in an IANA zone, from the platform's Intl data (no extra dependency). Offsets are
 * cached per quarter hour: every zone in use changes offset on a quarter-hour boundary, and the detectors ask
 * for the same instants again and again.
 */
import { HOUR_MS, MINUTE_MS, WEEK_MS } from './series.ts';

const QUARTER_MS = 15 * MINUTE_MS;

export interface LocalClock {
  readonly timezone: string;
  /** UTC offset in ms at instant `ms` (local = utc + offset). */
  offsetMs(ms: number): number;
  /** Hour of the local week: 0 = Monday 00:00–01:00 … 167 = Sunday 23:00–24:00. */
  hourOfWeek(ms: number): number;
  /** The instant, one week × `weeks` earlier, with the same local wall time (DST-corrected). */
  sameSlotWeeksBefore(ms: number, weeks: number): number;
  /** The first instant whose local wall time on local date (y, m 1–12, d) is at or after `hour`:00. */
  startOfLocalHour(y: number, m: number, d: number, hour: number): number;
  /** Local calendar date of `ms` as [year, month 1–12, day]. */
  localDate(ms: number): [number, number, number];
}

const clocks = new Map<string, LocalClock>();

/** A (cached) clock for `timezone`; throws a RangeError for an unknown zone. */
export function localClock(timezone: string): LocalClock {
  let clock = clocks.get(timezone);
  if (!clock) {
    clock = createClock(timezone);
    clocks.set(timezone, clock);
  }
  return clock;
}

function createClock(timezone: string): LocalClock {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const cache = new Map<number, number>();

  const computeOffset = (ms: number): number => {
    const parts: Record<string, number> = {};
    for (const p of format.formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    const wall = Date.UTC(
      parts.year!,
      parts.month! - 1,
      parts.day!,
      parts.hour!,
      parts.minute!,
      parts.second!,
    );
    return wall - (ms - (((ms % 1000) + 1000) % 1000));
  };

  const offsetMs = (ms: number): number => {
    const q = Math.floor(ms / QUARTER_MS);
    let off = cache.get(q);
    if (off === undefined) {
      if (cache.size > 200_000) cache.clear();
      off = computeOffset(q * QUARTER_MS);
      cache.set(q, off);
    }
    return off;
  };

  const hourOfWeek = (ms: number): number => {
    const local = ms + offsetMs(ms);
    // 1970-01-01 was a Thursday: shift so that Monday is 0.
    const hours = Math.floor(local / HOUR_MS) + 3 * 24;
    return ((hours % 168) + 168) % 168;
  };

  const sameSlotWeeksBefore = (ms: number, weeks: number): number => {
    const guess = ms - weeks * WEEK_MS;
    return guess + (offsetMs(ms) - offsetMs(guess));
  };

  const localWall = (ms: number): number => ms + offsetMs(ms);

  const startOfLocalHour = (y: number, m: number, d: number, hour: number): number => {
    const wall = Date.UTC(y, m - 1, d, hour);
    // The offsets a day either side bracket any transition near this date.
    const candidates = [wall - offsetMs(wall - 86_400_000), wall - offsetMs(wall + 86_400_000)];
    const exact = candidates.filter((t) => localWall(t) === wall);
    if (exact.length > 0) return Math.min(...exact);
    // The wall time falls in a spring-forward gap: the first instant after it is the transition itself.
    let lo = Math.min(...candidates);
    let hi = Math.max(...candidates);
    while (hi - lo > MINUTE_MS) {
      const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
      if (localWall(mid) >= wall) hi = mid;
      else lo = mid;
    }
    return hi;
  };

  const localDate = (ms: number): [number, number, number] => {
    const d = new Date(localWall(ms));
    return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
  };

  return { timezone, offsetMs, hourOfWeek, sameSlotWeeksBefore, startOfLocalHour, localDate };
}
