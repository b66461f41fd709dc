/**
 * The bulk builders (shared/domain/bulk-aggregate.ts) against the per-cycle path on the simulator's readings.
 * It lives under test/, not beside the module: the domain imports nothing of the simulator, its tests included.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  aggregateReadings,
  BUCKET_MS,
  DAY_MS,
  HOUR_MS,
  type PartialRow,
  partialKey,
  type Resolution,
  rollUp,
  sketchBytes,
} from '../shared/domain/aggregate.ts';
import { builderToRow, NodeAggregator } from '../shared/domain/bulk-aggregate.ts';
import { cleanReadings } from '../shared/domain/clean.ts';
import { cleanColumns, columnsFromReadings } from '../shared/domain/columns.ts';
import { METRICS, type Reading } from '../shared/domain/readings.ts';
import { createSimulator } from '../shared/simulator/index.ts';

const T0 = Date.UTC(2026, 2, 2);
const TO = T0 + 2 * DAY_MS;
const sim = createSimulator({ seed: 3, nodes: 14 });
const window = { fromIngestMs: T0, toIngestMs: TO, minTsMs: T0 - 72 * HOUR_MS };
const raw = sim.readIngested(window).readings;

/** The simulator's readings with every kind of bad input mixed in. */
function spoiled(readings: Reading[]): Reading[] {
  return readings.flatMap((r, i) => {
    const flow = r.values.flow;
    if (i % 97 === 0 && flow !== undefined) return [{ ...r, values: { ...r.values, flow: Number.NaN } }];
    if (i % 89 === 0) return [{ ...r, values: { ...r.values, pressure: Number.POSITIVE_INFINITY } }];
    if (i % 83 === 0 && flow !== undefined) return [{ ...r, values: { ...r.values, flow: 1e9 } }];
    if (i % 79 === 0) return [{ ...r, ts: TO + HOUR_MS }];
    if (i % 73 === 0) return [r, { ...r, ingestedAt: r.ingestedAt + 1000, values: { ...r.values, flow: 1 } }];
    return [r];
  });
}

/** Partials from the bulk builders, keyed like the per-cycle path's rows. */
function bulkRows(readings: Reading[]): Map<string, PartialRow> {
  const rows = new Map<string, PartialRow>();
  const aggregator = new NodeAggregator();
  for (const cols of columnsFromReadings(readings)) {
    aggregator.aggregate(cleanColumns(cols, window), (resolution, metric, bucketMs, p) => {
      const row = builderToRow(cols.nodeId, metric, bucketMs, p);
      rows.set(`${resolution}|${partialKey(row.nodeId, row.metric, bucketMs)}`, row);
    });
  }
  return rows;
}

describe('bulk aggregation from columns', () => {
  test('cleaning columns counts and keeps exactly what cleanReadings does', () => {
    const readings = spoiled(raw);
    const byNode = Map.groupBy(readings, (r) => r.nodeId);
    for (const cols of columnsFromReadings(readings)) {
      const clean = cleanColumns(cols, window);
      const expected = cleanReadings(byNode.get(cols.nodeId)!, TO);
      assert.deepEqual(clean.counts, expected.counts, cols.nodeId);
      assert.deepEqual(
        [...clean.ts],
        expected.valid.map((r) => r.ts),
      );
      for (const metric of METRICS) {
        const column = clean.values[metric];
        expected.valid.forEach((r, i) => {
          const v = r.values[metric];
          assert.equal(column?.[i] ?? Number.NaN, v ?? Number.NaN, `${cols.nodeId} ${metric} ${r.ts}`);
        });
      }
    }
  });

  test('partials are bit-identical to the per-cycle path on one batch', () => {
    const readings = spoiled(raw);
    // Cleaning is per node (a batch is one node's).
    const valid = [...Map.groupBy(readings, (r) => r.nodeId).values()].flatMap(
      (list) => cleanReadings(list, TO).valid,
    );
    const five = aggregateReadings(valid);
    const expected: [Resolution, PartialRow[]][] = [
      ['5m', five],
      ['1h', rollUp(five, HOUR_MS)],
      ['1d', rollUp(five, DAY_MS)],
    ];
    const got = bulkRows(readings);
    let compared = 0;
    for (const [resolution, rows] of expected) {
      for (const want of rows) {
        const have = got.get(`${resolution}|${partialKey(want.nodeId, want.metric, want.bucketMs)}`);
        assert.ok(have, `missing ${resolution} ${want.nodeId} ${want.metric} ${want.bucketMs}`);
        const { sketch: s1, seen: n1, ...a } = have;
        const { sketch: s2, seen: n2, ...b } = want;
        assert.deepEqual(a, b);
        assert.deepEqual(Buffer.from(sketchBytes(have)), Buffer.from(sketchBytes(want)));
        assert.deepEqual(n1 && Buffer.from(n1), n2 && Buffer.from(n2));
        compared += 1;
      }
    }
    assert.equal(got.size, compared, 'no partial the per-cycle path would not write');
    assert.ok(compared > 14 * 2 * 288, `compared ${compared}`);
    // Nothing invalid made it in.
    for (const row of got.values()) assert.ok(row.metric !== 'flow' || row.max < 1e9);
    assert.ok([...got.values()].every((r) => r.bucketMs < TO));
  });

  test('5-minute rows of a node come out in primary-key order', () => {
    const cols = columnsFromReadings(raw)[0]!;
    const keys: [number, number][] = [];
    new NodeAggregator().aggregate(cleanColumns(cols, window), (resolution, metric, bucketMs) => {
      if (resolution === '5m') keys.push([metric, bucketMs]);
    });
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    assert.deepEqual(keys, sorted);
    assert.ok(keys.every(([, b]) => b % BUCKET_MS === 0));
  });
});
