/**
 * Run coordination in Firestore without a hot document (Firestore sustains about one write per
 * second per document). A run's work items are hashed into S shards whose expected sizes are fixed
 * when the run opens:
 *   runs/{runId}                  plan, shard count, number of full shards, completion flag
 *   runs/{runId}/shards/{k}       expected and finished counts of shard k
 *   runs/{runId}/items/{key}      the outcome of one work item (done | failed)
 * Finishing an item is one transaction over its item and its shard (S ≈ items/100, so a shard takes
 * well under one write per second). Only the finisher that fills a shard touches the run document,
 * in a transaction, and only the one that fills the last shard sees `completedRun` — exactly one,
 * even when two items finish at the same moment.
 */
import { createHash } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import type { Coordinator, RunPlan, RunProgress, WorkOutcome } from './coordinator.ts';

const ITEMS_PER_SHARD = 100;
const MAX_SHARDS = 250;

export const shardCountFor = (items: number) =>
  Math.max(1, Math.min(MAX_SHARDS, Math.ceil(items / ITEMS_PER_SHARD)));
export const shardOf = (key: string, shards: number) =>
  createHash('sha1').update(key).digest().readUInt32BE(0) % shards;
const docId = (key: string) => encodeURIComponent(key).replaceAll('.', '%2E');

export class FirestoreCoordinator implements Coordinator {
  readonly name = 'firestore' as const;
  readonly db: Firestore;
  private readonly collection: string;

  constructor(
    options: { projectId?: string; databaseId?: string; collection?: string; db?: Firestore } = {},
  ) {
    this.db =
      options.db ??
      new Firestore({
        ...(options.projectId ? { projectId: options.projectId } : {}),
        ...(options.databaseId ? { databaseId: options.databaseId } : {}),
        ignoreUndefinedProperties: true,
      });
    this.collection = options.collection ?? 'runs';
  }

  private run(runId: string) {
    return this.db.collection(this.collection).doc(docId(runId));
  }

  async openRun(plan: RunPlan): Promise<void> {
    const runRef = this.run(plan.runId);
    const shards = shardCountFor(plan.workKeys.length);
    const expected = new Array<number>(shards).fill(0);
    for (const key of plan.workKeys) expected[shardOf(key, shards)]! += 1;
    const created = await this.db.runTransaction(async (tx) => {
      const snap = await tx.get(runRef);
      if (snap.exists) return false;
      tx.create(runRef, {
        tenantId: plan.tenantId,
        startedAtMs: plan.startedAtMs,
        windowFromMs: plan.windowFromMs,
        windowToMs: plan.windowToMs,
        total: plan.workKeys.length,
        readings: plan.readings,
        bytesProcessed: plan.bytesProcessed,
        source: plan.source,
        shards,
        // Empty shards are full from the start.
        fullShards: expected.filter((n) => n === 0).length,
        complete: plan.workKeys.length === 0,
      });
      return true;
    });
    if (!created) return;
    const writer = this.db.bulkWriter();
    expected.forEach((n, k) => {
      void writer.set(runRef.collection('shards').doc(String(k)), { expected: n, finished: 0 });
    });
    await writer.close();
  }

  async finishWork(runId: string, workKey: string, outcome: WorkOutcome): Promise<{ completedRun: boolean }> {
    const runRef = this.run(runId);
    const runSnap = await runRef.get();
    if (!runSnap.exists) return { completedRun: false };
    const shards = runSnap.get('shards') as number;
    const shardRef = runRef.collection('shards').doc(String(shardOf(workKey, shards)));
    const itemRef = runRef.collection('items').doc(docId(workKey));
    const filledShard = await this.db.runTransaction(async (tx) => {
      const [item, shard] = await Promise.all([tx.get(itemRef), tx.get(shardRef)]);
      if (item.exists) {
        // Counted already; a later success overrides an earlier failure.
        if (outcome === 'done' && item.get('outcome') === 'failed') tx.update(itemRef, { outcome });
        return false;
      }
      tx.create(itemRef, { key: workKey, outcome, atMs: Date.now() });
      const finished = (shard.get('finished') as number) + 1;
      tx.update(shardRef, { finished });
      return finished === (shard.get('expected') as number);
    });
    if (!filledShard) return { completedRun: false };
    const completedRun = await this.db.runTransaction(async (tx) => {
      const snap = await tx.get(runRef);
      const full = (snap.get('fullShards') as number) + 1;
      const complete = full === snap.get('shards');
      tx.update(runRef, { fullShards: full, complete, ...(complete ? { completedAtMs: Date.now() } : {}) });
      return complete;
    });
    return { completedRun };
  }

  async progress(runId: string): Promise<RunProgress | null> {
    const runRef = this.run(runId);
    const snap = await runRef.get();
    if (!snap.exists) return null;
    const [shards, failed] = await Promise.all([
      runRef.collection('shards').get(),
      runRef.collection('items').where('outcome', '==', 'failed').get(),
    ]);
    const finished = shards.docs.reduce((n, d) => n + (d.get('finished') as number), 0);
    const failedKeys = failed.docs.map((d) => d.get('key') as string).sort();
    return {
      runId,
      tenantId: snap.get('tenantId') as string,
      total: snap.get('total') as number,
      done: finished - failedKeys.length,
      failed: failedKeys.length,
      failedKeys,
      complete: snap.get('complete') === true,
    };
  }

  async close(): Promise<void> {
    await this.db.terminate();
  }
}
