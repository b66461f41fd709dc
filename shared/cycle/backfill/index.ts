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
 */

import {
  bucketStart,
  DAY_MS,
  mergeInto,
  type PartialRow,
  partialKey,
  RESOLUTIONS,
  type Resolution,
} from '../../domain/aggregate.ts';
import { builderToRow, dropSeen, NodeAggregator, type NodeSummary } from '../../domain/bulk-aggregate.ts';
import { emptyRejects, type RejectCounts } from '../../domain/clean.ts';
import {
  type CleanColumns,
  cleanColumns,
  columnsFromReadings,
  type NodeColumns,
} from '../../domain/columns.ts';
import { METRICS, type NodeInfo } from '../../domain/readings.ts';
import { type Logger, silentLogger } from '../../log.ts';
import type { ReadingSource } from '../../sources/source.ts';
import type { LatestBody, PartialTable } from '../aggregate/store.ts';
import type { BackfillStore, BatchRecord, CopyFormat, PartialEncoder, PartialKey } from './store.ts';

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
  onProgress?: (progress: { nodesDone: number; nodesTotal: number; readings: number }) => void;
}

export interface BulkBackfillResult {
  runId: string;
  /** Nodes in the registry; those applied now; those whose watermark was at or after `to` already. */
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

/** Nodes whose watermark lies inside the range: nothing was written. */
export class BulkBackfillRefusedError extends Error {
  override name = 'BulkBackfillRefusedError';
}

/** A node's watermark moved between planning and writing (a cycle ran meanwhile): rerun to resume. */
export class BulkBackfillConflictError extends Error {
  override name = 'BulkBackfillConflictError';
}

const CHUNK_READINGS = 250_000;
const TABLES: Record<Resolution, PartialTable> = { '5m': 'agg_5m', '1h': 'agg_1h', '1d': 'agg_1d' };
const iso = (ms: number) => new Date(ms).toISOString();

interface PlannedNode {
  node: NodeInfo;
  /** Its watermark, or undefined when it has none (nothing applied: its readings start at `from`). */
  watermarkMs: number | undefined;
  readFromMs: number;
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

const emptyClean = (nodeId: string): CleanColumns => ({
  nodeId,
  counts: emptyRejects(),
  length: 0,
  ts: new Float64Array(0),
  values: {},
});

/** Whether the node's clean readings hold a value of `metric` in [bucketMs, bucketMs + size). */
function touches(clean: CleanColumns | undefined, key: PartialKey, sizeMs: number): boolean {
  const column = clean?.values[key.metric];
  if (!clean || !column) return false;
  const ts = clean.ts;
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! < key.bucketMs) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < ts.length && ts[i]! < key.bucketMs + sizeMs; i++)
    if (!Number.isNaN(column[i]!)) return true;
  return false;
}

