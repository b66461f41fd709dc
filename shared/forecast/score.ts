/**
 * Forecast scores as the Battle of the Water Demand Forecasting ranks them (Alvisi et al. 2025), for a week-ahead
 * forecast starting at the first hour: day 1 is hours 1–24, days 2–7 are hours 25–168. Hours whose actual value is
 * a gap (NaN) are left out; a window without any actual scores NaN.
 */
export interface BwdfScore {
  /** Mean absolute error over hours 1–24. */
  maeDay1: number;
  /** Maximum absolute error over hours 1–24. */
  maxAeDay1: number;
  /** Mean absolute error over hours 25–168. */
  maeDays2to7: number;
}

export function scoreBwdf(actual: ArrayLike<number>, forecast: ArrayLike<number>): BwdfScore {
  const n = Math.min(actual.length, forecast.length, 168);
  let sum1 = 0;
  let n1 = 0;
  let max1 = 0;
  let sum27 = 0;
  let n27 = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i] as number;
    if (Number.isNaN(a)) continue;
    const err = Math.abs(a - (forecast[i] as number));
    if (i < 24) {
      sum1 += err;
      n1++;
      if (err > max1) max1 = err;
    } else {
      sum27 += err;
      n27++;
    }
  }
  return {
    maeDay1: n1 ? sum1 / n1 : Number.NaN,
    maxAeDay1: n1 ? max1 : Number.NaN,
    maeDays2to7: n27 ? sum27 / n27 : Number.NaN,
  };
}

/**
 * One number to compare forecasts of the same node (lower is better): the sum of the three scores, each in the
 * node's flow unit. NaN when any part is (a week without actuals says nothing).
 */
export const bwdfTotal = (score: BwdfScore): number => score.maeDay1 + score.maxAeDay1 + score.maeDays2to7;

/** The mean of each score over several forecasts (e.g. the weeks of a backtest), ignoring NaN. */
export function meanScore(scores: readonly BwdfScore[]): BwdfScore {
  const mean = (pick: (s: BwdfScore) => number): number => {
    const xs = scores.map(pick).filter((x) => !Number.isNaN(x));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
  };
  return {
    maeDay1: mean((s) => s.maeDay1),
    maxAeDay1: mean((s) => s.maxAeDay1),
    maeDays2to7: mean((s) => s.maeDays2to7),
  };
}
