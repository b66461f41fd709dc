import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { networkQuality } from './network-quality.ts';
import { emptyQuality } from './quality.ts';
import { scoreQuality } from './quality-score.ts';

const T0 = Date.UTC(2024, 4, 15, 0, 0);
const hourWindow = { start: T0, end: T0 + 3_600_000, expectedIntervalMs: 300_000 };

describe('network score', () => {
  test('weighted mean of node scores and the worst nodes first', () => {
    const report = (score: number) => ({ ...scoreQuality(emptyQuality(), hourWindow), score });
    const n = networkQuality(
      [
        { nodeId: 'a', report: report(90) },
        { nodeId: 'b', report: report(60), weight: 2 },
        { nodeId: 'c', report: report(100) },
      ],
      2,
    );
    // (90 + 2 × 60 + 100) / 4 = 77.5
    assert.equal(n.score, 77.5);
    assert.deepEqual(n.worst, [
      { nodeId: 'b', score: 60 },
      { nodeId: 'a', score: 90 },
    ]);
    assert.equal(networkQuality([]).score, null);
  });
});