function mergeLatest(current: LatestBody, latest: NodeSummary['latest']): LatestBody {
  const next: LatestBody = { ...current };
  for (const [metric, v] of Object.entries(latest)) {
    const have = next[metric];
    if (!have || v.ts > have.ts || (v.ts === have.ts && v.value > have.value)) next[metric] = v;
  }
  return next;
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
  const { nodes } = await store.loadNetwork(settings.tenantId);
  const watermarks = await store.readWatermarks(nodes.map((n) => n.id));
  const pending: PlannedNode[] = [];
  const refused: string[] = [];
  for (const node of nodes) {
    const watermarkMs = watermarks.get(node.id);
    if (watermarkMs === undefined) pending.push({ node, watermarkMs, readFromMs: fromMs });
    else if (watermarkMs >= toMs) continue;
    else if (watermarkMs > fromMs) refused.push(`${node.id} (applied up to ${iso(watermarkMs)})`);
    // Behind `from`: its readings start at its own watermark, so none is skipped.
    else pending.push({ node, watermarkMs, readFromMs: watermarkMs });
  }
  if (refused.length > 0) {
    throw new BulkBackfillRefusedError(
      `${refused.length} node(s) are applied past ${iso(fromMs)} already, inside the range: ` +
        `${refused.slice(0, 5).join(', ')}${refused.length > 5 ? ` and ${refused.length - 5} more` : ''}. ` +
        'Backfill from their watermark instead, or let the cycle catch up. Nothing was written.',
    );
  }

  const days = Math.max(1, (toMs - fromMs) / DAY_MS);
  const writers = Math.max(1, options.writers ?? 2);
  // Chunks of about CHUNK_READINGS, and enough of them to keep every writer busy to the end.
  const perChunk =
    options.nodesPerChunk ??
    Math.max(
      1,
      Math.min(Math.round(CHUNK_READINGS / (days * 1440)), Math.ceil(pending.length / (4 * writers))),
    );
  const chunks: PlannedNode[][] = [];
  for (let i = 0; i < pending.length; i += perChunk) chunks.push(pending.slice(i, i + perChunk));
  const allFromMs = Math.min(fromMs, ...pending.map((n) => n.readFromMs));
  const read = chunkReader(source, toMs, settings.latenessHorizonMs);

  // Partitions are DDL: created before any transaction needs them, one at a time (creating one
  // waits for the other writer's transaction on the parent table).
  let partitionsReady: Promise<void> = Promise.resolve();
  const ensurePartitions = (loMs: number, hiMs: number) => {
    const days: number[] = [];
    for (let d = bucketStart(loMs, DAY_MS); d <= hiMs; d += DAY_MS) days.push(d);
    partitionsReady = partitionsReady.then(() => store.ensurePartitions(days));
    return partitionsReady;
  };
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

  const writeChunk = async (chunk: PlannedNode[], aggregator: NodeAggregator) => {
    const t0 = performance.now();
    const columns = await read(chunk, allFromMs);
    result.sourceMs += performance.now() - t0;
    const cleaned = new Map<string, CleanColumns>();
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = Number.NEGATIVE_INFINITY;
    for (const { node, readFromMs } of chunk) {
      const cols = columns.get(node.id);
      const clean = cols
        ? cleanColumns(cols, {
            fromIngestMs: readFromMs,
            toIngestMs: toMs,
            minTsMs: readFromMs - settings.latenessHorizonMs,
          })
        : emptyClean(node.id);
      cleaned.set(node.id, clean);
      if (clean.length > 0) {
        minTs = Math.min(minTs, clean.ts[0]!);
        maxTs = Math.max(maxTs, clean.ts[clean.length - 1]!);
      }
    }
    const hasData = minTs <= maxTs;
    if (hasData) await ensurePartitions(minTs, maxTs);
    const ids = chunk.map((n) => n.node.id);

    const summaries = await store.inNodesTransaction(ids, async (tx) => {
      const now = await tx.readWatermarks(ids);
      const moved = chunk.filter((n) => now.get(n.node.id) !== n.watermarkMs).map((n) => n.node.id);
      if (moved.length > 0) {
        throw new BulkBackfillConflictError(
          `watermarks moved while the backfill ran (a cycle applied data meanwhile): ${moved.slice(0, 5).join(', ')}; rerun it to resume`,
        );
      }
      const summaries = new Map<string, NodeSummary>();
      if (hasData) {
        // Stored partials the new data lands in: only their keys first (a cycle wrote every bucket
        // before `from`), then in full for the few the new readings touch.
        const stored = {} as Record<Resolution, Map<string, PartialRow>>;
        for (const [resolution, table] of Object.entries(TABLES) as [Resolution, PartialTable][]) {
          const size = RESOLUTIONS[resolution];
          const keys = (await tx.readStoredKeys(table, ids, bucketStart(minTs, size), maxTs)).filter((k) =>
            touches(cleaned.get(k.nodeId), k, size),
          );
          const rows = await tx.readPartials(table, keys);
          stored[resolution] = new Map(rows.map((r) => [partialKey(r.nodeId, r.metric, r.bucketMs), r]));
        }
        const storedNodes = new Set([...stored['5m'].values()].map((r) => r.nodeId));
        for (const id of storedNodes) {
          dropSeen(
            cleaned.get(id)!,
            [...stored['5m'].values()].filter((r) => r.nodeId === id),
          );
        }
        const mergeNodes = new Set(
          Object.values(stored).flatMap((m) => [...m.values()].map((r) => r.nodeId)),
        );

        const format = options.format ?? 'binary';
        const encoders: Record<Resolution, PartialEncoder> = {
          '5m': store.createEncoder(format),
          '1h': store.createEncoder(format),
          '1d': store.createEncoder(format),
        };
        const merged: Record<Resolution, PartialRow[]> = { '5m': [], '1h': [], '1d': [] };
        // The 5-minute rows stream to PostgreSQL node by node as they are built; 1h and 1d follow.
        function* fiveMinuteData(): Generator<Uint8Array> {
          for (const id of ids) {
            const clean = cleaned.get(id)!;
            const mayMerge = mergeNodes.has(id);
            const summary = aggregator.aggregate(clean, (resolution, metric, bucketMs, p) => {
              const existing = mayMerge
                ? stored[resolution].get(partialKey(id, METRICS[metric]!, bucketMs))
                : undefined;
              if (existing) {
                mergeInto(existing, builderToRow(id, metric, bucketMs, p));
                merged[resolution].push(existing);
              } else {
                encoders[resolution].add(id, metric, bucketMs, p, p.bins, p.seen);
              }
            });
            summaries.set(id, summary);
            yield* encoders['5m'].drain();
          }
          yield* encoders['5m'].end();
        }
        await tx.copyPartials('agg_5m', fiveMinuteData(), format);
        for (const resolution of ['1h', '1d'] as const) {
          if (encoders[resolution].rows > 0)
            await tx.copyPartials(TABLES[resolution], encoders[resolution].end(), format);
        }
        for (const resolution of ['5m', '1h', '1d'] as const) {
          await tx.upsertPartials(TABLES[resolution], merged[resolution]);
          result.copied[resolution] += encoders[resolution].rows;
          result.merged[resolution] += merged[resolution].length;
        }
        const fresh = ids.filter((id) => (summaries.get(id)?.readings ?? 0) > 0);
        const current = await tx.readLatestMany(fresh);
        await tx.writeLatestMany(
          fresh.map((id) => {
            const body = mergeLatest(current.get(id) ?? {}, summaries.get(id)!.latest);
            return { nodeId: id, tsMs: Math.max(...Object.values(body).map((v) => v.ts)), body };
          }),
        );
      }
      await tx.writeWatermarks(ids, toMs);
      const records: BatchRecord[] = ids.map((id) => {
        const s = summaries.get(id);
        return {
          nodeId: id,
          readings: s?.readings ?? 0,
          rejected: cleaned.get(id)!.counts,
          minTs: s?.minTs ?? null,
          maxTs: s?.maxTs ?? null,
        };
      });
      await tx.recordBatches(runId, records);
      return summaries;
    });

    for (const id of ids) {
      const counts = cleaned.get(id)!.counts;
      for (const k of Object.keys(counts) as (keyof RejectCounts)[]) result.rejected[k] += counts[k];
      result.received += counts.received;
      result.readings += summaries.get(id)?.readings ?? 0;
    }
    result.applied += chunk.length;
    options.onProgress?.({
      nodesDone: result.applied,
      nodesTotal: pending.length,
      readings: result.readings,
    });
  };

  // Writers take chunks in order; after a failure no new chunk starts (committed ones stay applied).
  let next = 0;
  let failure: unknown;
  const writer = async () => {
    const aggregator = new NodeAggregator();
    while (failure === undefined && next < chunks.length) {
      const chunk = chunks[next++]!;
      try {
        await writeChunk(chunk, aggregator);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  if (failure !== undefined) throw failure;

  result.elapsedMs = performance.now() - started;
  log.info('bulk backfill finished', {
    event: 'backfill.bulk_finished',
    runId,
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
