/**
 * Aggregate one node's batch: clean, fold into 5-minute partials, merge into the stored 5m/1h/1d
 * partials, advance the node's ingestion watermark — all in one transaction under the node's lock —
 * then refresh what the API serves for the node (`views.ts`). A multi-node message's batches share
 * one transaction (`applyNodeBatches`), each node's code as it would run alone (the store coalesces
 * the nodes' statements of a kind into one).
 *
 * The transaction has three phases: every read issued at once (the node's state or watermark, the
 * stored partials of the batch's buckets, its latest values; they pipeline behind the lock), pure
 * computation (`batch.ts`, and the analytics' counting and judging), every write issued at once.
 *
 * Idempotent and order-independent: the watermark says which readings are already applied, so a
 * redelivered batch changes nothing, and a batch that arrives before an earlier one it depends on
 * is refused (thrown) and retried by the bus after the earlier one.
 */

import type { Anomaly } from '../../anomaly/index.ts';
import {
  aggregateReadings,
  BUCKET_MS,
  bucketStart,
  DAY_MS,
  HOUR_MS,
  type PartialRow,
  rollUp,
} from '../../domain/aggregate.ts';
import { cleanReadings, type RejectCounts } from '../../domain/clean.ts';
import type { StoredLatest } from '../../domain/payloads.ts';
import type { Reading } from '../../domain/readings.ts';
import { dayOf } from '../../domain/view-state.ts';
import type { AggregatorDeps } from '../deps.ts';
import { decodeReadings, type NodeWorkMessage } from '../messages.ts';
import { dropSeen, mergeLatest, readingSpan, storedIn } from './batch.ts';
import {
  computeNodeAnalytics,
  type NodeAnalyticsInput,
  type NodeAnalyticsRead,
  type NodeAnalyticsResult,
  readNodeAnalytics,
  writeNodeAnalytics,
} from './node-analytics.ts';
import type { NodeQualityScores } from './node-quality.ts';
import { logOpened } from './opened-log.ts';
import type { NodeBatchTx, NodeState } from './store.ts';
import { inJsonbOrder, justScored, justWritten } from './views.ts';

export { computeNodeView, type NodeView, refreshNodeViews } from './views.ts';

/** A batch that depends on an earlier, not yet applied one: retried later, never dead-lettered early. */
export class BatchOutOfOrderError extends Error {
  override name = 'BatchOutOfOrderError';
}

export interface NodeResult {
  applied: boolean;
  readings: number;
  rejected: RejectCounts;
  /** Anomalies this batch opened (and wrote, with their events). */
  opened?: number;
}

/** What a batch is applied to, read once: settled together. */
interface BatchReads {
  watermarkMs: number | null;
  stored5m: PartialRow[];
  stored1h: PartialRow[];
  stored1d: PartialRow[];
  latest: StoredLatest | null;
  /** The day of the node's settled view state (null without one). */
  viewDay: number | null;
  analytics: { read: NodeAnalyticsRead; state: NodeState; timezone: string } | null;
}

/** The analytics' input for a batch starting from `fromMs` (its message's watermark, or the stored one). */
const analyticsInput = (deps: AggregatorDeps, msg: NodeWorkMessage, raw: Reading[], fromMs: number) =>
  ({
    node: msg.node,
    readings: raw.filter((r) => r.ingestedAt > fromMs),
    fromMs,
    toMs: msg.toIngestMs,
    cycleMs: deps.settings.cycleMs,
  }) satisfies NodeAnalyticsInput;

async function settleAnalytics(read: NodeAnalyticsRead) {
  const [state, timezone] = await Promise.all([read.state, read.timezone]);
  return { read, state, timezone };
}

/**
 * Read phase: every read issued together (one round trip). With the analytics, their read brings the
 * watermark, the latest values and the settled view state's day (two statements fewer); the 1h/1d rows
 * are read for every clean reading's bucket (a superset of what the new readings touch, which only the
 * watermark and the 5-minute rows tell).
 */
async function readBatch(
  tx: NodeBatchTx,
  analytics: NodeAnalyticsInput | null,
  valid: Reading[],
): Promise<BatchReads> {
  const read = analytics ? readNodeAnalytics(tx, analytics) : null;
  const buckets = (size: number) => valid.map((r) => bucketStart(r.ts, size));
  const some = valid.length > 0;
  const [watermarkMs, stored, latest, viewDay, settled] = await Promise.all([
    read ? read.state.then((s) => s.watermarkMs) : tx.readWatermark(),
    tx.readBatchBuckets({ agg_5m: buckets(BUCKET_MS), agg_1h: buckets(HOUR_MS), agg_1d: buckets(DAY_MS) }),
    some && !read ? tx.readLatest() : null,
    some && !read ? tx.readViewStateDay() : null,
    read ? settleAnalytics(read) : null,
  ]);
  return {
    watermarkMs,
    stored5m: stored.agg_5m,
    stored1h: stored.agg_1h,
    stored1d: stored.agg_1d,
    latest: settled ? settled.state.latest : latest,
    viewDay: settled ? settled.state.viewDayMs : viewDay,
    analytics: settled,
  };
}

