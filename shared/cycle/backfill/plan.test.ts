import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardFromEnv, shardNodes } from './plan.ts';

const nodes = Array.from({ length: 10 }, (_, i) => ({ id: `n${String((i * 7) % 10).padStart(2, '0')}` }));

test('the shards of a registry are disjoint, cover it, and differ in size by one at most', () => {
  for (const count of [1, 2, 3, 4, 10, 12]) {
    const shards = Array.from({ length: count }, (_, index) => shardNodes(nodes, { index, count }));
    const all = shards.flat().map((n) => n.id);
    assert.equal(new Set(all).size, nodes.length, `count ${count}`);
    const sizes = shards.map((s) => s.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `count ${count}: ${sizes}`);
  }
});

test('a shard is the same whatever order the registry comes in', () => {
  const reversed = [...nodes].reverse();
  assert.deepEqual(shardNodes(reversed, { index: 1, count: 3 }), shardNodes(nodes, { index: 1, count: 3 }));
  assert.deepEqual(
    shardNodes(nodes, { index: 1, count: 3 }).map((n) => n.id),
    ['n01', 'n04', 'n07'],
  );
});

test('the task shard comes from CLOUD_RUN_TASK_INDEX and CLOUD_RUN_TASK_COUNT', () => {
  assert.deepEqual(shardFromEnv({}), { index: 0, count: 1 });
  assert.deepEqual(shardFromEnv({ CLOUD_RUN_TASK_INDEX: '2', CLOUD_RUN_TASK_COUNT: '4' }), {
    index: 2,
    count: 4,
  });
  assert.throws(() => shardFromEnv({ CLOUD_RUN_TASK_INDEX: '4', CLOUD_RUN_TASK_COUNT: '4' }), /\[0, 4\)/);
  assert.throws(() => shardFromEnv({ CLOUD_RUN_TASK_COUNT: '0' }), /positive integer/);
  assert.throws(() => shardFromEnv({ CLOUD_RUN_TASK_INDEX: 'x' }), /non-negative integer/);
});
