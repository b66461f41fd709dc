import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupCommit } from './group-commit.ts';

test('a call with nothing in flight leaves at once; calls arriving meanwhile leave together, in order', async () => {
  const flushed: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const commit = groupCommit<number, string>({
    maxItems: 10,
    flush: async (items) => {
      flushed.push(items);
      if (flushed.length === 1) await gate;
      return items.map((i) => `r${i}`);
    },
  });
  const first = commit(1);
  const rest = [2, 3, 4].map((i) => commit(i));
  assert.deepEqual(flushed, [[1]]);
  release();
  assert.deepEqual(await Promise.all([first, ...rest]), ['r1', 'r2', 'r3', 'r4']);
  assert.deepEqual(flushed, [[1], [2, 3, 4]]);
});

test('items given together with many() leave as one group, not the first alone', async () => {
  const flushed: number[][] = [];
  const commit = groupCommit<number, string>({
    maxItems: 3,
    flush: async (items) => {
      flushed.push(items);
      return items.map((i) => `r${i}`);
    },
  });
  assert.deepEqual(await Promise.all(commit.many([1, 2, 3, 4])), ['r1', 'r2', 'r3', 'r4']);
  assert.deepEqual(flushed, [[1, 2, 3], [4]]);
  assert.deepEqual(commit.many([]), []);
});

test('groups are cut at maxItems and maxWeight (at least one item each)', async () => {
  const flushed: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const commit = groupCommit<number, number>({
    maxItems: 3,
    maxWeight: 10,
    weight: (n) => n,
    flush: async (items) => {
      flushed.push(items);
      if (flushed.length === 1) await gate;
      return items;
    },
  });
  const all = [0, 1, 2, 3, 4, 5, 20, 1].map((i) => commit(i));
  release();
  await Promise.all(all);
  assert.deepEqual(flushed, [[0], [1, 2, 3], [4, 5], [20], [1]]);
});

test('a flush that throws fails its whole group, not the next; a promise per item settles alone', async () => {
  let n = 0;
  const commit = groupCommit<number, number | Promise<number>>({
    maxItems: 10,
    flush: async (items) => {
      n += 1;
      if (n === 1) throw new Error('down');
      return items.map((i) => (i === 3 ? Promise.reject(new Error('item 3')) : i));
    },
  });
  const a = commit(1);
  const b = commit(2);
  const c = commit(3);
  await assert.rejects(a, /down/);
  assert.equal(await b, 2);
  await assert.rejects(c, /item 3/);
});

test('a flush that never settles holds back the calls behind it only until stallMs, then they leave without it', async () => {
  const flushed: number[][] = [];
  const commit = groupCommit<number, string>({
    maxItems: 10,
    stallMs: 20,
    flush: async (items) => {
      flushed.push(items);
      // The first peer request is black-holed: it never answers.
      if (flushed.length === 1) await new Promise(() => {});
      return items.map((i) => `r${i}`);
    },
  });
  const stuck = commit(1);
  const later = [commit(2), commit(3)];
  assert.deepEqual(flushed, [[1]], 'queued behind the first flush while it is young');
  assert.deepEqual(await Promise.all(later), ['r2', 'r3']);
  assert.deepEqual(flushed, [[1], [2, 3]], 'they left together, without the stuck one');
  assert.equal(await commit(4), 'r4', 'and later calls are not held by it either');
  let settled = false;
  void stuck.then(() => {
    settled = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'the stuck call still waits for its own flush');
});
