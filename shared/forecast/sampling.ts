/**
 * Which past hours a model trains on (PRODUCT.md): all of the last 180 days, half of the days 180–365 days old,
 * a tenth of older days. Whole days are kept or left out, chosen by a hash of the day number, so the choice is
 * deterministic, needs no state, and is nested: a day kept at 10 % is also kept at 50 %, so moving the origin
 * forward only ever drops days as they age, never swaps them for others.
 */
import { HOUR_MS } from './types.ts';

const DAY_MS = 24 * HOUR_MS;

export interface SamplingTier {
  /** Days at most this old (from the day's start to the origin) fall in this tier. */
  maxAgeDays: number;
  fraction: number;
}

export interface SamplingPolicy {
  /** Ordered by `maxAgeDays`, ascending. */
  tiers: readonly SamplingTier[];
  /** Fraction of days older than the last tier. */
  olderFraction: number;
  /** Changes which days are drawn, not how many. */
  seed: number;
}

export const DEFAULT_SAMPLING: SamplingPolicy = {
  tiers: [
    { maxAgeDays: 180, fraction: 1 },
    { maxAgeDays: 365, fraction: 0.5 },
  ],
  olderFraction: 0.1,
  seed: 0x5eed,
};

/** A uniform number in [0, 1) from an integer (a 32-bit avalanche hash: lowbias32). */
export function hashUnit(n: number, seed: number): number {
  let x = (Math.imul(n | 0, 0x9e3779b1) ^ seed) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) / 4_294_967_296;
}

/** The fraction of days kept at a given age. */
export function keptFraction(ageDays: number, policy: SamplingPolicy = DEFAULT_SAMPLING): number {
  for (const tier of policy.tiers) if (ageDays <= tier.maxAgeDays) return tier.fraction;
  return policy.olderFraction;
}

/**
 * 1 for each hour of `[startMs, startMs + length·1h)` to train on when forecasting from `originMs`, else 0.
 * A UTC day's age is measured from its start; hours at or after the origin are never kept.
 */
export function trainingMask(
  startMs: number,
  length: number,
  originMs: number,
  policy: SamplingPolicy = DEFAULT_SAMPLING,
): Uint8Array {
  const mask = new Uint8Array(length);
  let day = Number.NaN;
  let keep = 0;
  for (let i = 0; i < length; i++) {
    const ms = startMs + i * HOUR_MS;
    if (ms >= originMs) break;
    const d = Math.floor(ms / DAY_MS);
    if (d !== day) {
      day = d;
      const ageDays = (originMs - d * DAY_MS) / DAY_MS;
      keep = hashUnit(d, policy.seed) < keptFraction(ageDays, policy) ? 1 : 0;
    }
    mask[i] = keep;
  }
  return mask;
}
