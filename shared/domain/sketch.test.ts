import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSketch, encodeSketch, mergeSketch, newSketch, quantile, SketchBins } from './sketch.ts';

test('encoding is canonical and round-trips, negative values included', () => {
  const values = Array.from({ length: 400 }, (_, i) => Math.sin(i) * 40 + (i % 5));
  values.push(0, 0, -3);
  const a = newSketch();
  for (const v of values) a.accept(v);
  const b = newSketch();
  for (const v of [...values].reverse()) b.accept(v);
  assert.deepEqual(Buffer.from(encodeSketch(a)), Buffer.from(encodeSketch(b)));
  const back = decodeSketch(encodeSketch(a));
  assert.equal(back.count, values.length);
  for (const q of [0.01, 0.25, 0.5, 0.9, 0.99]) assert.equal(quantile(back, q), quantile(a, q));
});

test('mergeSketch keeps negative values (the library merge drops them)', () => {
  const neg = newSketch();
  for (let i = 1; i <= 100; i++) neg.accept(-i);
  const pos = newSketch();
  for (let i = 1; i <= 100; i++) pos.accept(i);
  mergeSketch(pos, neg);
  assert.equal(pos.count, 200);
  const p25 = quantile(pos, 0.25)!;
  assert.ok(p25 < -40 && p25 > -60, `p25 ${p25}`);
});

test('decoding rejects bytes that are not a sketch, and copes with unaligned views', () => {
  assert.throws(() => decodeSketch(new Uint8Array([1, 2, 3])), /not an encoded sketch/);
  const s = newSketch();
  s.accept(3);
  const bytes = encodeSketch(s);
  const padded = Buffer.concat([Buffer.from([9]), Buffer.from(bytes)]);
  const view = padded.subarray(1);
  assert.equal(quantile(decodeSketch(view), 0.5)!.toFixed(1), quantile(s, 0.5)!.toFixed(1));
});

test('an empty sketch has no quantiles', () => {
  assert.equal(quantile(decodeSketch(encodeSketch(newSketch())), 0.5), null);
});

test('mergeSketch keeps a source whose highest key is 0 (the library store merge drops it)', () => {
  const target = newSketch();
  for (const v of [0.5, 0.6]) target.accept(v);
  const source = newSketch();
  for (const v of [0.9, 0.99]) source.accept(v);
  const direct = newSketch();
  for (const v of [0.5, 0.6, 0.9, 0.99]) direct.accept(v);
  assert.deepEqual(Buffer.from(encodeSketch(mergeSketch(target, source))), Buffer.from(encodeSketch(direct)));
});

test('SketchBins encodes exactly what a sketch of the same values encodes, merged or not', () => {
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const bins = new SketchBins();
  const total = new SketchBins();
  const all = newSketch();
  for (let round = 0; round < 50; round++) {
    const sketch = newSketch();
    const n = 1 + Math.floor(random() * 40);
    for (let i = 0; i < n; i++) {
      const kind = random();
      // Zeros, negatives, values around 1 (key 0), and spans of many decades (the range grows).
      const v =
        kind < 0.1
          ? 0
          : kind < 0.3
            ? -random() * 50
            : kind < 0.5
              ? 0.98 + random() * 0.03
              : 10 ** (random() * 24 - 12);
      sketch.accept(v);
      all.accept(v);
      bins.add(v);
    }
    assert.deepEqual(Buffer.from(bins.encode()), Buffer.from(encodeSketch(sketch)), `round ${round}`);
    total.addAll(bins);
    bins.reset();
  }
  assert.deepEqual(Buffer.from(total.encode()), Buffer.from(encodeSketch(all)));
  assert.deepEqual(Buffer.from(bins.encode()), Buffer.from(encodeSketch(newSketch())));
});
