/**
 * The times a readings CSV may hold: ISO 8601 with `Z`, `UTC` or an offset (also BigQuery's export style
 * `2021-01-01 00:00:00 UTC`), or epoch numbers (seconds, milliseconds or microseconds by magnitude).
 */

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)$/i;
const EPOCH = /^\d+(\.\d+)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysIn = (y: number, mo: number) =>
  mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : DAYS_IN_MONTH[mo - 1]!;

/** Epoch ms of an ISO 8601 time with a zone, or of an epoch number; NaN when it is neither. */
export function parseTimestamp(text: string): number {
  const m = ISO_TIME.exec(text);
  if (m) {
    // Called once or twice per row of files with millions of rows: no intermediate arrays or Dates.
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    const h = Number(m[4]);
    const mi = Number(m[5]);
    const s = m[6] === undefined ? 0 : Number(m[6]);
    if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return Number.NaN;
    const frac = m[7];
    const ms = frac === undefined ? 0 : Number(frac.length >= 3 ? frac.slice(0, 3) : frac.padEnd(3, '0'));
    const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
    const zone = m[8]!;
    if (zone[0] !== '+' && zone[0] !== '-') return t; // Z or UTC
    const offsetMs =
      (Number(zone.slice(1, 3)) * 60 + (zone.length > 3 ? Number(zone.slice(-2)) : 0)) * 60_000;
    return zone[0] === '-' ? t + offsetMs : t - offsetMs;
  }
  if (EPOCH.test(text)) {
    const n = Number(text);
    return Math.round(n < 1e11 ? n * 1000 : n < 1e14 ? n : n / 1000);
  }
  return Number.NaN;
}
