/**
 * The partition of a time (partitions.ts): remembered per table and UTC day, it is the same as computed
 * afresh for every time — day partitions (agg_5m) and month partitions (agg_1h, agg_1d), across day,
 * month and year boundaries — asked for once or again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fromPartitionOf,
  partitionBounds,
  type TimeSeriesTable,
} from '../shared/adapters/postgres/partitions.ts';

/** The bounds as computed from scratch (what partitions.ts computed before it remembered them). */
function expected(table: TimeSeriesTable, ms: number) {
  const d = new Date(ms);
  if (table === 'agg_5m') {
    const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    const day = new Date(from).toISOString().slice(0, 10).replaceAll('-', '');
    return { name: `${table}_p${day}`, from, to: from + 86_400_000 };
  }
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const month = new Date(from).toISOString().slice(0, 7).replace('-', '');
  return { name: `${table}_p${month}`, from, to: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

test('partition bounds and the from-literal are those computed afresh, for every hour over a year end', () => {
  const start = Date.UTC(2025, 10, 20, 0, 0, 0, 1);
  for (const pass of ['first', 'again']) {
    for (let ms = start; ms < start + 70 * 86_400_000; ms += 3_599_999) {
      for (const table of ['agg_5m', 'agg_1h', 'agg_1d'] as const) {
        const b = partitionBounds(table, ms);
        const want = expected(table, ms);
        const at = `${pass} ${table} ${new Date(ms).toISOString()}`;
        assert.deepEqual({ name: b.name, from: b.from.getTime(), to: b.to.getTime() }, want, at);
        assert.equal(fromPartitionOf(table, ms), `bucket >= '${new Date(want.from).toISOString()}'`, at);
      }
    }
  }
});
