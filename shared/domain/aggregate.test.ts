import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  aggregateReadings,
  BUCKET_MS,
  HOUR_MS,
  mergeInto,
  type PartialRow,
  rollUp,
  sketchBytes,
  summarize,
} from './aggregate.ts';
import type { Reading } from './readings.ts';
import { SKETCH_RELATIVE_ACCURACY } from './sketch.ts';

const T0 = Date.UTC(2026, 0, 5, 10, 0);
const reading = (ts: number, flow: number, pressure?: number): Reading => ({
  nodeId: 'n1',
  ts,
  ingestedAt: ts + 30_000,
  values: pressure === undefined ? { flow } : { flow, pressure },
});

/** The straightforward computation the partials must agree with. */
function direct(values: number[]) {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  const sorted = [...values].sort((a, b) => a - b);
  return { n, mean, min: sorted[0]!, max: sorted[n - 1]!, stddev: Math.sqrt(variance), sorted };
}

const close = (a: number, b: number, rel = 1e-9) =>
  Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

describe('partial aggregates', () => {
  test('buckets readings by 5 minutes, metric by metric', () => {
    const rows = aggregateReadings([
      reading(T0, 10, 3),
      reading(T0 + 60_000, 12, 2.9),
      reading(T0 + BUCKET_MS, 20),
    ]);
    const flow = rows.filter((r) => r.metric === 'flow').sort((a, b) => a.bucketMs - b.bucketMs);
    assert.equal(flow.length, 2);
    assert.deepEqual(
      flow.map((r) => [r.bucketMs, r.count, r.sum, r.min, r.max, r.first, r.last]),
      [
        [T0, 2, 22, 10, 12, 10, 12],
        [T0 + BUCKET_MS, 1, 20, 20, 20, 20, 20],
      ],
    );
    const pressure = rows.filter((r) => r.metric === 'pressure');
    assert.equal(pressure.length, 1);
    assert.equal(pressure[0]!.count, 2);
  });

  test('first and last follow reading time, not arrival order', () => {
    const [row] = aggregateReadings([reading(T0 + 120_000, 3), reading(T0, 1), reading(T0 + 60_000, 2)]);
    assert.equal(row!.first, 1);
    assert.equal(row!.last, 3);
  });

  test('summary statistics equal a direct computation; quantiles within the sketch error', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -50, max: 500, noNaN: true }), { minLength: 1, maxLength: 300 }),
        (vals) => {
          const readings = vals.map((v, i) => reading(T0 + i * 1000, v));
          const merged = rollUp(aggregateReadings(readings), 86_400_000)[0]!;
          const s = summarize(merged);
          const d = direct(vals);
          assert.equal(s.count, d.n);
          assert.ok(close(s.mean!, d.mean, 1e-9), `mean ${s.mean} vs ${d.mean}`);
          assert.equal(s.min, d.min);
          assert.equal(s.max, d.max);
          assert.ok(
            Math.abs(s.stddev! - d.stddev) <= 1e-6 * Math.max(1, d.stddev),
            `stddev ${s.stddev} vs ${d.stddev}`,
          );
          // DDSketch's guarantee: the value returned for rank q·(n−1) is within ±α of a true value at that rank.
          const rank = Math.floor(0.5 * (d.n - 1));
          const truth = d.sorted[rank]!;
          const tolerance = SKETCH_RELATIVE_ACCURACY * Math.abs(truth) + 1e-9;
          assert.ok(
            Math.abs(s.p50! - truth) <= tolerance ||
              // ties in rank interpolation: accept the neighbour ranks' values too
              [d.sorted[rank + 1], d.sorted[rank - 1]].some(
                (x) =>
                  x !== undefined && Math.abs(s.p50! - x) <= SKETCH_RELATIVE_ACCURACY * Math.abs(x) + 1e-9,
              ),
            `p50 ${s.p50} vs ${truth}`,
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  test('merging is order independent: any split, any order, same bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -5, max: 100, noNaN: true }), { minLength: 2, maxLength: 200 }),
        fc.nat(),
        (vals, seed) => {
          const readings = vals.map((v, i) => reading(T0 + i * 7000, v));
          const whole = rollUp(aggregateReadings(readings), HOUR_MS);
          const cut = 1 + (seed % (readings.length - 1));
          const a = aggregateReadings(readings.slice(cut));
          const b = aggregateReadings(readings.slice(0, cut));
          const parts = rollUp([...a, ...b].reverse(), HOUR_MS);
          const key = (r: PartialRow) => `${r.metric}${r.bucketMs}`;
          const byKey = new Map(parts.map((r) => [key(r), r]));
          for (const w of whole) {
            const p = byKey.get(key(w))!;
            assert.equal(p.count, w.count);
            assert.ok(close(p.sum, w.sum));
            assert.equal(p.min, w.min);
            assert.equal(p.max, w.max);
            assert.equal(p.first, w.first);
            assert.equal(p.last, w.last);
            assert.deepEqual(Buffer.from(sketchBytes(p)), Buffer.from(sketchBytes(w)));
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  test('merging an empty partial changes nothing', () => {
    const [row] = aggregateReadings([reading(T0, 5)]);
    const before = summarize(row!);
    const [empty] = aggregateReadings([]).concat({ ...row!, count: 0 } as PartialRow);
    mergeInto(row!, { ...empty!, count: 0 });
    assert.deepEqual(summarize(row!), before);
  });
});
