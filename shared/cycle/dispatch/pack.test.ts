import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Reading } from '../../domain/readings.ts';
import { encodeNodeWork, MAX_NODES_PER_MESSAGE, type NodeWorkMessage } from '../messages.ts';
import { packMessages } from './index.ts';

const batch = (id: string, readings: number, part = 0, parts = 1): NodeWorkMessage =>
  encodeNodeWork(
    {
      runId: 'r',
      tenantId: 't',
      node: {
        id,
        tenantId: 't',
        districtId: null,
        kind: 'pressure',
        name: id,
        latitude: null,
        longitude: null,
        metrics: ['pressure'],
      },
      part,
      parts,
      fromIngestMs: 0,
      toIngestMs: 1,
    },
    Array.from(
      { length: readings },
      (_, i): Reading => ({ nodeId: id, ts: i, ingestedAt: 1, values: { pressure: 1 } }),
    ),
  );
const ids = (groups: NodeWorkMessage[][]) => groups.map((g) => g.map((m) => `${m.node.id}#${m.part}`));

test('node batches are packed up to the setting, in order', () => {
  const batches = ['a', 'b', 'c', 'd', 'e'].map((id) => batch(id, 30));
  assert.deepEqual(ids(packMessages(batches, 2, 4_000_000)), [['a#0', 'b#0'], ['c#0', 'd#0'], ['e#0']]);
  assert.deepEqual(ids(packMessages(batches, 1, 4_000_000)), [['a#0'], ['b#0'], ['c#0'], ['d#0'], ['e#0']]);
  const many = Array.from({ length: MAX_NODES_PER_MESSAGE + 1 }, (_, i) => batch(`n${i}`, 1));
  assert.equal(packMessages(many, 10_000, 9_000_000)[0]!.length, MAX_NODES_PER_MESSAGE);
});

test('a message is cut before its readings pass the byte limit; a node in parts goes alone', () => {
  // 52 bytes per reading of one metric, 500 per batch: 1,000 readings ≈ 52.5 KB a batch.
  const batches = [
    batch('a', 1000),
    batch('b', 1000),
    batch('c', 1000, 0, 2),
    batch('c', 1000, 1, 2),
    batch('d', 10),
  ];
  // The parts of c leave alone at once; the open group takes d.
  assert.deepEqual(ids(packMessages(batches, 16, 110_000)), [['c#0'], ['c#1'], ['a#0', 'b#0', 'd#0']]);
  assert.deepEqual(ids(packMessages(batches, 16, 60_000)), [['a#0'], ['c#0'], ['c#1'], ['b#0', 'd#0']]);
});
