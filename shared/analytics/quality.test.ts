import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Metric, Reading } from '../domain/readings.ts';
import {
  countQuality,
  countQualityByBucket,
  emptyQuality,
  flatCount,
  mergeQuality,
  type QualityCounters,
} from './quality.ts';
import { inferIntervalMs, scoreQuality, timelinessScore } from './quality-score.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2024, 4, 15, 0, 0);
const FIVE = 5 * MIN;

/** A reading at `minute` after T0, ingested `delayMin` minutes later. */
const at = (minute: number, values: Reading['values'], delayMin = 1): Reading => ({
  nodeId: 'n1',
  ts: T0 + minute * MIN,
  ingestedAt: T0 + (minute + delayMin) * MIN,
  values,
});

const hourWindow = { start: T0, end: T0 + HOUR, expectedIntervalMs: FIVE };
/** Processing time well after every test reading (except the deliberate future ones). */
const ctx = { now: T0 + 6 * HOUR };

const close = (actual: number | null, expected: number, what = ''): void => {
  assert.ok(actual !== null, `${what} is null`);
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`);
};

const flatShare = (c: QualityCounters, m: Metric): number =>
  flatCount(c.flat[m]!, c.flatlineMaxRun) / c.flat[m]!.n;

describe('measures', () => {
  test('completeness counts distinct reading times against the expected interval', () => {
    // 5-minute node over an hour: 12 expected. Minutes 0…50 arrive (11), minute 55 is missing, minute 10 twice.
    const readings = [
      ...Array.from({ length: 11 }, (_, i) => at(i * 5, { pressure: 3 + i / 10 })),
      at(10, { pressure: 4 }),
    ];
    const c = countQuality(readings, ctx);
    assert.equal(c.received, 12);
    assert.equal(c.present, 11);
    assert.equal(c.duplicates, 1);
    const r = scoreQuality(c, hourWindow);
    assert.equal(r.expected, 12);
    close(r.completeness, 11 / 12, 'completeness');
    close(r.duplicateShare, 1 / 12, 'duplicates');
  });

  test('validity: NaN, empty, out of range and future readings are invalid, each for one reason', () => {
    const c = countQuality(
      [
        at(0, { pressure: 3.1 }),
        at(5, { pressure: Number.NaN }),
        at(10, { pressure: null }), // no value at all
        at(15, { pressure: 3.1, flow: null }), // a null metric beside a real one is just not reported
        at(20, { pressure: 55 }), // above the 40 bar limit
        // Time stamped an hour after its ingestion: a clock running ahead. Also NaN, but future wins.
        { nodeId: 'n1', ts: T0 + 90 * MIN, ingestedAt: T0 + 30 * MIN, values: { pressure: Number.NaN } },
      ],
      ctx,
    );
    assert.deepEqual(
      {
        received: c.received,
        valid: c.valid,
        invalid: c.invalid,
        nan: c.nan,
        outOfRange: c.outOfRange,
        future: c.future,
      },
      { received: 6, valid: 2, invalid: 4, nan: 2, outOfRange: 1, future: 1 },
    );
    // A future reading neither counts as present nor moves the latest reading time.
    assert.equal(c.present, 5);
    assert.equal(c.maxTs, T0 + 20 * MIN);
    close(scoreQuality(c, hourWindow).validity, 2 / 6, 'validity');
  });

  test('a reading later than now is from the future even if its ingestion time says otherwise', () => {
    const now = { now: T0 + HOUR };
    const c = countQuality(
      [{ nodeId: 'n1', ts: T0 + 2 * HOUR, ingestedAt: T0 + 3 * HOUR, values: { flow: 1 } }],
      now,
    );
    assert.equal(c.future, 1);
    // Within the 5-minute clock tolerance it is not.
    assert.equal(countQuality([at(63, { flow: 1 }, -2)], now).future, 0);
  });

  test('timeliness scores the lag of the latest reading on a log scale', () => {
    // Latest reading at minute 0, window end at 3 h: lag 3 h. Score = 1 − ln(3)/ln(24) = 0.6543…
    const c = countQuality([at(0, { flow: 1 })], ctx);
    const r = scoreQuality(c, { start: T0, end: T0 + 3 * HOUR, expectedIntervalMs: FIVE });
    assert.equal(r.lagMs, 3 * HOUR);
    close(r.timeliness, 1 - Math.log(3) / Math.log(24), 'timeliness');
    assert.equal(timelinessScore(30 * MIN, HOUR, 24 * HOUR), 1);
    assert.equal(timelinessScore(25 * HOUR, HOUR, 24 * HOUR), 0);
    assert.equal(timelinessScore(null, HOUR, 24 * HOUR), 0);
    // An hourly node may lag two intervals before losing points.
    const hourly = scoreQuality(c, { start: T0, end: T0 + 2 * HOUR, expectedIntervalMs: HOUR });
    assert.equal(hourly.timeliness, 1);
  });

  test('flatline: share of values in runs of identical values longer than the limit', () => {
    // 20 pressure readings: 3 varying, 15 identical, 2 varying. With runs over 12 flagged: 15 / 20 flat.
    const values = [3.0, 3.1, 3.2, ...Array(15).fill(3.3), 3.4, 3.5];
    const c = countQuality(
      values.map((p, i) => at(i * 5, { pressure: p })),
      ctx,
    );
    close(scoreQuality(c, hourWindow).flatlineShare, 15 / 20, 'flatline');
    // A run of exactly 12 is still normal.
    const twelve = [3.0, ...Array(12).fill(3.3), 3.4];
    assert.equal(
      flatShare(
        countQuality(
          twelve.map((p, i) => at(i * 5, { pressure: p })),
          ctx,
        ),
        'pressure',
      ),
      0,
    );
  });

  test('a pump that is off reads true zeros: not a flatline, but a stuck non-zero value is', () => {
    const zeros = Array.from({ length: 20 }, (_, i) => at(i * 5, { flow: 0, pressure: 2 + i / 100 }));
    const pump = countQuality(zeros, { ...ctx, kind: 'pump' });
    assert.equal(scoreQuality(pump, hourWindow).flatlineShare, 0);
    // The same zeros from a node whose zero is not a state are a flatline.
    const inlet = countQuality(zeros, { ...ctx, kind: 'inlet' });
    assert.equal(flatShare(inlet, 'flow'), 1);
    const stuck = Array.from({ length: 20 }, (_, i) => at(i * 5, { flow: 12.5, pressure: 2 + i / 100 }));
    assert.equal(flatShare(countQuality(stuck, { ...ctx, kind: 'pump' }), 'flow'), 1);
    // Zeros between two runs of the same value break them: 10 × 5, 3 × 0, 10 × 5 has no run over 12.
    const broken = [...Array(10).fill(5), 0, 0, 0, ...Array(10).fill(5)].map((f, i) =>
      at(i * 5, { flow: f }),
    );
    assert.equal(flatShare(countQuality(broken, { ...ctx, kind: 'pump' }), 'flow'), 0);
  });

  test('out of order: arriving with a time earlier than one already received, in this or an earlier batch', () => {
    // Arrival order (by ingestion): minute 0, 10, 5 (late), 15.
    const c = countQuality(
      [at(0, { flow: 1 }, 1), at(5, { flow: 2 }, 20), at(10, { flow: 3 }, 1), at(15, { flow: 4 }, 10)],
      ctx,
    );
    assert.equal(c.outOfOrder, 1);
    close(scoreQuality(c, hourWindow).outOfOrderShare, 1 / 4, 'out of order');
    // The node's previous batch already reached minute 30: both readings of this one are late.
    assert.equal(
      countQuality([at(20, { flow: 1 }), at(25, { flow: 2 })], { ...ctx, previousMaxTs: T0 + 30 * MIN })
        .outOfOrder,
      2,
    );
  });

  test('overall score: documented weights over the measures that exist', () => {
    const perfect = countQuality(
      Array.from({ length: 12 }, (_, i) => at(i * 5, { pressure: 3 + i / 10 })),
      ctx,
    );
    assert.equal(scoreQuality(perfect, hourWindow).score, 100);
    // Only half the readings (every 10 minutes), the rest perfect: 100 − 35 × 0.5 = 82.5.
    const half = countQuality(
      Array.from({ length: 6 }, (_, i) => at(i * 10 + 5, { pressure: 3 + i / 10 })),
      ctx,
    );
    assert.equal(scoreQuality(half, hourWindow).score, 82.5);
    // A silent node: completeness 0, timeliness 0, nothing else measurable.
    assert.equal(scoreQuality(emptyQuality(), hourWindow).score, 0);
  });

  test('the reporting interval is inferred as the median gap', () => {
    assert.equal(inferIntervalMs([0, FIVE, 2 * FIVE, 2 * FIVE, 3 * FIVE, 10 * FIVE]), FIVE);
    assert.equal(inferIntervalMs([0]), null);
  });
});

describe('merging', () => {
  const arbitraryValues = fc.array(fc.constantFrom(0, 1, 2), { minLength: 0, maxLength: 60 });

  test('merge is associative, and merging consecutive batches equals counting them at once', () => {
    fc.assert(
      fc.property(arbitraryValues, fc.nat(60), fc.nat(60), (values, i, j) => {
        const [cut1, cut2] = [Math.min(i, j, values.length), Math.min(Math.max(i, j), values.length)];
        const readings = values.map((v, k) => at(k * 5, { flow: v, pressure: v }));
        const c = { ...ctx, kind: 'pump' as const, flatlineMaxRun: 3 };
        const [a, b, d] = [readings.slice(0, cut1), readings.slice(cut1, cut2), readings.slice(cut2)].map(
          (part) => countQuality(part, c),
        ) as [QualityCounters, QualityCounters, QualityCounters];
        const left = mergeQuality(mergeQuality(a, b), d);
        const right = mergeQuality(a, mergeQuality(b, d));
        const whole = countQuality(readings, c);
        assert.deepEqual(left, right);
        for (const m of ['flow', 'pressure'] as const) {
          if (!whole.flat[m]) continue;
          assert.equal(flatCount(left.flat[m]!, 3), flatCount(whole.flat[m]!, 3));
        }
        assert.equal(left.received, whole.received);
        assert.equal(left.maxTs, whole.maxTs);
      }),
      { numRuns: 300 },
    );
  });

  test('per-bucket counters merge back to the batch counters; a future reading lands in its arrival bucket', () => {
    const readings = [
      ...Array.from({ length: 24 }, (_, i) => at(i * 2.5, { pressure: i < 18 ? 3.3 : 3 + i / 10 })),
      { nodeId: 'n1', ts: T0 + 10 * HOUR, ingestedAt: T0 + 31 * MIN, values: { pressure: 3 } },
    ];
    const buckets = countQualityByBucket(readings, ctx);
    assert.deepEqual(
      [...buckets.keys()].map((k) => (k - T0) / MIN),
      [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55],
    );
    assert.equal(buckets.get(T0 + 30 * MIN)!.future, 1);
    const merged = [...buckets.values()].reduce(mergeQuality);
    assert.deepEqual(merged, countQuality(readings, ctx));
    // 18 identical values over 12 buckets of two: the run spans 9 buckets and is found after merging.
    assert.equal(flatCount(merged.flat.pressure!, 12), 18);
  });

  test('counters counted with different flatline limits do not merge', () => {
    assert.throws(() => mergeQuality(emptyQuality(12), emptyQuality(6)), RangeError);
  });
});