/** Compute phase (pure): what the batch adds over the stored state, and the analytics' results. */
function computeBatch(reads: BatchReads, valid: Reading[], counts: RejectCounts, watermarkMs: number) {
  const fresh = dropSeen(
    valid.filter((r) => r.ingestedAt > watermarkMs),
    reads.stored5m,
    counts,
  );
  const p5m = aggregateReadings(fresh, BUCKET_MS);
  const p1h = rollUp(p5m, HOUR_MS);
  const p1d = rollUp(p5m, DAY_MS);
  // Before the merges: they mark the batch's own seconds in the stored 5-minute rows.
  const a = reads.analytics;
  const analytics = a ? computeNodeAnalytics(a.read, a.state, a.timezone, reads.stored5m, p5m) : null;
  let latest: StoredLatest | null = null;
  if (fresh.length > 0) {
    const body = mergeLatest(reads.latest?.body ?? {}, fresh);
    latest = { tsMs: Math.max(...Object.values(body).map((v) => v.ts)), body };
  }
  return {
    fresh,
    merges: [
      { table: 'agg_5m', delta: p5m, stored: reads.stored5m },
      { table: 'agg_1h', delta: p1h, stored: storedIn(reads.stored1h, p1h) },
      { table: 'agg_1d', delta: p1d, stored: storedIn(reads.stored1d, p1d) },
    ] as const,
    latest,
    viewDay: reads.viewDay,
    analytics,
    span: readingSpan(fresh),
  };
}

/**
 * Write phase: every write issued together (they pipeline). With the analytics, their write moves the
 * watermark (one statement fewer). Resolves with the anomalies that opened.
 */
async function writeBatch(
  tx: NodeBatchTx,
  msg: NodeWorkMessage,
  counts: RejectCounts,
  computed: ReturnType<typeof computeBatch> & { analytics: NodeAnalyticsResult | null },
  analytics: NodeAnalyticsInput | null,
): Promise<Anomaly[]> {
  const opened =
    analytics && computed.analytics ? writeNodeAnalytics(tx, analytics, computed.analytics) : null;
  const writes: Promise<unknown>[] = computed.merges.map((m) => tx.mergePartials(m.table, m.delta, m.stored));
  if (computed.latest) writes.push(tx.writeLatest(computed.latest.tsMs, computed.latest.body));
  if (!opened) writes.push(tx.writeWatermark(msg.toIngestMs));
  // The reading times the batch held: the rollup recomputes water balances for those days only.
  writes.push(
    tx.recordBatch({
      runId: msg.runId,
      part: msg.part,
      readings: computed.fresh.length,
      rejected: counts,
      minTs: computed.span.min,
      maxTs: computed.span.max,
    }),
  );
  const [found] = await Promise.all([opened ?? [], ...writes]);
  // After the merges (it reads them): the node's settled view state, when the batch made it stale.
  if (computed.latest && settledStale(computed.viewDay, computed.latest.tsMs, computed.merges)) {
    await tx.rebuildViewState(computed.latest.tsMs);
  }
  return found;
}

/**
 * Whether a batch leaves the node's settled view state (`domain/view-state.ts`) stale: it is missing,
 * of another day than the latest reading's, or the batch merged into an hour or a day before that day.
 */
function settledStale(
  viewDay: number | null,
  latestMs: number,
  merges: ReturnType<typeof computeBatch>['merges'],
): boolean {
  const day = dayOf(latestMs);
  if (viewDay !== day) return true;
  return merges.some((m) => m.table !== 'agg_5m' && m.delta.some((r) => r.bucketMs < day));
}

/** A batch decoded and cleaned, before its transaction. */
interface PreparedBatch {
  msg: NodeWorkMessage;
  raw: Reading[];
  valid: Reading[];
  counts: RejectCounts;
}

type TxResult = NodeResult & {
  analytics?: { opened: Anomaly[]; quality: NodeQualityScores };
  latest?: StoredLatest | null;
};

function prepareBatch(msg: NodeWorkMessage): PreparedBatch {
  const raw = decodeReadings(msg);
  const { valid, counts } = cleanReadings(raw, msg.toIngestMs);
  return { msg, raw, valid, counts };
}

/** Partitions are DDL: created outside the transaction, before it needs them (the readings' days say which). */
async function ensurePartitionsFor(deps: AggregatorDeps, batches: readonly PreparedBatch[]) {
  const days = new Set<number>();
  for (const b of batches) for (const r of b.valid) days.add(bucketStart(r.ts, DAY_MS));
  await deps.stores.aggregate.ensurePartitions([...days]);
}

