/**
 * Run coordination in Firestore without a hot document (Firestore sustains about one write per
 * second per document). A run's work items are hashed into S shards whose expected sizes are fixed
 * when the run opens:
 *   runs/{runId}                  plan, shard count, completion flag
 *   runs/{runId}/shards/{k}       expected and finished counts of shard k
 *   runs/{runId}/items/{key}      the outcome of one work item (done | failed)
 * Finishing an item is one atomic batch without reads: create the item document (which fails on a
 * redelivery, so nothing counts twice) and increment its shard's counter server-side (S ≈ items/100,
 * so a shard takes about one write per second at 10,000 nodes in five minutes). The finisher then
 * reads its shard; whoever sees it full creates the shard's marker (runs/{runId}/fullShards/{k}) and
 * counts the markers (S small documents, no transaction on the run document); whoever sees all S
 * claims the fan-in by creating runs/{runId}/fanin/claimed with its own key — exactly one caller gets
 * `completedRun`, even when two items finish at the same moment. Every step after the batch is
 * idempotent and runs again on a redelivery, so a finisher that crashed (or met a Firestore error)
 * after its batch still completes the run when Pub/Sub redelivers its message; the claimant's own
 * redelivery gets `completedRun` again (the network rollup it triggers is idempotent). Items that
 * finish while another's batch is in flight share one batch and one read of their shards (see
 * `finishGrouped`): an instance handling several messages at a time makes two requests per group.
 */
import { createHash } from 'node:crypto';
import { FieldValue, Firestore } from '@google-cloud/firestore';
import { groupCommit } from '../group-commit.ts';
import type { Coordinator, RunPlan, RunProgress, WorkOutcome } from './coordinator.ts';

const ITEMS_PER_SHARD = 100;
const MAX_SHARDS = 250;
/** gRPC status of a create() on an existing document. */
const ALREADY_EXISTS = 6;

export const shardCountFor = (items: number) =>
  Math.max(1, Math.min(MAX_SHARDS, Math.ceil(items / ITEMS_PER_SHARD)));
export const shardOf = (key: string, shards: number) =>
  createHash('sha1').update(key).digest().readUInt32BE(0) % shards;
const docId = (key: string) => encodeURIComponent(key).replaceAll('.', '%2E');
/** Items per group commit: each is one write of the batch, with one per shard (Firestore allows 500). */
const MAX_GROUP = 200;

/** One item on its way to being recorded. */
interface Finishing {
  runRef: FirebaseFirestore.DocumentReference;
  shards: number;
  shard: number;
  shardRef: FirebaseFirestore.DocumentReference;
  itemRef: FirebaseFirestore.DocumentReference;
  workKey: string;
  outcome: WorkOutcome;
}
/** An item recorded whose shard was then seen full. */
type FinishedShard = Finishing & { full: true };
/** What recording an item gives: its shard seen full, or not (null); a promise of it for an item alone. */
type Recorded = FinishedShard | null | Promise<FinishedShard | null>;

