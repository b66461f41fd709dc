/**
 * Quantile sketches: DDSketch (Datadog's `@datadog/sketches-js`), mergeable with a guaranteed
 * relative error on every quantile. Merging adds bin counts, so it is exactly associative and
 * commutative: any order of partial aggregates gives the same sketch.
 *
 * The library's own protobuf encoding depends on the store's internal layout (the same sketch
 * built in two orders serialises to different bytes, padded with zeros). We store sketches in
 * PostgreSQL and compare replays by checksum, so we encode the bins canonically instead: only the
 * non-empty key range of each store, as int32s. A 5-minute bucket typically takes 20–60 bytes.
 *
 * `DDSketch.prototype.merge` in sketches-js 2.1.1 forgets the negative-value store (negative flows
 * would vanish from merged quantiles), so `mergeSketch` merges the stores itself.
 */
import { DDSketch } from '@datadog/sketches-js';

/** Every quantile is within ±1 % of the true value (relative to the value). */
export const SKETCH_RELATIVE_ACCURACY = 0.01;

export type Sketch = DDSketch;

export const newSketch = (): Sketch => new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });

interface DenseStoreView {
  bins: number[];
  offset: number;
  minKey: number;
  maxKey: number;
  count: number;
  add(key: number, weight: number): void;
  merge(other: DenseStoreView): void;
}
interface SketchView {
  store: DenseStoreView;
  negativeStore: DenseStoreView;
  zeroCount: number;
  count: number;
}

const FORMAT_VERSION = 1;

function storeLength(store: DenseStoreView): number {
  return store.count === 0 ? 0 : store.maxKey - store.minKey + 1;
}

function writeStore(out: Int32Array, at: number, store: DenseStoreView): number {
  const n = storeLength(store);
  out[at++] = n === 0 ? 0 : store.minKey;
  out[at++] = n;
  for (let k = 0; k < n; k++) out[at++] = store.bins[store.minKey + k - store.offset] ?? 0;
  return at;
}

/** Canonical bytes of a sketch: equal sketches give equal bytes, whatever the insertion order. */
export function encodeSketch(sketch: Sketch): Uint8Array {
  const s = sketch as unknown as SketchView;
  const out = new Int32Array(6 + storeLength(s.store) + storeLength(s.negativeStore));
  out[0] = FORMAT_VERSION;
  out[1] = s.zeroCount;
  const next = writeStore(out, 2, s.store);
  writeStore(out, next, s.negativeStore);
  return new Uint8Array(out.buffer);
}

function readStore(data: Int32Array, at: number, store: DenseStoreView): number {
  const minKey = data[at++]!;
  const n = data[at++]!;
  for (let k = 0; k < n; k++) {
    const count = data[at++]!;
    if (count > 0) store.add(minKey + k, count);
  }
  return at;
}

/** A sketch as stored: canonical bytes, decoded only when a quantile is asked for. */
export type StoredSketch = Sketch | Uint8Array;

function int32View(bytes: Uint8Array): Int32Array {
  if (bytes.byteLength % 4 !== 0 || bytes.byteLength < 24) throw new Error('not an encoded sketch');
  // Copy when unaligned: a Buffer from the database driver is a view into a pooled ArrayBuffer.
  if (bytes.byteOffset % 4 === 0) return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Int32Array(copy.buffer);
}

/** Adds an encoded sketch's bins straight into `target`, without building a sketch for it. */
export function mergeEncoded(target: Sketch, bytes: Uint8Array): Sketch {
  const data = int32View(bytes);
  if (data[0] !== FORMAT_VERSION) throw new Error(`unknown sketch format ${data[0]}`);
  const t = target as unknown as SketchView;
  const zero = data[1]!;
  t.zeroCount += zero;
  const before = t.store.count + t.negativeStore.count;
  const next = readStore(data, 2, t.store);
  readStore(data, next, t.negativeStore);
  t.count += zero + t.store.count + t.negativeStore.count - before;
  return target;
}

export const isEncoded = (s: StoredSketch): s is Uint8Array => s instanceof Uint8Array;

/** A live sketch from either form (decoding stored bytes). */
export const liveSketch = (s: StoredSketch): Sketch => (isEncoded(s) ? decodeSketch(s) : s);

export function decodeSketch(bytes: Uint8Array): Sketch {
  const data = int32View(bytes);
  if (data[0] !== FORMAT_VERSION) throw new Error(`unknown sketch format ${data[0]}`);
  const sketch = newSketch();
  const s = sketch as unknown as SketchView;
  s.zeroCount = data[1]!;
  s.count += s.zeroCount;
  const next = readStore(data, 2, s.store);
  readStore(data, next, s.negativeStore);
  s.count += s.store.count + s.negativeStore.count;
  return sketch;
}

/** Adds `source`'s counts into `target` (in place). */
export function mergeSketch(target: Sketch, source: Sketch): Sketch {
  const t = target as unknown as SketchView;
  const s = source as unknown as SketchView;
  t.store.merge(s.store);
  t.negativeStore.merge(s.negativeStore);
  t.zeroCount += s.zeroCount;
  t.count += s.count;
  return target;
}

/** The value at quantile q (0..1), or null for an empty sketch. */
export function quantile(sketch: Sketch, q: number): number | null {
  if (sketch.count === 0) return null;
  return sketch.getValueAtQuantile(q);
}
