/**
 * The fan-in contract, for the in-process coordinator and for Firestore (on its emulator): exactly
 * one caller completes a run — also when items finish at the same moment and are redelivered — and
 * the progress says what failed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FieldValue, Firestore } from '@google-cloud/firestore';
import { firestoreEmulatorHost, peerGate, resetFirestore, uniqueProjectId } from '../dev/peers/index.ts';
import { type Coordinator, type RunPlan, workKey } from '../shared/adapters/coordination/coordinator.ts';
import { FirestoreCoordinator } from '../shared/adapters/coordination/firestore.ts';
import { MemoryCoordinator } from '../shared/adapters/coordination/memory.ts';

const plan = (runId: string, n: number): RunPlan => ({
  runId,
  tenantId: 't1',
  startedAtMs: 0,
  windowFromMs: 0,
  windowToMs: 1,
  workKeys: Array.from({ length: n }, (_, i) => workKey(`node-${i}`, 0)),
  readings: n * 30,
  bytesProcessed: 1234,
  source: 'test',
});

/** Runs tasks with bounded concurrency, all started as close together as possible. */
async function concurrently<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

function contract(name: string, make: () => Coordinator) {
  test(`${name}: exactly one of many concurrent finishers (with redeliveries) completes the run`, async () => {
    const c = make();
    const p = plan(`run-${name}-1`, 250);
    await c.openRun(p);
    const keys = [...p.workKeys, ...p.workKeys.slice(0, 60)];
    const results = await concurrently(
      keys.map((k) => () => c.finishWork(p.runId, k, 'done')),
      40,
    );
    const completers = new Set(keys.filter((_, i) => results[i]!.completedRun));
    assert.equal(completers.size, 1, 'one item completes the run (its redelivery may say so again)');
    const progress = await c.progress(p.runId);
    assert.deepEqual(
      {
        total: progress?.total,
        done: progress?.done,
        failed: progress?.failed,
        complete: progress?.complete,
      },
      { total: 250, done: 250, failed: 0, complete: true },
    );
  });

  test(`${name}: two items finishing at the same moment — one completion`, async () => {
    const c = make();
    const p = plan(`run-${name}-2`, 2);
    await c.openRun(p);
    const [a, b] = await Promise.all(p.workKeys.map((k) => c.finishWork(p.runId, k, 'done')));
    assert.equal([a, b].filter((r) => r!.completedRun).length, 1);
  });

  test(`${name}: a failed item counts once, is listed, and a later success overrides it`, async () => {
    const c = make();
    const p = plan(`run-${name}-3`, 3);
    await c.openRun(p);
    await c.finishWork(p.runId, p.workKeys[0]!, 'failed');
    await c.finishWork(p.runId, p.workKeys[0]!, 'failed');
    await c.finishWork(p.runId, p.workKeys[1]!, 'done');
    const last = await c.finishWork(p.runId, p.workKeys[2]!, 'done');
    assert.equal(last.completedRun, true);
    assert.deepEqual((await c.progress(p.runId))?.failedKeys, [p.workKeys[0]]);
    const again = await c.finishWork(p.runId, p.workKeys[0]!, 'done');
    assert.equal(again.completedRun, false, 'a run completes once');
    const redelivered = await c.finishWork(p.runId, p.workKeys[2]!, 'done');
    assert.equal(redelivered.completedRun, true, "the completer's redelivery triggers the fan-in again");
    assert.deepEqual((await c.progress(p.runId))?.failedKeys, []);
  });

  test(`${name}: items finished together (a multi-node message's) — one completion, also on redelivery`, async () => {
    const c = make();
    const p = plan(`run-${name}-together`, 320);
    await c.openRun(p);
    const items = (keys: string[], outcome: 'done' | 'failed' = 'done') =>
      keys.map((workKey) => ({ workKey, outcome }));
    // 20 messages of 16 items at once, the first three redelivered, one item failed.
    const messages = Array.from({ length: 20 }, (_, i) => p.workKeys.slice(i * 16, i * 16 + 16));
    const results = await Promise.all([
      ...messages.map((keys, i) => c.finishWorks(p.runId, items(keys, i === 5 ? 'failed' : 'done'))),
      ...messages.slice(0, 3).map((keys) => c.finishWorks(p.runId, items(keys))),
    ]);
    // The 23 calls start together, so a redelivery may be recorded before its original: what is
    // asserted is that one message (its original, its redelivery or both) completes the run.
    const completers = new Set(results.flatMap((r, i) => (r.completedRun ? [i % 20] : [])));
    assert.equal(completers.size, 1, 'one message completes the run');
    const progress = await c.progress(p.runId);
    assert.deepEqual([progress?.done, progress?.failed, progress?.complete], [320 - 16, 16, true]);
    assert.deepEqual((await c.finishWorks(p.runId, [])).completedRun, false);
  });

  test(`${name}: unknown runs and keys are ignored`, async () => {
    const c = make();
    assert.equal((await c.finishWork('no-such-run', 'x#0', 'done')).completedRun, false);
    assert.equal(await c.progress('no-such-run'), null);
  });
}

contract('memory', () => new MemoryCoordinator());

describe('Firestore coordinator', await peerGate('firestore'), () => {
  const projectId = uniqueProjectId();
  let db: Firestore;
  before(() => {
    process.env.FIRESTORE_EMULATOR_HOST = firestoreEmulatorHost();
    db = new Firestore({ projectId });
  });
  after(async () => {
    await db.terminate();
    await resetFirestore(projectId);
  });
  contract('firestore', () => new FirestoreCoordinator({ db }));

  test('firestore: a finisher that stopped right after counting its item completes the run on redelivery', async () => {
    const c = new FirestoreCoordinator({ db });
    const p = plan('run-firestore-crash', 5);
    await c.openRun(p);
    for (const k of p.workKeys.slice(0, 4))
      assert.equal((await c.finishWork(p.runId, k, 'done')).completedRun, false);
    // The last finisher's batch commits (item created, shard counted), then its instance dies or
    // Firestore answers an error before the shard marker and the claim: nothing else is written.
    const last = p.workKeys[4]!;
    const shards = (await db.collection('runs').doc(p.runId).get()).get('shards') as number;
    const { shardOf } = await import('../shared/adapters/coordination/firestore.ts');
    const runRef = db.collection('runs').doc(p.runId);
    await db
      .batch()
      .create(runRef.collection('items').doc(encodeURIComponent(last)), {
        key: last,
        outcome: 'done',
        atMs: 0,
      })
      .update(runRef.collection('shards').doc(String(shardOf(last, shards))), {
        finished: FieldValue.increment(1),
      })
      .commit();
    assert.equal((await c.progress(p.runId))?.complete, false);
    // Pub/Sub redelivers its message.
    assert.equal((await c.finishWork(p.runId, last, 'done')).completedRun, true);
    assert.equal((await c.progress(p.runId))?.complete, true);
    assert.equal((await c.finishWork(p.runId, p.workKeys[0]!, 'done')).completedRun, false);
  });
});
