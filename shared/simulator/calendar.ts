/**
 * The local calendar of the simulated districts (Europe/Rome): local days with their UTC bounds (23 or
 * 25 hours when daylight saving starts or ends), day types (weekday, Saturday, Sunday or public
 * holiday), a seasonal demand factor, and running integrals of each demand pattern since 1970, so a
 * cumulative volume at any instant costs a table look-up plus a closed-form partial day.
 *
 * Daylight saving follows the EU rule (last Sunday of March to last Sunday of October, switching at
 * 01:00 UTC), in force for Italy since 1996; it is applied to every year for simplicity.
 */
import { easterSunday } from '../domain/easter.ts';
import { dayTotal, HOLIDAY, PATTERNS, rate, SATURDAY, WEEKDAY, wallClock, withinDay } from './demand.ts';

export const SIM_TIMEZONE = 'Europe/Rome';
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** Seasonal swing of demand (±10 %, highest in mid-July). */
const SEASON_AMPLITUDE = 0.1;
const SEASON_PEAK_DAY_OF_YEAR = 196;

/** Italian public holidays on fixed dates (month, day); Easter Monday is added per year. */
export const FIXED_HOLIDAYS: readonly (readonly [number, number])[] = [
  [1, 1],
  [1, 6],
  [4, 25],
  [5, 1],
  [6, 2],
  [8, 15],
  [11, 1],
  [12, 8],
  [12, 25],
  [12, 26],
];

/** Days since 1970-01-01 of a calendar date. */
function dayNumber(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / DAY_MS;
}

/** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function dayOfWeek(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

function lastSunday(year: number, month: number): number {
  const last = dayNumber(year, month + 1, 0);
  return last - dayOfWeek(last);
}

/** Easter Sunday as a day number. */
function easterDay(year: number): number {
  const [month, day] = easterSunday(year);
  return dayNumber(year, month, day);
}

/** The public holidays of a year, as day numbers. */
export function holidaysOf(year: number): Set<number> {
  const days = new Set(FIXED_HOLIDAYS.map(([m, d]) => dayNumber(year, m, d)));
  days.add(easterDay(year) + 1);
  return days;
}

/**
 * Per local day n (days since 1970-01-01): UTC start, length, type, seasonal factor, and for each
 * demand pattern the day's integral (hours) and the running seasonal integral of all earlier days.
 * Grown a year at a time on demand and shared by every simulator (it does not depend on the seed).
 */
class DayTable {
  readonly startMs: number[] = [];
  readonly lengthH: number[] = [];
  readonly type: number[] = [];
  readonly season: number[] = [];
  readonly total: number[][] = PATTERNS.map(() => []);
  readonly prefix: number[][] = PATTERNS.map(() => [0]);

  /** Makes days 0..n+1 available. */
  ensure(n: number): void {
    if (n < 0) throw new RangeError('the simulator covers times from 1970-01-01 (Europe/Rome) onwards');
    while (this.startMs.length <= n + 1)
      this.addYear(new Date(this.startMs.length * DAY_MS).getUTCFullYear());
  }

  private addYear(year: number): void {
    const first = dayNumber(year, 1, 1);
    const last = dayNumber(year + 1, 1, 1);
    const dstFrom = lastSunday(year, 3);
    const dstTo = lastSunday(year, 10);
    const holidays = holidaysOf(year);
    for (let n = first; n < last; n++) {
      // Clocks change at 01:00 UTC, after local midnight: midnight keeps the previous offset.
      const offsetH = n > dstFrom && n <= dstTo ? 2 : 1;
      this.startMs.push(n * DAY_MS - offsetH * HOUR_MS);
      const dow = dayOfWeek(n);
      this.type.push(dow === 0 || holidays.has(n) ? HOLIDAY : dow === 6 ? SATURDAY : WEEKDAY);
      const doy = n - first;
      this.season.push(
        1 + SEASON_AMPLITUDE * Math.cos((2 * Math.PI * (doy - SEASON_PEAK_DAY_OF_YEAR)) / 365.25),
      );
      this.lengthH.push(n === dstFrom ? 23 : n === dstTo ? 25 : 24);
    }
    // Complete totals and prefixes for days whose type and length are now known.
    for (let n = this.total[0]!.length; n < this.lengthH.length; n++) {
      for (let p = 0; p < PATTERNS.length; p++) {
        const t = dayTotal(p, this.type[n]!, this.lengthH[n]!);
        this.total[p]!.push(t);
        this.prefix[p]!.push(this.prefix[p]![n]! + this.season[n]! * t);
      }
    }
  }
}

export const dayTable = new DayTable();

/** The local day (days since 1970-01-01 in Europe/Rome) containing instant `t` (ms). */
export function localDayOf(t: number): number {
  let n = Math.floor((t + HOUR_MS) / DAY_MS);
  dayTable.ensure(n);
  if (t >= dayTable.startMs[n + 1]!) n++;
  return n;
}

/** UTC instant of local midnight starting day n. */
export function dayStartMs(n: number): number {
  dayTable.ensure(n);
  return dayTable.startMs[n]!;
}

/** Whether local day n is a Sunday or a public holiday (demand then follows the Sunday curve). */
export function isHolidayOrSunday(n: number): boolean {
  dayTable.ensure(n);
  return dayTable.type[n] === HOLIDAY;
}

/**
 * A reusable cursor on local time: set(t) is cheap while t stays within the same local day, which is
 * what the column generators need (no allocation per reading).
 */
export class Clock {
  day = -1;
  start = 0;
  end = Number.NEGATIVE_INFINITY;
  lengthH = 24;
  dayType = WEEKDAY;
  season = 1;
  /** Hours elapsed since local midnight. */
  hours = 0;
  /** Local wall-clock hour in [0, 24). */
  wall = 0;
  /** Per pattern: the day's integral (hours, without season) and the seasonal integral before the day. */
  readonly total = new Float64Array(PATTERNS.length);
  readonly prefix = new Float64Array(PATTERNS.length);

  set(t: number): void {
    if (t >= this.end || t < this.start) this.load(t);
    this.hours = (t - this.start) / HOUR_MS;
    this.wall = wallClock(this.hours, this.lengthH);
  }

  private load(t: number): void {
    const n = localDayOf(t);
    this.day = n;
    this.start = dayTable.startMs[n]!;
    this.end = dayTable.startMs[n + 1]!;
    this.lengthH = dayTable.lengthH[n]!;
    this.dayType = dayTable.type[n]!;
    this.season = dayTable.season[n]!;
    for (let p = 0; p < PATTERNS.length; p++) {
      this.total[p] = dayTable.total[p]![n]!;
      this.prefix[p] = dayTable.prefix[p]![n]!;
    }
  }

  /** Seasonal demand multiplier of pattern p now. */
  rate(p: number): number {
    return this.season * rate(p, this.dayType, this.wall);
  }

  /** Seasonal integral of pattern p since 1970-01-01 local midnight up to now, in hours. */
  cumulative(p: number): number {
    return this.prefix[p]! + this.season * withinDay(p, this.dayType, this.hours, this.lengthH);
  }

  /** Integral of pattern p since today's local midnight, in hours (without season). */
  today(p: number): number {
    return withinDay(p, this.dayType, this.hours, this.lengthH);
  }
}
