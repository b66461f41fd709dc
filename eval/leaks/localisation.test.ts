/**
 * The localisation score: pipe distances along the network (Dijkstra over the links' lengths, pumps and
 * valves 0 m) from a candidate node to a leak's pipe, and the per-leak and summary figures from the credited
 * anomalies' candidates. On a hand-made network, then on L-Town's own links.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { AnomalyPayload } from '../../shared/anomaly/listed.ts';
import { distancesFrom, distanceToPipe, graphOf, readPipeGraph, scoreLocalisation } from './localisation.ts';
import type { LeakOutcome } from './score.ts';

// a —100— b —250— c —40— d, and a shortcut a —(valve, 0 m)— e —500— d; f stands alone.
const g = graphOf([
  { id: 'ab', from: 'a', to: 'b', lengthM: 100 },
  { id: 'bc', from: 'b', to: 'c', lengthM: 250 },
  { id: 'cd', from: 'c', to: 'd', lengthM: 40 },
  { id: 'v1', from: 'a', to: 'e', lengthM: 0 },
  { id: 'ed', from: 'e', to: 'd', lengthM: 500 },
  { id: 'ff', from: 'f', to: 'g', lengthM: 10 },
]);

test('shortest paths along the links', () => {
  const d = distancesFrom(g, 'a');
  assert.deepEqual(Object.fromEntries(d), { a: 0, b: 100, e: 0, c: 350, d: 390 });
  // To a pipe: its nearer end; 0 on it; unreachable is infinite.
  assert.equal(distanceToPipe(g, 'a', 'cd'), 350);
  assert.equal(distanceToPipe(g, 'c', 'bc'), 0);
  assert.equal(distanceToPipe(g, 'e', 'ed'), 0);
  assert.equal(distanceToPipe(g, 'f', 'ab'), Number.POSITIVE_INFINITY);
  assert.throws(() => distanceToPipe(g, 'a', 'nope'), /not in the network/);
});

const outcome = (pipe: string, anomalyId: string | null): LeakOutcome => ({
  leak: { pipe, startMs: 0, endMs: 1, diameterM: 0.01, kind: 'abrupt', peakMs: 0 } as LeakOutcome['leak'],
  area: 'A',
  detectedAtMs: anomalyId ? 1 : null,
  delayMs: anomalyId ? 1 : null,
  by: anomalyId,
  anomalyId,
  outflowAtDetectionLps: null,
  volumeM3: 0,
  savedM3: 0,
});
const located = (id: string, nodes: string[]): AnomalyPayload =>
  ({
    id,
    locations: {
      at: '2018-01-01T00:00:00.000Z',
      residualBar: {},
      candidates: nodes.map((node, i) => ({
        node,
        pipes: [],
        x: null,
        y: null,
        score: 0.9 - i / 10,
        estimatedLps: 1,
      })),
    },
  }) as unknown as AnomalyPayload;

test('per detected leak: the best candidate’s distance, the nearest of the top ones; the share within 300 m', () => {
  const s = scoreLocalisation(
    [outcome('cd', 'x1'), outcome('ab', 'x2'), outcome('bc', 'x3'), outcome('ed', null)],
    [located('x1', ['a', 'c']), located('x2', ['d', 'b']), { ...located('x3', []), locations: undefined }],
    g,
  );
  assert.deepEqual(
    s.leaks.map((l) => [l.pipe, l.best, l.distanceM, l.nearestOfTopM]),
    [
      ['cd', 'a', 350, 0],
      ['ab', 'd', 290, 0],
      ['bc', null, null, null],
    ],
  );
  // Three detected (the undetected one is not scored), two located, one within 300 m at best, both in the top.
  assert.deepEqual([s.detected, s.located, s.within, s.withinTop, s.medianM], [3, 2, 1, 2, 320]);
});

test('L-Town: the links and their lengths read from the model', async (t) => {
  const inp = new URL('../../../shared/data/ltown/L-TOWN.inp', import.meta.url).pathname;
  if (!existsSync(inp)) return t.skip(`L-Town data is MISSING at ${inp}: the L-Town distances did not run`);
  const lt = await readPipeGraph(readFileSync(inp, 'utf8'));
  assert.equal(lt.ends.size, 909); // 905 pipes, the pump and three valves
  // p257's ends are on it; the pump's suction node reaches the tank through the pump at 0 m.
  const [n1, n2] = lt.ends.get('p257')!;
  assert.equal(distanceToPipe(lt, n1, 'p257'), 0);
  assert.equal(distanceToPipe(lt, n2, 'p257'), 0);
  assert.equal(distancesFrom(lt, 'n54').get('T1'), 0);
});
