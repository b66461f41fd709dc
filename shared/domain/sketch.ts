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
 * would vanish from merged quantiles), and `DenseStore.prototype.merge` does not extend its key range
 * to a source whose highest key is 0 (values in (0.98, 1]: their counts vanish from the encoding),
 * so `mergeSketch` adds the source's bins itself.
 *
 * `SketchBins` builds the same canonical bytes straight from the library's key mapping, without a
 * sketch object per partial: the bulk backfill makes millions of partials.
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

function addStore(target: DenseStoreView, source: DenseStoreView): void {
  if (source.count === 0) return;
  for (let key = source.minKey; key <= source.maxKey; key++) {
    const count = source.bins[key - source.offset] ?? 0;
    if (count > 0) target.add(key, count);
  }
}

/** Adds `source`'s counts into `target` (in place). */
export function mergeSketch(target: Sketch, source: Sketch): Sketch {
  const t = target as unknown as SketchView;
  const s = source as unknown as SketchView;
  addStore(t.store, s.store);
  addStore(t.negativeStore, s.negativeStore);
  t.zeroCount += s.zeroCount;
  t.count += s.count;
  return target;
}

/** The value at quantile q (0..1), or null for an empty sketch. */
export function quantile(sketch: Sketch, q: number): number | null {
  if (sketch.count === 0) return null;
  return sketch.getValueAtQuantile(q);
}

interface KeyMappingView {
  minPossible: number;
  key(value: number): number;
}
/** The library's own value → key mapping (the one every sketch of SKETCH_RELATIVE_ACCURACY uses). */
const mapping = (newSketch() as unknown as { mapping: KeyMappingView }).mapping;

/** The encoding is an Int32Array's bytes, in the platform's byte order. */
const NATIVE_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Counts per key over a growing dense range; reset keeps the array (no allocation per partial). */
class KeyCounts {
  bins = new Int32Array(64);
  /** The key of bins[0]. */
  offset = 0;
  minKey = 0;
  maxKey = -1;
  count = 0;

  add(key: number, weight: number): void {
    if (this.count === 0) {
      if (key < this.offset || key >= this.offset + this.bins.length)
        this.offset = key - (this.bins.length >> 1);
      this.minKey = key;
      this.maxKey = key;
    } else if (key < this.minKey || key > this.maxKey) {
      const lo = Math.min(key, this.minKey);
      const hi = Math.max(key, this.maxKey);
      if (lo < this.offset || hi >= this.offset + this.bins.length) this.grow(lo, hi);
      this.minKey = lo;
      this.maxKey = hi;
    }
    this.bins[key - this.offset]! += weight;
    this.count += weight;
  }

  private grow(lo: number, hi: number): void {
    let length = this.bins.length;
    while (length < 2 * (hi - lo + 1)) length *= 2;
    const bins = new Int32Array(length);
    const offset = lo - ((length - (hi - lo + 1)) >> 1);
    bins.set(
      this.bins.subarray(this.minKey - this.offset, this.maxKey - this.offset + 1),
      this.minKey - offset,
    );
    this.bins = bins;
    this.offset = offset;
  }

  addAll(other: KeyCounts): void {
    if (other.count === 0) return;
    for (let key = other.minKey; key <= other.maxKey; key++) {
      const c = other.bins[key - other.offset]!;
      if (c !== 0) this.add(key, c);
    }
  }

  length(): number {
    return this.count === 0 ? 0 : this.maxKey - this.minKey + 1;
  }

  /** Writes the store's part of the encoding at byte offset `at`; returns the offset after it. */
  write(view: DataView, at: number): number {
    const n = this.length();
    view.setInt32(at, n === 0 ? 0 : this.minKey, NATIVE_LE);
    view.setInt32(at + 4, n, NATIVE_LE);
    at += 8;
    for (let k = this.minKey - this.offset, end = k + n; k < end; k++, at += 4) {
      view.setInt32(at, this.bins[k]!, NATIVE_LE);
    }
    return at;
  }

  reset(): void {
    if (this.count > 0) this.bins.fill(0, this.minKey - this.offset, this.maxKey - this.offset + 1);
    this.count = 0;
  }
}

/**
 * A sketch under construction as bare bin counts: `add` values or other bins, `encode` to the same
 * canonical bytes a DDSketch holding those values encodes to, `reset` to reuse it for the next partial.
 */
export class SketchBins {
  private readonly positive = new KeyCounts();
  private readonly negative = new KeyCounts();
  private zero = 0;

  add(value: number): void {
    if (value > mapping.minPossible) this.positive.add(mapping.key(value), 1);
    else if (value < -mapping.minPossible) this.negative.add(mapping.key(-value), 1);
    else this.zero += 1;
  }

  addAll(other: SketchBins): void {
    this.positive.addAll(other.positive);
    this.negative.addAll(other.negative);
    this.zero += other.zero;
  }

  /** The size of the encoding, bytes. */
  byteLength(): number {
    return 4 * (6 + this.positive.length() + this.negative.length());
  }

  /**
   * Writes the encoding into `view` at byte offset `at` (e.g. straight into a COPY buffer: no
   * allocation per partial); returns the offset after it.
   */
  writeTo(view: DataView, at: number): number {
    view.setInt32(at, FORMAT_VERSION, NATIVE_LE);
    view.setInt32(at + 4, this.zero, NATIVE_LE);
    return this.negative.write(view, this.positive.write(view, at + 8));
  }

  encode(): Uint8Array {
    const out = new Uint8Array(this.byteLength());
    this.writeTo(new DataView(out.buffer), 0);
    return out;
  }

  reset(): void {
    this.positive.reset();
    this.negative.reset();
    this.zero = 0;
  }
}
