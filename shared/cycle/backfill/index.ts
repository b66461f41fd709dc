/**
 * Bulk backfill: history for a range of ingestion time, far faster than pushing it through the cycle.
 *
 * For chunks of nodes, each over the whole range: read the source's readings as columns, clean them,
 * build the 5m, 1h and 1d partials in tight loops, and write them with binary COPY — in one
 * transaction per chunk that also advances each node's watermark to `to`, updates node_latest and
 * records what was applied and rejected (applied_batches, run `bulk:<from>/<to>`). Two writers work
 * on different chunks at once: one aggregates while PostgreSQL ingests the other's rows.
 *
 * The same guarantees as the per-cycle path, by the same means:
 * - The watermark: a node whose watermark is at or after `to` is applied already and skipped (running
 *   a backfill twice changes nothing); a node's readings are those ingested after its own watermark;
 *   a node whose watermark lies inside (from, to) is refused — part of the range came through cycles.
 * - Rows that exist already (the hour and day the previous cycle wrote, late data's old buckets) are
 *   read under the nodes' locks and merged in memory, never overwritten; values whose second a stored
 *   5-minute partial has seen are duplicates, counted and dropped. Only new keys go through COPY.
 *
 * What it skips: the per-instant analytics over history (anomaly detection, data-quality counters,
 * forecasts, water balance) and the served views (window metrics, Redis hot keys, the network
 * rollup). The next ordinary cycle refreshes the views from the partials written here.
 *
 * Here the run as a whole (plan, chunks, writers, the result); `plan.ts` the pure planning and cleaning;
 * `chunk.ts` one chunk's transaction (read, aggregate and COPY, write).
 */

import type { Resolution } from '../../domain/aggregate.ts';
import { NodeAggregator } from '../../domain/bulk-aggregate.ts';
import { emptyRejects, type RejectCounts } from '../../domain/clean.ts';
import { columnsFromReadings, type NodeColumns } from '../../domain/columns.ts';
import { type Logger, silentLogger } from '../../log.ts';
import type { ReadingSource } from '../../sources/source.ts';
import { BulkBackfillConflictError, type ChunkOutcome, TABLES, writeChunk } from './chunk.ts';
import {
  BulkBackfillRefusedError,
  chunksOf,
  cleanChunk,
  daysOf,
  iso,
  type PlannedNode,
  planNodes,
  type Shard,
  shardNodes,
} from './plan.ts';
import type { BackfillStore, CopyFormat } from './store.ts';

export { BulkBackfillConflictError, BulkBackfillRefusedError, type Shard };

export interface BulkBackfillDeps {
  stores: { backfill: BackfillStore };
  source: ReadingSource;
  settings: { tenantId: string; latenessHorizonMs: number };
  logger?: Logger;
}

export interface BulkBackfillOptions {
  /** Ingestion time range (from, to]: every node ends with its watermark at `toMs`. */
  fromMs: number;
  toMs: number;
  /** Nodes per transaction (default: about 250,000 one-minute readings' worth). */
  nodesPerChunk?: number;
  /** Chunks written at once, each on its own connection (default 2). */
  writers?: number;
  /** COPY format (default binary). */
  format?: CopyFormat;
  /**
   * Only this shard of the nodes (every count-th in id order): N processes or Cloud Run tasks, each
   * with its own index, together backfill every node once. Each shard is idempotent and resumable on
   * its own, by the watermarks: a rerun skips the nodes its committed chunks applied.
   */
  shard?: Shard;
  onProgress?: (progress: { nodesDone: number; nodesTotal: number; readings: number }) => void;
}

export interface BulkBackfillResult {
  runId: string;
  /** Nodes in the registry (in the shard, when sharded); those applied now; those whose watermark was at or after `to` already. */
  nodes: number;
  applied: number;
  alreadyApplied: number;
  /** Readings received from the source, and those aggregated (at least one valid, new value). */
  received: number;
  readings: number;
  rejected: RejectCounts;
  /** Partials written by COPY, and stored partials merged with new data, per table. */
  copied: Record<Resolution, number>;
  merged: Record<Resolution, number>;
  /** Time spent waiting on the source (for the simulator: generating the readings), ms. */
  sourceMs: number;
  elapsedMs: number;
}

/** Reads a chunk's columns: the source's fast path, or one readIngested of everything, kept. */
function chunkReader(source: ReadingSource, toMs: number, horizonMs: number) {
  let whole: Promise<Map<string, NodeColumns>> | undefined;
  return async (nodes: readonly PlannedNode[], allFromMs: number): Promise<Map<string, NodeColumns>> => {
    const fromMs = Math.min(...nodes.map((n) => n.readFromMs));
    if (source.readColumns) {
      const window = { fromIngestMs: fromMs, toIngestMs: toMs, minTsMs: fromMs - horizonMs };
      const columns = await source.readColumns(
        window,
        nodes.map((n) => n.node.id),
      );
      return new Map(columns.map((c) => [c.nodeId, c]));
    }
    whole ??= source
      .readIngested({ fromIngestMs: allFromMs, toIngestMs: toMs, minTsMs: allFromMs - horizonMs })
      .then((batch) => new Map(columnsFromReadings(batch.readings).map((c) => [c.nodeId, c])));
    return whole;
  };
}

