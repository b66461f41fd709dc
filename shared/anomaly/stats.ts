/** Robust statistics on small samples: median, MAD, quantiles. NaNs are ignored everywhere. */

/** Scales a median absolute deviation to a standard deviation for Gaussian data. */
export const MAD_TO_SIGMA = 1.4826;

function finiteSorted(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) out[n++] = v;
  }
  return out.subarray(0, n).sort();
}

/** Linear-interpolated quantile (q in [0, 1]) of the finite values; NaN when there are none. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const s = finiteSorted(values);
  if (s.length === 0) return Number.NaN;
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export const median = (values: ArrayLike<number>): number => quantile(values, 0.5);

const scratch = new Float64Array(64);

/**
 * Median of the finite values of a[from..to) without allocating: the detectors take thousands of medians of
 * a handful of 5-minute buckets per cycle. Falls back to `median` for long ranges.
 */
export function medianOfRange(a: ArrayLike<number>, from: number, to: number): number {
  if (to - from > scratch.length) return median(Array.prototype.slice.call(a, from, to) as number[]);
  let n = 0;
  for (let i = from; i < to; i++) {
    const v = a[i]!;
    if (!Number.isFinite(v)) continue;
    // Insertion sort: the ranges are short.
    let j = n++;
    while (j > 0 && scratch[j - 1]! > v) {
      scratch[j] = scratch[j - 1]!;
      j--;
    }
    scratch[j] = v;
  }
  if (n === 0) return Number.NaN;
  const m = n >> 1;
  return n % 2 ? scratch[m]! : (scratch[m - 1]! + scratch[m]!) / 2;
}

/** Median absolute deviation from `center` (the median by default), unscaled. */
export function mad(values: ArrayLike<number>, center: number = median(values)): number {
  const dev: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) dev.push(Math.abs(v - center));
  }
  return median(dev);
}

/**
 * Robust noise level of a series from its first differences: 1.4826·median|Δx|/√2. Level shifts and slow
 * trends barely move it, unlike a standard deviation.
 */
export function diffSigma(values: ArrayLike<number>): number {
  const diffs: number[] = [];
  let prev = Number.NaN;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (Number.isFinite(prev)) diffs.push(Math.abs(v - prev));
    prev = v;
  }
  return diffs.length === 0 ? Number.NaN : (MAD_TO_SIGMA * median(diffs)) / Math.SQRT2;
}

/** The first rule whose threshold `value` reaches, scanning from the most severe; undefined when none. */
export function gradeBy<S extends string>(
  value: number,
  thresholds: Partial<Record<S, number>>,
  order: readonly S[],
) {
  for (let i = order.length - 1; i >= 0; i--) {
    const s = order[i]!;
    const t = thresholds[s];
    if (t !== undefined && value >= t) return s;
  }
  return undefined;
}