const isFull = (counts: FirebaseFirestore.DocumentSnapshot) =>
  (counts.get('finished') as number) >= (counts.get('expected') as number);

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
        complete: plan.workKeys.length === 0,
      });
      return true;
    });
    if (!created) return;
    const writer = this.db.bulkWriter();
    expected.forEach((n, k) => {
      // Empty shards are full from the start.
      if (n === 0) void writer.set(runRef.collection('fullShards').doc(String(k)), { atMs: Date.now() });
      void writer.set(runRef.collection('shards').doc(String(k)), { expected: n, finished: 0 });
    });
    await writer.close();
  }

  /** Shard counts are fixed when a run opens: remember them instead of reading the run every time. */
  private readonly shardCounts = new Map<string, number>();

  private async shardsOf(runId: string): Promise<number | undefined> {
    const known = this.shardCounts.get(runId);
    if (known !== undefined) return known;
    const snap = await this.run(runId).get();
    if (!snap.exists) return undefined;
    const shards = snap.get('shards') as number;
    if (this.shardCounts.size > 1000) this.shardCounts.clear();
    this.shardCounts.set(runId, shards);
    return shards;
  }

  /**
   * Items finishing while another group's commit is in flight leave together (`group-commit.ts`): one
   * batch creates every item of the group and increments each of their shards by its count, then one
   * read brings those shards back — two requests per group instead of two per item. A group whose batch
   * fails (an item that exists already — a redelivery —, or any other error) is atomic, so nothing of
   * it was written: each of its items then takes the path of one item alone (`finishOne`).
   */
  private readonly finishGrouped = groupCommit<Finishing, Recorded>({
    maxItems: MAX_GROUP,
    flush: async (items) => {
      const batch = this.db.batch();
      const increments = new Map<string, { ref: FirebaseFirestore.DocumentReference; n: number }>();
      for (const it of items) {
        batch.create(it.itemRef, { key: it.workKey, outcome: it.outcome, atMs: Date.now() });
        const inc = increments.get(it.shardRef.path);
        if (inc) inc.n += 1;
        else increments.set(it.shardRef.path, { ref: it.shardRef, n: 1 });
      }
      for (const { ref, n } of increments.values()) batch.update(ref, { finished: FieldValue.increment(n) });
      try {
        await batch.commit();
      } catch {
        // Each item settles on its own (a promise per item: one failing fails only its caller).
        return items.map((it) => this.finishOne(it));
      }
      // Read after our own commit: the group whose commit was last sees the shard full.
      const refs = [...increments.values()].map((i) => i.ref);
      const snaps = await this.db.getAll(...refs);
      const full = new Map(snaps.map((s) => [s.ref.path, isFull(s)]));
      return items.map((it) => (full.get(it.shardRef.path) ? { ...it, full: true } : null));
    },
  });

  private finishing(runId: string, shards: number, workKey: string, outcome: WorkOutcome): Finishing {
    const runRef = this.run(runId);
    const shard = shardOf(workKey, shards);
    return {
      runRef,
      shards,
      shard,
      shardRef: runRef.collection('shards').doc(String(shard)),
      itemRef: runRef.collection('items').doc(docId(workKey)),
      workKey,
      outcome,
    };
  }

  async finishWork(runId: string, workKey: string, outcome: WorkOutcome): Promise<{ completedRun: boolean }> {
    const shards = await this.shardsOf(runId);
    if (shards === undefined) return { completedRun: false };
    const full = await this.finishGrouped(this.finishing(runId, shards, workKey, outcome));
    if (!full) return { completedRun: false };
    return this.completeShard(full);
  }

  /**
   * Several items in one group commit (`many`: they leave together, not the first alone). Each shard
   * seen full is completed once, in the items' order, so a redelivery tries the same claimant first.
   */
  async finishWorks(
    runId: string,
    items: readonly { workKey: string; outcome: WorkOutcome }[],
  ): Promise<{ completedRun: boolean }> {
    if (items.length === 0) return { completedRun: false };
    const shards = await this.shardsOf(runId);
    if (shards === undefined) return { completedRun: false };
    const recorded = await Promise.all(
      this.finishGrouped.many(items.map((it) => this.finishing(runId, shards, it.workKey, it.outcome))),
    );
    const byShard = new Map<number, FinishedShard>();
    for (const full of recorded) if (full && !byShard.has(full.shard)) byShard.set(full.shard, full);
    let completedRun = false;
    for (const full of byShard.values()) {
      if ((await this.completeShard(full)).completedRun) completedRun = true;
    }
    return { completedRun };
  }

  /** One item alone: the path of a redelivered item (and of the items of a group whose batch failed). */
  private async finishOne(it: Finishing): Promise<FinishedShard | null> {
    // One atomic batch, no reads: create the item (fails if it exists, so a redelivery never counts
    // twice) and increment its shard server-side (no transaction retries on a busy shard).
    try {
      await this.db
        .batch()
        .create(it.itemRef, { key: it.workKey, outcome: it.outcome, atMs: Date.now() })
        .update(it.shardRef, { finished: FieldValue.increment(1) })
        .commit();
    } catch (err) {
      if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
      // Counted already; a later success overrides an earlier failure. Then carry on: the first
      // delivery may have stopped anywhere below.
      if (it.outcome === 'done') {
        await this.db.runTransaction(async (tx) => {
          const item = await tx.get(it.itemRef);
          if (item.get('outcome') === 'failed') tx.update(it.itemRef, { outcome: it.outcome });
        });
      }
    }
    // Read after our own commit: the finisher whose commit was last sees the shard full.
    return isFull(await it.shardRef.get()) ? { ...it, full: true } : null;
  }

  /** The item's shard is full: mark it, and whoever sees every shard full claims the fan-in. */
  private async completeShard(it: FinishedShard): Promise<{ completedRun: boolean }> {
    await this.createOnce(it.runRef.collection('fullShards').doc(String(it.shard)));
    // Counted after our own marker: whoever lists last sees every marker.
    const full = await it.runRef.collection('fullShards').select().get();
    if (full.size < it.shards) return { completedRun: false };
    return { completedRun: await this.claimFanIn(it.runRef, it.workKey) };
  }

  /** The fan-in claim: true for the one caller that created it, and again for that caller's redelivery. */
  private async claimFanIn(runRef: FirebaseFirestore.DocumentReference, workKey: string): Promise<boolean> {
    const claim = runRef.collection('fanin').doc('claimed');
    try {
      await claim.create({ key: workKey, atMs: Date.now() });
    } catch (err) {
      if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
      if ((await claim.get()).get('key') !== workKey) return false;
    }
    await runRef.update({ complete: true, completedAtMs: Date.now() });
    return true;
  }

  /** Creates a marker document; true only for the one caller that created it. */
  private async createOnce(ref: FirebaseFirestore.DocumentReference): Promise<boolean> {
    try {
      await ref.create({ atMs: Date.now() });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === ALREADY_EXISTS) return false;
      throw err;
    }
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
