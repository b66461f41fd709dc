import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanReadings } from './clean.ts';
import type { Reading } from './readings.ts';

const NOW = Date.UTC(2026, 0, 5, 12);
const r = (ts: number, values: Reading['values'], ingestedAt = ts + 1000): Reading => ({
  nodeId: 'n',
  ts,
  ingestedAt,
  values,
});

test('bad values are counted and dropped; the rest of the reading stays', () => {
  const { valid, counts } = cleanReadings(
    [
      r(NOW - 60_000, { flow: Number.NaN, pressure: 3 }),
      r(NOW - 120_000, { flow: 1e9, pressure: 2.5 }),
      r(NOW - 180_000, { flow: Number.POSITIVE_INFINITY }),
      r(NOW - 240_000, { flow: -2, pressure: null }),
    ],
    NOW,
  );
  assert.deepEqual(counts, {
    received: 4,
    accepted: 3,
    nonFinite: 2,
    impossible: 1,
    future: 0,
    duplicates: 0,
  });
  assert.deepEqual(
    valid.map((x) => x.values),
    [{ flow: -2 }, { pressure: 2.5 }, { pressure: 3 }],
  );
});

test('future readings and duplicates are rejected deterministically', () => {
  const { valid, counts } = cleanReadings(
    [
      r(NOW + 3_600_000, { flow: 1 }),
      r(NOW - 60_000, { flow: 2 }, NOW - 50_000),
      r(NOW - 60_000, { flow: 9 }, NOW - 55_000),
    ],
    NOW,
  );
  assert.equal(counts.future, 1);
  assert.equal(counts.duplicates, 1);
  // The earliest ingested copy wins, whatever the input order.
  assert.deepEqual(
    valid.map((x) => x.values.flow),
    [9],
  );
});
