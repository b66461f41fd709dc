/**
 * A local calendar day or month of a district's time zone, as the UTC interval the water balance is computed
 * over (23 or 25 hours on DST change days).
 */
import { HOUR_MS } from '../domain/aggregate.ts';
import { localParts, localToUtc } from '../domain/local-time.ts';

export type PeriodKind = 'day' | 'month';

/** A local calendar day or month of a time zone, as a half-open UTC interval [start, end). */
export interface Period {
  kind: PeriodKind;
  /** `YYYY-MM-DD` for a day, `YYYY-MM` for a month, in local time. */
  label: string;
  timezone: string;
  start: number;
  end: number;
  /** Real length in hours: 23 or 25 on DST change days. */
  hours: number;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** The `YYYY-MM-DD` label of a local date. */
export const localDayLabel = (p: { year: number; month: number; day: number }): string =>
  `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;

/** The local day (`YYYY-MM-DD`) or month (`YYYY-MM`) of a time zone as UTC boundaries. */
export function localPeriod(kind: PeriodKind, label: string, timezone: string): Period {
  const m = kind === 'day' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(label) : /^(\d{4})-(\d{2})$/.exec(label);
  const year = Number(m?.[1]);
  const month = Number(m?.[2]);
  const day = kind === 'day' ? Number(m?.[3]) : 1;
  const check = new Date(Date.UTC(year, month - 1, day));
  if (!m || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    throw new RangeError(`not a local ${kind} label: ${label}`);
  }
  const next =
    kind === 'day' ? new Date(Date.UTC(year, month - 1, day + 1)) : new Date(Date.UTC(year, month, 1));
  const start = localToUtc(year, month, day, 0, 0, timezone);
  const end = localToUtc(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, timezone);
  return { kind, label, timezone, start, end, hours: (end - start) / HOUR_MS };
}

/** The local day or month of a time zone that contains an instant. */
export function periodContaining(kind: PeriodKind, ts: number, timezone: string): Period {
  const p = localParts(ts, timezone);
  const label = kind === 'day' ? localDayLabel(p) : `${pad(p.year, 4)}-${pad(p.month)}`;
  return localPeriod(kind, label, timezone);
}
