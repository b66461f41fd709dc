/** The bulk backfill's pure parts: which nodes to apply, in which chunks, and their cleaned readings. */
import { bucketStart, DAY_MS } from '../../domain/aggregate.ts';
import type { NodeSummary } from '../../domain/bulk-aggregate.ts';
import { emptyRejects } from '../../domain/clean.ts';
import { type CleanColumns, cleanColumns, type NodeColumns } from '../../domain/columns.ts';
import type { LatestBody } from '../../domain/payloads.ts';
import type { NodeInfo } from '../../domain/readings.ts';
import type { PartialKey } from './store.ts';

const CHUNK_READINGS = 250_000;
export const iso = (ms: number) => new Date(ms).toISOString();

export interface PlannedNode {
  node: NodeInfo;
  /** Its watermark, or undefined when it has none (nothing applied: its readings start at `from`). */
  watermarkMs: number | undefined;
  readFromMs: number;
}

/** Nodes whose watermark lies inside the range: nothing was written. */
export class BulkBackfillRefusedError extends Error {
  override name = 'BulkBackfillRefusedError';
}

/**
 * The nodes to apply, each from its own watermark; those applied to `to` already are left out. Throws
 * BulkBackfillRefusedError when a node's watermark lies inside (from, to): part of the range came
 * through cycles.
 */
export function planNodes(
  nodes: readonly NodeInfo[],
  watermarks: ReadonlyMap<string, number>,
  fromMs: number,
  toMs: number,
): PlannedNode[] {
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
  return pending;
}

/** One of `count` disjoint shards of the backfill (a Cloud Run job's task, or a local process). */
export interface Shard {
  index: number;
  count: number;
}

/**
 * The nodes of shard `index` of `count`: every count-th node in id order. The same registry gives every
 * task the same split, and a rerun of a shard the same nodes (so a failed task resumes its own).
 */
export function shardNodes<T extends { id: string }>(nodes: readonly T[], shard: Shard | undefined): T[] {
  if (!shard || shard.count === 1) return [...nodes];
  if (!(Number.isInteger(shard.count) && shard.count >= 1)) {
    throw new RangeError(`the shard count must be a positive integer (got ${shard.count})`);
  }
  if (!(Number.isInteger(shard.index) && shard.index >= 0 && shard.index < shard.count)) {
    throw new RangeError(`the shard index must be an integer in [0, ${shard.count}) (got ${shard.index})`);
  }
  return [...nodes]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .filter((_, i) => i % shard.count === shard.index);
}

/**
 * The shard of a Cloud Run job's task: CLOUD_RUN_TASK_INDEX of CLOUD_RUN_TASK_COUNT (both set by Cloud
 * Run; absent, the whole backfill is one shard).
 */
export function shardFromEnv(env: Record<string, string | undefined>): Shard {
  const parse = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`${name} must be a non-negative integer (got ${raw})`);
    return n;
  };
  const shard = { index: parse('CLOUD_RUN_TASK_INDEX', 0), count: parse('CLOUD_RUN_TASK_COUNT', 1) };
  shardNodes([], shard); // validates
  return shard;
}

/** Chunks of about CHUNK_READINGS readings, and enough of them to keep every writer busy to the end. */
export function chunksOf(
  pending: readonly PlannedNode[],
  range: { fromMs: number; toMs: number },
  writers: number,
  nodesPerChunk?: number,
): PlannedNode[][] {
  const days = Math.max(1, (range.toMs - range.fromMs) / DAY_MS);
  const perChunk =
    nodesPerChunk ??
    Math.max(
      1,
      Math.min(Math.round(CHUNK_READINGS / (days * 1440)), Math.ceil(pending.length / (4 * writers))),
    );
  const chunks: PlannedNode[][] = [];
  for (let i = 0; i < pending.length; i += perChunk) chunks.push(pending.slice(i, i + perChunk));
  return chunks;
}

/** The days [loMs, hiMs] spans, as their starts (the partitions they need). */
export function daysOf(loMs: number, hiMs: number): number[] {
  const days: number[] = [];
  for (let d = bucketStart(loMs, DAY_MS); d <= hiMs; d += DAY_MS) days.push(d);
  return days;
}

const emptyClean = (nodeId: string): CleanColumns => ({
  nodeId,
  counts: emptyRejects(),
  length: 0,
  ts: new Float64Array(0),
  values: {},
});

/** A chunk's readings cleaned per node, each from its own watermark, and the reading times they span. */
export function cleanChunk(
  chunk: readonly PlannedNode[],
  columns: ReadonlyMap<string, NodeColumns>,
  toMs: number,
  horizonMs: number,
): { cleaned: Map<string, CleanColumns>; minTs: number; maxTs: number } {
  const cleaned = new Map<string, CleanColumns>();
  let minTs = Number.POSITIVE_INFINITY;
  let maxTs = Number.NEGATIVE_INFINITY;
  for (const { node, readFromMs } of chunk) {
    const cols = columns.get(node.id);
    const clean = cols
      ? cleanColumns(cols, { fromIngestMs: readFromMs, toIngestMs: toMs, minTsMs: readFromMs - horizonMs })
      : emptyClean(node.id);
    cleaned.set(node.id, clean);
    if (clean.length > 0) {
      minTs = Math.min(minTs, clean.ts[0]!);
      maxTs = Math.max(maxTs, clean.ts[clean.length - 1]!);
    }
  }
  return { cleaned, minTs, maxTs };
}

/** Whether the node's clean readings hold a value of `metric` in [bucketMs, bucketMs + size). */
export function touches(clean: CleanColumns | undefined, key: PartialKey, sizeMs: number): boolean {
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

export function mergeLatest(current: LatestBody, latest: NodeSummary['latest']): LatestBody {
  const next: LatestBody = { ...current };
  for (const [metric, v] of Object.entries(latest)) {
    const have = next[metric];
    if (!have || v.ts > have.ts || (v.ts === have.ts && v.value > have.value)) next[metric] = v;
  }
  return next;
}
