/**
 * Local time and public holidays for forecasting features. Demand follows local clocks (Europe/Rome for the BWDF
 * data, with its daylight-saving shifts) and holidays look like Sundays, so models read the calendar through this.
 */

import { HOUR_MS } from '../domain/aggregate.ts';
import { easterSunday } from '../domain/easter.ts';
import { localParts, weekdayOf } from '../domain/local-time.ts';

/** A holiday on a fixed day of the year, or a number of days after Easter Sunday (Easter Monday = 1). */
export type HolidayRule =
  | { name: string; month: number; day: number }
  | { name: string; easterOffsetDays: number };

/** Italian national public holidays. Add the patron saint's day of the town with `extraHolidayRules`. */
export const ITALIAN_HOLIDAYS: readonly HolidayRule[] = [
  { name: 'Capodanno', month: 1, day: 1 },
  { name: 'Epifania', month: 1, day: 6 },
  { name: 'Pasqua', easterOffsetDays: 0 },
  { name: "Lunedì dell'Angelo", easterOffsetDays: 1 },
  { name: 'Festa della Liberazione', month: 4, day: 25 },
  { name: 'Festa del Lavoro', month: 5, day: 1 },
  { name: 'Festa della Repubblica', month: 6, day: 2 },
  { name: 'Ferragosto', month: 8, day: 15 },
  { name: 'Ognissanti', month: 11, day: 1 },
  { name: 'Immacolata Concezione', month: 12, day: 8 },
  { name: 'Natale', month: 12, day: 25 },
  { name: 'Santo Stefano', month: 12, day: 26 },
];

export interface CalendarOptions {
  /** IANA time zone, e.g. `Europe/Rome`. */
  timeZone: string;
  holidays?: readonly HolidayRule[];
  /** One-off holidays as local dates `YYYY-MM-DD` (e.g. a local election day). */
  extraDates?: readonly string[];
  /**
   * Bridge days ("ponti") count as holidays: a Monday before a Tuesday holiday, a Friday after a Thursday one.
   * On by default: many offices and schools close, and demand follows. `LocalHour.bridge` tells them apart.
   */
  bridgeDays?: boolean;
}

/** What a model needs to know about one UTC hour, in local time. */
export interface LocalHour {
  /** Local date `YYYY-MM-DD`. */
  date: string;
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
  /** 0..23 local clock hour. */
  hour: number;
  /** A public holiday or (when the calendar counts them) a bridge day. */
  holiday: boolean;
  /** A bridge day between a holiday and the weekend (also `holiday` when the calendar counts bridges). */
  bridge: boolean;
  /** 0..167 from Monday 00:00 local. */
  hourOfWeek: number;
  /** Like `hourOfWeek`, but a holiday counts as a Sunday: the usual way holidays are modelled in demand. */
  dayTypeHourOfWeek: number;
}

export interface Calendar {
  readonly timeZone: string;
  /** The local view of the hour containing `ms` (memoised: models call it for every hour of long series). */
  at(ms: number): LocalHour;
  isHolidayDate(date: string): boolean;
  /** What the calendar counts as holidays, for people (e.g. "Italian public holidays + bridge days"). */
  readonly description: string;
}

export { easterSunday };

const pad = (n: number): string => String(n).padStart(2, '0');

/** The local dates `YYYY-MM-DD` of the holidays a rule set gives in one year. */
export function holidayDates(year: number, rules: readonly HolidayRule[]): string[] {
  const [em, ed] = easterSunday(year);
  const easterUtc = Date.UTC(year, em - 1, ed);
  return rules.map((rule) => {
    if ('easterOffsetDays' in rule) {
      const d = new Date(easterUtc + rule.easterOffsetDays * 86_400_000);
      return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    }
    return `${year}-${pad(rule.month)}-${pad(rule.day)}`;
  });
}

const DAY_MS = 86_400_000;
const isoDate = (utcMs: number): string => new Date(utcMs).toISOString().slice(0, 10);
const dateMs = (date: string): number => Date.parse(`${date}T00:00:00Z`);

