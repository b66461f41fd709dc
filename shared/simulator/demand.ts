/**
 * Diurnal demand patterns. A pattern is piecewise linear between hourly knots of local wall-clock time,
 * one curve per day type, so both the rate and its integral have closed forms: that is what lets a
 * cumulative volume register be computed at any instant without generating history.
 */

/** Consumer categories, each with its own daily and weekly shape. */
export const PATTERNS = ['residential', 'commercial', 'industrial'] as const;
export type PatternName = (typeof PATTERNS)[number];
export const RESIDENTIAL = 0;
export const COMMERCIAL = 1;
export const INDUSTRIAL = 2;

/** Day types: weekdays, Saturdays, and Sundays together with public holidays. */
export const WEEKDAY = 0;
export const SATURDAY = 1;
export const HOLIDAY = 2;

// Multipliers at 00:00, 01:00, … 23:00 local time. Residential has its night minimum at 03–04 and
// morning/evening peaks, shifted later and flatter at weekends; commercial follows opening hours;
// industrial runs two shifts on weekdays and idles at weekends.
const RAW: readonly (readonly (readonly number[])[])[] = [
  [
    [
      0.52, 0.4, 0.33, 0.29, 0.28, 0.36, 0.72, 1.38, 1.62, 1.42, 1.2, 1.1, 1.18, 1.28, 1.12, 0.98, 0.96, 1.08,
      1.3, 1.52, 1.6, 1.42, 1.12, 0.78,
    ],
    [
      0.6, 0.46, 0.37, 0.32, 0.3, 0.33, 0.48, 0.82, 1.2, 1.48, 1.52, 1.4, 1.32, 1.34, 1.18, 1.02, 0.98, 1.06,
      1.22, 1.42, 1.52, 1.4, 1.18, 0.88,
    ],
    [
      0.66, 0.52, 0.41, 0.34, 0.31, 0.32, 0.4, 0.6, 0.92, 1.28, 1.5, 1.52, 1.46, 1.4, 1.16, 0.98, 0.92, 0.98,
      1.12, 1.3, 1.42, 1.3, 1.06, 0.8,
    ],
  ],
  [
    [
      0.25, 0.22, 0.2, 0.2, 0.21, 0.26, 0.45, 0.95, 1.55, 1.8, 1.85, 1.8, 1.7, 1.6, 1.62, 1.7, 1.72, 1.65,
      1.45, 1.05, 0.7, 0.48, 0.35, 0.28,
    ],
    [
      0.25, 0.22, 0.2, 0.2, 0.2, 0.22, 0.32, 0.6, 1.0, 1.25, 1.35, 1.35, 1.25, 1.1, 0.95, 0.95, 0.98, 0.95,
      0.85, 0.65, 0.45, 0.35, 0.3, 0.26,
    ],
    [
      0.22, 0.2, 0.19, 0.18, 0.18, 0.19, 0.22, 0.28, 0.36, 0.45, 0.52, 0.55, 0.55, 0.5, 0.45, 0.42, 0.42,
      0.42, 0.4, 0.36, 0.32, 0.28, 0.25, 0.23,
    ],
  ],
  [
    [
      0.7, 0.66, 0.64, 0.64, 0.66, 0.8, 1.1, 1.3, 1.35, 1.35, 1.32, 1.3, 1.2, 1.25, 1.32, 1.35, 1.32, 1.28,
      1.2, 1.05, 0.95, 0.85, 0.78, 0.72,
    ],
    [
      0.62, 0.6, 0.58, 0.58, 0.58, 0.62, 0.75, 0.9, 0.95, 0.95, 0.92, 0.9, 0.8, 0.7, 0.62, 0.6, 0.6, 0.6,
      0.58, 0.58, 0.58, 0.58, 0.6, 0.62,
    ],
    [
      0.45, 0.44, 0.43, 0.43, 0.43, 0.44, 0.45, 0.47, 0.48, 0.48, 0.48, 0.47, 0.46, 0.46, 0.46, 0.46, 0.46,
      0.46, 0.46, 0.46, 0.46, 0.46, 0.45, 0.45,
    ],
  ],
];

/** knots[p*3+d] has 25 entries (the 25th repeats the first); each pattern's weekday mean is 1. */
const knots: Float64Array[] = [];
/** cumKnots[p*3+d][k]: integral of the curve from 00:00 to k:00, in hours. */
const cumKnots: Float64Array[] = [];

for (const curves of RAW) {
  const weekday = curves[WEEKDAY]!;
  const mean = weekday.reduce((a, b) => a + b, 0) / 24;
  for (const curve of curves) {
    const k = new Float64Array(25);
    for (let h = 0; h < 24; h++) k[h] = curve[h]! / mean;
    k[24] = k[0]!;
    const c = new Float64Array(25);
    for (let h = 0; h < 24; h++) c[h + 1] = c[h]! + (k[h]! + k[h + 1]!) / 2;
    knots.push(k);
    cumKnots.push(c);
  }
}

/** Demand multiplier of pattern `p` on a day of type `d` at local wall-clock hour `clock` ∈ [0, 24). */
export function rate(p: number, d: number, clock: number): number {
  const k = knots[p * 3 + d]!;
  const i = clock < 23 ? clock | 0 : 23;
  const x = clock - i;
  const v0 = k[i]!;
  return v0 + (k[i + 1]! - v0) * x;
}

/** ∫ rate from local 00:00 to wall-clock hour `clock`, in hours. */
export function integral(p: number, d: number, clock: number): number {
  const k = knots[p * 3 + d]!;
  const i = clock < 23 ? clock | 0 : 23;
  const x = clock - i;
  const v0 = k[i]!;
  return cumKnots[p * 3 + d]![i]! + x * (v0 + 0.5 * (k[i + 1]! - v0) * x);
}

/**
 * Wall-clock hour after `hours` elapsed since local midnight on a day of `lengthH` hours (23 when the
 * clocks go forward at 02:00, 25 when they go back at 03:00).
 */
export function wallClock(hours: number, lengthH: number): number {
  if (lengthH === 24) return hours;
  if (lengthH === 23) return hours < 2 ? hours : hours + 1;
  return hours < 3 ? hours : hours - 1;
}

/** ∫ rate over elapsed time from local midnight to `hours` later, in hours, honouring DST days. */
export function withinDay(p: number, d: number, hours: number, lengthH: number): number {
  if (lengthH === 24) return integral(p, d, hours);
  if (lengthH === 23) {
    return hours < 2
      ? integral(p, d, hours)
      : integral(p, d, 2) + integral(p, d, hours + 1) - integral(p, d, 3);
  }
  return hours < 3
    ? integral(p, d, hours)
    : integral(p, d, 3) + integral(p, d, hours - 1) - integral(p, d, 2);
}

/** ∫ rate over a whole day, in hours. */
export function dayTotal(p: number, d: number, lengthH: number): number {
  return withinDay(p, d, lengthH, lengthH);
}