/**
 * Partitions are DDL: created before any transaction needs them, one at a time (creating one waits for
 * the other writer's transaction on the parent table).
 */
function partitionEnsurer(store: Pick<BackfillStore, 'ensurePartitions'>) {
  let ready: Promise<void> = Promise.resolve();
  return (loMs: number, hiMs: number) => {
    const days = daysOf(loMs, hiMs);
    ready = ready.then(() => store.ensurePartitions(days));
    return ready;
  };
}

/** Runs `work` over the chunks with `writers` at once, in order; after a failure no new chunk starts. */
async function eachChunk<T>(
  chunks: readonly T[],
  writers: number,
  work: (chunk: T, writer: NodeAggregator) => Promise<void>,
) {
  let next = 0;
  let failure: unknown;
  const writer = async () => {
    const aggregator = new NodeAggregator();
    while (failure === undefined && next < chunks.length) {
      const chunk = chunks[next++]!;
      try {
        await work(chunk, aggregator);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  // Committed chunks stay applied.
  if (failure !== undefined) throw failure;
}

/** Adds a committed chunk to the result. */
function tally(
  result: BulkBackfillResult,
  chunk: readonly PlannedNode[],
  cleaned: ReturnType<typeof cleanChunk>['cleaned'],
  outcome: ChunkOutcome,
) {
  for (const { node } of chunk) {
    const counts = cleaned.get(node.id)!.counts;
    for (const k of Object.keys(counts) as (keyof RejectCounts)[]) result.rejected[k] += counts[k];
    result.received += counts.received;
    result.readings += outcome.summaries.get(node.id)?.readings ?? 0;
  }
  for (const resolution of Object.keys(TABLES) as Resolution[]) {
    result.copied[resolution] += outcome.copied[resolution];
    result.merged[resolution] += outcome.merged[resolution];
  }
  result.applied += chunk.length;
}

export async function bulkBackfill(
  deps: BulkBackfillDeps,
  options: BulkBackfillOptions,
): Promise<BulkBackfillResult> {
  const started = performance.now();
  const { source, settings } = deps;
  const store = deps.stores.backfill;
  const { fromMs, toMs } = options;
  const log = deps.logger ?? silentLogger;
  if (!(toMs > fromMs)) throw new RangeError('the backfill range must end after it starts');
  const runId = `bulk:${iso(fromMs)}/${iso(toMs)}`;

  // The registry, as the dispatcher keeps it: synced from sources that define their own network.
  if (source.name !== 'bigquery') await store.upsertNetwork(await source.network());
  const nodes = shardNodes((await store.loadNetwork(settings.tenantId)).nodes, options.shard);
  const pending = planNodes(nodes, await store.readWatermarks(nodes.map((n) => n.id)), fromMs, toMs);
  const writers = Math.max(1, options.writers ?? 2);
  const chunks = chunksOf(pending, { fromMs, toMs }, writers, options.nodesPerChunk);
  const allFromMs = Math.min(fromMs, ...pending.map((n) => n.readFromMs));
  const read = chunkReader(source, toMs, settings.latenessHorizonMs);
  const ensurePartitions = partitionEnsurer(store);
  await ensurePartitions(fromMs, toMs - 1);

  const result: BulkBackfillResult = {
    runId,
    nodes: nodes.length,
    applied: 0,
    alreadyApplied: nodes.length - pending.length,
    received: 0,
    readings: 0,
    rejected: emptyRejects(),
    copied: { '5m': 0, '1h': 0, '1d': 0 },
    merged: { '5m': 0, '1h': 0, '1d': 0 },
    sourceMs: 0,
    elapsedMs: 0,
  };

  await eachChunk(chunks, writers, async (chunk, aggregator) => {
    const t0 = performance.now();
    const columns = await read(chunk, allFromMs);
    result.sourceMs += performance.now() - t0;
    const { cleaned, minTs, maxTs } = cleanChunk(chunk, columns, toMs, settings.latenessHorizonMs);
    if (minTs <= maxTs) await ensurePartitions(minTs, maxTs);
    const format = options.format ?? 'binary';
    const outcome = await writeChunk(store, aggregator, {
      runId,
      toMs,
      chunk,
      cleaned,
      minTs,
      maxTs,
      format,
    });
    tally(result, chunk, cleaned, outcome);
    options.onProgress?.({
      nodesDone: result.applied,
      nodesTotal: pending.length,
      readings: result.readings,
    });
  });

  result.elapsedMs = performance.now() - started;
  log.info('bulk backfill finished', {
    event: 'backfill.bulk_finished',
    runId,
    ...(options.shard ? { shard: options.shard } : {}),
    nodes: result.nodes,
    applied: result.applied,
    alreadyApplied: result.alreadyApplied,
    readings: result.readings,
    rejected: result.rejected,
    copied: result.copied,
    merged: result.merged,
    durationMs: Math.round(result.elapsedMs),
  });
  return result;
}