export function createCalendar(options: CalendarOptions): Calendar {
  const rules = options.holidays ?? ITALIAN_HOLIDAYS;
  const extra = new Set(options.extraDates ?? []);
  const bridges = options.bridgeDays ?? true;
  const byYear = new Map<number, Set<string>>();
  const isPublicHoliday = (date: string): boolean => {
    if (extra.has(date)) return true;
    const year = Number(date.slice(0, 4));
    let dates = byYear.get(year);
    if (!dates) {
      dates = new Set(holidayDates(year, rules));
      byYear.set(year, dates);
    }
    return dates.has(date);
  };
  /** Monday before a Tuesday holiday, Friday after a Thursday holiday (itself no holiday). */
  const isBridgeDate = (date: string): boolean => {
    const ms = dateMs(date);
    const weekday = (new Date(ms).getUTCDay() + 6) % 7;
    if (isPublicHoliday(date)) return false;
    if (weekday === 0) return isPublicHoliday(isoDate(ms + DAY_MS));
    if (weekday === 4) return isPublicHoliday(isoDate(ms - DAY_MS));
    return false;
  };
  const isHolidayDate = (date: string): boolean => isPublicHoliday(date) || (bridges && isBridgeDate(date));
  // Throws a RangeError for an unknown zone here, at construction, rather than deep inside a fit.
  localParts(0, options.timeZone);
  const memo = new Map<number, LocalHour>();
  const at = (ms: number): LocalHour => {
    const hourIndex = Math.floor(ms / HOUR_MS);
    const cached = memo.get(hourIndex);
    if (cached) return cached;
    const p = localParts(hourIndex * HOUR_MS, options.timeZone);
    const date = `${p.year}-${pad(p.month)}-${pad(p.day)}`;
    const weekday = weekdayOf(p.year, p.month, p.day);
    const hour = p.hour % 24;
    const holiday = isHolidayDate(date);
    const bridge = isBridgeDate(date);
    const hourOfWeek = weekday * 24 + hour;
    const local: LocalHour = {
      date,
      weekday,
      hour,
      holiday,
      bridge,
      hourOfWeek,
      dayTypeHourOfWeek: holiday ? 6 * 24 + hour : hourOfWeek,
    };
    // A bound keeps a long-lived calendar from growing without limit (about 11 years of hours).
    if (memo.size >= 100_000) memo.clear();
    memo.set(hourIndex, local);
    return local;
  };
  const description =
    `${rules === ITALIAN_HOLIDAYS ? 'Italian public holidays' : `${rules.length} holiday rules`}` +
    `${extra.size ? ` + ${extra.size} dates` : ''}${bridges ? ' + bridge days' : ''}`;
  return { timeZone: options.timeZone, at, isHolidayDate, description };
}

/**
 * A holiday list as configured (`HOLIDAYS`, or the lines of a file): items separated by commas or new lines,
 * `#` starts a comment. `IT` is the Italian national set; `MM-DD` a holiday every year; `YYYY-MM-DD` one date;
 * `easter+N` / `easter-N` days from Easter Sunday; `no-bridges` stops counting bridge days. An item may carry a
 * name after `=` (`06-24=San Giovanni`). Without `IT` only the listed days count.
 */
export function parseHolidays(spec: string): Pick<CalendarOptions, 'holidays' | 'extraDates' | 'bridgeDays'> {
  const holidays: HolidayRule[] = [];
  const extraDates: string[] = [];
  let bridgeDays = true;
  const items = spec
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .flatMap((line) => line.split(','))
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const item of items) {
    const [key = '', name = key] = item.split('=').map((p) => p.trim());
    const date = key.match(/^(\d{4})-(\d{2})-(\d{2})$/);
    const yearly = key.match(/^(\d{2})-(\d{2})$/);
    const easter = key.match(/^easter([+-]\d{1,2})?$/i);
    if (/^it$/i.test(key)) holidays.push(...ITALIAN_HOLIDAYS);
    else if (/^no-bridges$/i.test(key)) bridgeDays = false;
    else if (date && validDay(Number(date[2]), Number(date[3]))) extraDates.push(key);
    else if (yearly && validDay(Number(yearly[1]), Number(yearly[2]))) {
      holidays.push({ name, month: Number(yearly[1]), day: Number(yearly[2]) });
    } else if (easter) holidays.push({ name, easterOffsetDays: Number(easter[1] ?? 0) });
    else {
      throw new RangeError(
        `holiday "${item}" is not IT, no-bridges, MM-DD, YYYY-MM-DD or easter±N (e.g. "IT,06-24=San Giovanni")`,
      );
    }
  }
  return { holidays, extraDates, bridgeDays };
}

const validDay = (month: number, day: number): boolean => month >= 1 && month <= 12 && day >= 1 && day <= 31;

/** The calendar of the BWDF utility (north-east Italy). */
export const italianCalendar = (extraDates?: readonly string[]): Calendar =>
  createCalendar({ timeZone: 'Europe/Rome', holidays: ITALIAN_HOLIDAYS, extraDates: extraDates ?? [] });

/** A calendar from a configured holiday list (`parseHolidays`); the Italian default when the list is empty. */
export const configuredCalendar = (timeZone: string, spec?: string): Calendar =>
  createCalendar({ timeZone, ...(spec?.trim() ? parseHolidays(spec) : {}) });
