/**
 * Weighted ridge regression for sparse rows (a handful of non-zeros among a few hundred columns, as with
 * hour-of-week dummies): the normal equations are accumulated row by row in O(nnz²) and solved by Cholesky.
 * Small enough to own; a dense matrix library would spend most of its time multiplying zeros.
 */

export interface SparseRow {
  index: number[];
  value: number[];
}

export class NormalEquations {
  readonly size: number;
  /** Upper triangle of XᵀWX, row-major. */
  private readonly xtx: Float64Array;
  private readonly xty: Float64Array;
  rows = 0;

  constructor(size: number) {
    this.size = size;
    this.xtx = new Float64Array(size * size);
    this.xty = new Float64Array(size);
  }

  add(row: SparseRow, y: number, weight = 1): void {
    const { index, value } = row;
    for (let a = 0; a < index.length; a++) {
      const i = index[a]!;
      const wv = weight * value[a]!;
      this.xty[i]! += wv * y;
      for (let b = 0; b < index.length; b++) {
        const j = index[b]!;
        if (j >= i) this.xtx[i * this.size + j]! += wv * value[b]!;
      }
    }
    this.rows++;
  }

  /**
   * Coefficients minimising Σ w(y − xβ)² + Σ λⱼβⱼ². A column that never occurs gets coefficient 0 (its penalty
   * keeps the system positive definite).
   */
  solve(penalty: ArrayLike<number>): Float64Array {
    const n = this.size;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const v = this.xtx[i * n + j]! + (i === j ? Math.max(penalty[i]!, 1e-9) : 0);
        a[i * n + j] = v;
        a[j * n + i] = v;
      }
    }
    return choleskySolve(a, this.xty.slice(), n);
  }
}

/** Solves A x = b for a symmetric positive definite A (n×n, row-major); overwrites both. */
export function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! * a[j * n + k]!;
    if (!(d > 0)) throw new RangeError(`matrix is not positive definite at column ${j}`);
    const l = Math.sqrt(d);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s / l;
    }
  }
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= a[i * n + k]! * b[k]!;
    b[i] = s / a[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= a[k * n + i]! * b[k]!;
    b[i] = s / a[i * n + i]!;
  }
  return b;
}
