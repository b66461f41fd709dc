/**
 * Local wall-clock time in an IANA zone, from the platform's Intl data (no extra dependency): the one clock the
 * detectors, the forecasting calendar and the water balance read local time through.
 *
 * `localParts`, `utcOffsetMs` and `localToUtc` ask Intl for the exact instant given. `localClock` caches
 * offsets per quarter hour: every zone in use changes offset on a quarter-hour boundary, and the detectors
 * ask for the same instants again and again.
 */
import { DAY_MS, HOUR_MS, MINUTE_MS } from './aggregate.ts';

const WEEK_MS = 7 * DAY_MS;
const QUARTER_MS = 15 * MINUTE_MS;

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The formatter of a zone (creating one is slow, ~tens of µs, so one per zone is reused); throws a RangeError
 * for an unknown zone.
 */
function formatterFor(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** The wall-clock date and time of an instant in a time zone. */
export function localParts(ts: number, timezone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timezone).formatToParts(ts)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts['year']!,
    month: parts['month']!,
    day: parts['day']!,
    hour: parts['hour']!,
    minute: parts['minute']!,
    second: parts['second']!,
  };
}

/** The wall clock as if it were UTC, minus the instant: the zone's offset at `ts` in ms (local = utc + offset). */
export function utcOffsetMs(ts: number, timezone: string): number {
  const p = localParts(ts, timezone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - (ts - (((ts % 1000) + 1000) % 1000));
}

/**
 * The instant whose local wall clock reads the given time. When the time occurs twice (clocks set back)
 * this is the earlier one; when it does not exist (clocks set forward across it) it is pushed forward by
 * the length of the gap, as Temporal's "compatible" disambiguation does. So a day whose midnight falls in
 * a gap (America/Santiago) starts at the moment of the change, its first real minute.
 */
export function localToUtc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  timezone: string,
): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  // Offsets a day before and after bracket any transition near the wall time (transitions are months apart).
  const candidates = new Set(
    [wall - DAY_MS, wall, wall + DAY_MS].map((probe) => wall - utcOffsetMs(probe, timezone)),
  );
  let exact = Number.POSITIVE_INFINITY;
  let afterGap = Number.POSITIVE_INFINITY;
  for (const t of candidates) {
    const reads = t + utcOffsetMs(t, timezone);
    if (reads === wall) exact = Math.min(exact, t);
    else if (reads > wall) afterGap = Math.min(afterGap, t);
  }
  return Number.isFinite(exact) ? exact : afterGap;
}

/** Day of the week of a calendar date: 0 = Monday … 6 = Sunday. */
export function weekdayOf(year: number, month: number, day: number): number {
  // 1970-01-01 was a Thursday: shift so that Monday is 0.
  return (((Math.floor(Date.UTC(year, month - 1, day) / DAY_MS) + 3) % 7) + 7) % 7;
}

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
  formatterFor(timezone); // an unknown zone fails here, not at the first reading
  const cache = new Map<number, number>();

  const offsetMs = (ms: number): number => {
    const q = Math.floor(ms / QUARTER_MS);
    let off = cache.get(q);
    if (off === undefined) {
      if (cache.size > 200_000) cache.clear();
      off = utcOffsetMs(q * QUARTER_MS, timezone);
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
    const candidates = [wall - offsetMs(wall - DAY_MS), wall - offsetMs(wall + DAY_MS)];
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
