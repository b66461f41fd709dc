import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countQualityByBucket, type QualityCounters } from '../../analytics/quality.ts';
import { aggregateReadings, BUCKET_MS, DAY_MS, HOUR_MS } from '../../domain/aggregate.ts';
import { cleanReadings } from '../../domain/clean.ts';
import type { NodeInfo, Reading } from '../../domain/readings.ts';
import { createSimulator } from '../../simulator/index.ts';
import { countBatchQuality, splitSeen, windowStarts } from './node-quality.ts';

const sim = createSimulator({ seed: 4, nodes: 8, ingestion: { duplicateShare: 0.2 } });
const node = sim.network().nodes.find((n) => n.kind === 'inlet') as NodeInfo;
const T = Date.UTC(2026, 4, 5, 10);
const all = sim
  .readIngested({ fromIngestMs: T, toIngestMs: T + 2 * HOUR_MS, minTsMs: T - DAY_MS })
  .readings.filter((r) => r.nodeId === node.id);

const empty = () => ({ buckets: { m5: new Map(), h1: new Map(), d1: new Map() }, maxTs: null });
const input = (readings: Reading[], nowMs: number) => ({ node, readings, nowMs, cycleMs: 30 * 60_000 });

test('counting a node’s readings in two batches gives the same counters as in one', () => {
  const end = T + 2 * HOUR_MS;
  const once = countBatchQuality(input(all, end), empty(), splitSeen(all, []));

  // Split at a cycle boundary by ingestion time, with readings straddling it (delays of 10–120 s).
  const cut = T + HOUR_MS;
  const first = all.filter((r) => r.ingestedAt <= cut);
  const second = all.filter((r) => r.ingestedAt > cut);
  const a = countBatchQuality(input(first, cut), empty(), splitSeen(first, []));
  // What the first batch left stored: its counters, its latest reading time, its partials' seconds.
  const maxTs = Math.max(...first.filter((r) => r.ts <= cut + 5 * 60_000).map((r) => r.ts));
  const stored5m = aggregateReadings(cleanReadings(first, cut).valid, BUCKET_MS);
  const b = countBatchQuality(input(second, end), { buckets: a.changed, maxTs }, splitSeen(second, stored5m));
  const twice = { m5: new Map(a.changed.m5), h1: new Map(a.changed.h1), d1: new Map(a.changed.d1) };
  for (const res of ['m5', 'h1', 'd1'] as const) for (const [k, v] of b.changed[res]) twice[res].set(k, v);

  for (const res of ['m5', 'h1', 'd1'] as const) {
    assert.deepEqual([...twice[res].keys()].sort(), [...once.changed[res].keys()].sort(), res);
    for (const [bucket, c] of once.changed[res])
      assert.deepEqual(twice[res].get(bucket), c, `${res} ${bucket}`);
  }
  // Hours and days are their 5-minute buckets merged: the same as counting per hour or day directly.
  const ctx = { now: end, kind: node.kind, metrics: node.metrics, previousMaxTs: null };
  for (const [res, size] of [
    ['h1', HOUR_MS],
    ['d1', DAY_MS],
  ] as const) {
    assert.deepEqual(once.changed[res], countQualityByBucket(all, ctx, size), res);
  }
  const total = (m: Map<number, QualityCounters>) =>
    [...m.values()].reduce(
      (s, c) => ({ received: s.received + c.received, duplicates: s.duplicates + c.duplicates }),
      {
        received: 0,
        duplicates: 0,
      },
    );
  assert.equal(total(once.changed.h1).received, all.length);
  assert.ok(total(once.changed.h1).duplicates > 0, 'the sample holds duplicates');
  assert.ok(
    second.some((r) => first.some((f) => f.ts === r.ts)),
    'and copies split across the batches',
  );
});

test('the three windows end at the batch and score its node', () => {
  const end = T + 2 * HOUR_MS;
  const { scores } = countBatchQuality(input(all, end), empty(), splitSeen(all, []));
  const starts = windowStarts(end, 30 * 60_000);
  assert.equal(starts.m5, end - 30 * 60_000);
  assert.equal(starts.h1, end + HOUR_MS - 24 * HOUR_MS);
  assert.equal(starts.d1, Math.floor(end / DAY_MS) * DAY_MS - 6 * DAY_MS);
  assert.equal(scores.asOf, new Date(end).toISOString());
  const cycle = scores.windows.cycle;
  assert.ok(cycle.completeness! > 0.9, `completeness ${cycle.completeness}`);
  assert.ok(cycle.duplicateShare! >= 0);
  assert.ok(cycle.score > 80 && cycle.score <= 100, `score ${cycle.score}`);
  assert.ok(scores.windows['24h'].received >= cycle.received);
});
