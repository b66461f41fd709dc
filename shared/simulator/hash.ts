/**
 * Counter-based randomness: every random draw is a pure function of (seed, what, where, when), so any
 * time window can be generated on its own and give the same values as a longer run. No RNG streams.
 */

/** murmur3's 32-bit finaliser: a bijection on uint32 with good avalanche. */
export function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a of a string, finalised: stable ids → hash keys (ids, not positions, so keys survive layout changes). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** A key from several integer parts (seed, ids, channel numbers). Parts may exceed 32 bits. */
export function keyOf(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = mix32((h ^ (p >>> 0)) + 0x7f4a7c15);
    const high = Math.floor(p / 4_294_967_296);
    if (high !== 0) h = mix32(h ^ (high >>> 0));
  }
  return h;
}

/**
 * The uint32 draw of `key` at integer position `x` (taken modulo 2^32, e.g. seconds since the epoch).
 * One finaliser round over the key and a golden-ratio multiple of x: the hot path of every reading.
 */
export function at(key: number, x: number): number {
  return mix32(key ^ Math.imul(x, 0x9e3779b1));
}

/** A uint32 draw as a number in [0, 1). */
export function unit(h: number): number {
  return h / 4_294_967_296;
}

/** Approximately standard normal: Irwin–Hall sum of the four bytes of one draw, rescaled to unit variance. */
export function gauss(h: number): number {
  const s = (h & 255) + ((h >>> 8) & 255) + ((h >>> 16) & 255) + (h >>> 24);
  return (s - 510) * 0.006765823;
}

/** Uniform in [lo, hi) from the draw `key` at position `x`. */
export function uniform(key: number, x: number, lo: number, hi: number): number {
  return lo + (hi - lo) * unit(at(key, x));
}