/** One batch inside its transaction, under its node's lock: read, compute, write. */
async function applyInTransaction(
  deps: AggregatorDeps,
  tx: NodeBatchTx,
  b: PreparedBatch,
): Promise<TxResult> {
  const { msg, raw, valid, counts } = b;
  let input = deps.settings.analytics ? analyticsInput(deps, msg, raw, msg.fromIngestMs) : null;
  const reads = await readBatch(tx, input, valid);
  const watermark = reads.watermarkMs ?? Number.NEGATIVE_INFINITY;
  if (msg.toIngestMs <= watermark) return { applied: false, readings: 0, rejected: counts };
  if (msg.fromIngestMs > watermark) {
    throw new BatchOutOfOrderError(
      `node ${msg.node.id}: batch starts at ${new Date(msg.fromIngestMs).toISOString()} but only data up to ${new Date(watermark).toISOString()} is applied`,
    );
  }
  // Runs overlapped, part of the batch is applied already: the analytics start over from the real watermark.
  if (input && watermark !== msg.fromIngestMs) {
    input = analyticsInput(deps, msg, raw, watermark);
    reads.analytics = await settleAnalytics(readNodeAnalytics(tx, input));
  }
  const computed = computeBatch(reads, valid, counts, watermark);
  const opened = await writeBatch(tx, msg, counts, computed, input);
  return {
    applied: true,
    readings: computed.fresh.length,
    rejected: counts,
    latest: computed.latest,
    ...(computed.analytics ? { analytics: { opened, quality: computed.analytics.quality.scores } } : {}),
  };
}

/** After the commit: what the node's refresh reuses, and the opened anomalies' log lines. */
function committed(deps: AggregatorDeps, msg: NodeWorkMessage, result: TxResult): NodeResult {
  // The node's refresh, next in the same handler, serves the committed latest row without reading it back.
  if (result.latest)
    justWritten.set(msg.node, { tsMs: result.latest.tsMs, body: inJsonbOrder(result.latest.body) });
  if (result.analytics) {
    // Logged once the transaction has committed: exactly once per anomaly (a replay applies nothing).
    const log = deps.logger.child({ runId: msg.runId });
    for (const a of result.analytics.opened) logOpened(log, a);
    // The node's refresh, next in the same handler, serves these scores without reading them back.
    justScored.set(msg.node, result.analytics.quality);
  }
  return {
    applied: result.applied,
    readings: result.readings,
    rejected: result.rejected,
    opened: result.analytics?.opened.length ?? 0,
  };
}

export async function applyNodeBatch(deps: AggregatorDeps, msg: NodeWorkMessage): Promise<NodeResult> {
  const b = prepareBatch(msg);
  await ensurePartitionsFor(deps, [b]);
  const result = await deps.stores.aggregate.inNodeTransaction(msg.node.id, (tx) =>
    applyInTransaction(deps, tx, b),
  );
  return committed(deps, msg, result);
}

/** What became of one batch of a multi-node message. */
export type BatchOutcome =
  | { msg: NodeWorkMessage; result: NodeResult }
  | { msg: NodeWorkMessage; error: unknown };

/**
 * Several nodes' batches (one message's) in ONE transaction: the nodes locked together in a stable
 * order (no deadlock between concurrent messages), every node's reads issued together (the store
 * sends each kind as one statement for all of them), every node's writes likewise (one statement),
 * one commit. A batch out of order is left out (it
 * wrote nothing) and the others commit. Any other failure aborts the transaction: then each batch is
 * applied in a transaction of its own, so one bad node fails alone. Resolves with each batch's outcome,
 * in order; never rejects for a batch's failure.
 */
export async function applyNodeBatches(
  deps: AggregatorDeps,
  msgs: readonly NodeWorkMessage[],
): Promise<BatchOutcome[]> {
  const one = async (msg: NodeWorkMessage): Promise<BatchOutcome> => {
    try {
      return { msg, result: await applyNodeBatch(deps, msg) };
    } catch (error) {
      return { msg, error };
    }
  };
  if (msgs.length === 1) return [await one(msgs[0]!)];
  let settled: PromiseSettledResult<TxResult>[];
  try {
    const batches = msgs.map(prepareBatch);
    await ensurePartitionsFor(deps, batches);
    settled = await deps.stores.aggregate.inNodesTransaction(
      msgs.map((m) => m.node.id),
      async (txOf) => {
        const outcomes = await Promise.allSettled(
          batches.map((b) => applyInTransaction(deps, txOf(b.msg.node.id), b)),
        );
        // Out of order is decided before any write, in JS: the transaction is intact. Anything else may
        // have failed a statement (the transaction is then aborted): roll back, and go node by node.
        const failed = outcomes.find(
          (o) => o.status === 'rejected' && !(o.reason instanceof BatchOutOfOrderError),
        );
        if (failed) throw (failed as PromiseRejectedResult).reason;
        return outcomes;
      },
    );
  } catch (err) {
    deps.logger.warn('a multi-node transaction failed; its nodes are applied one transaction each', {
      event: 'nodes.group_failed',
      runId: msgs[0]!.runId,
      nodes: msgs.length,
      err,
    });
    // Side by side, through the pool (as single-node messages would be): an outage fails them as fast.
    return Promise.all(msgs.map(one));
  }
  return settled.map((o, i) => {
    const msg = msgs[i]!;
    return o.status === 'fulfilled'
      ? { msg, result: committed(deps, msg, o.value) }
      : { msg, error: o.reason };
  });
}
