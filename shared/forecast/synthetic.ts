/**
 * Synthetic hourly demand for tests and examples: a level times a daily profile (night minimum, morning and
 * evening peaks) that differs on weekends, plus Gaussian noise, from a seeded generator (deterministic).
 */
import { gaussian, seededRandom } from '../domain/random.ts';
import { absoluteHour, HOUR_MS, type HourlySeries } from './types.ts';

export interface SyntheticOptions {
  /** Start, on an hour (default Monday 2024-01-01T00:00Z). */
  startMs?: number;
  hours: number;
  level?: number;
  /** Standard deviation of the noise, in flow units. */
  noise?: number;
  /** Standard deviation of an hourly random walk of the level (0: a steady level). */
  levelWalk?: number;
  seed?: number;
}

/** The noise-free demand at an absolute UTC hour. */
export function syntheticProfile(hour: number, level: number): number {
  const hod = hour % 24;
  // 1970-01-01 was a Thursday: shift so that 0 = Monday.
  const dow = (Math.floor(hour / 24) + 3) % 7;
  const weekend = dow >= 5;
  const morning = Math.exp(-(((hod - (weekend ? 9 : 7)) / 2) ** 2));
  const evening = Math.exp(-(((hod - 19) / 2.5) ** 2));
  const night = hod < 5 ? -0.35 : 0;
  return level * (0.8 + (weekend ? 0.5 : 0.7) * morning + 0.5 * evening + night + (weekend ? 0.1 : 0));
}

export function syntheticDemand(options: SyntheticOptions): HourlySeries {
  const startMs = options.startMs ?? Date.UTC(2024, 0, 1);
  const level = options.level ?? 20;
  const noise = options.noise ?? 1;
  const normal = gaussian(seededRandom(options.seed ?? 1));
  const h0 = absoluteHour(startMs);
  const walk = options.levelWalk ?? 0;
  const values = new Float64Array(options.hours);
  let drift = 0;
  for (let i = 0; i < options.hours; i++) {
    if (walk > 0) drift += walk * normal();
    values[i] = syntheticProfile(h0 + i, level) + drift + noise * normal();
  }
  return { startMs, values };
}

/** The series cut at `hours`: the history before and the actual values after. */
export function splitAt(
  series: HourlySeries,
  hours: number,
): { history: HourlySeries; actual: Float64Array } {
  return {
    history: { startMs: series.startMs, values: series.values.slice(0, hours) },
    actual: series.values.slice(hours),
  };
}

export const hoursBetween = (fromMs: number, toMs: number): number => (toMs - fromMs) / HOUR_MS;
