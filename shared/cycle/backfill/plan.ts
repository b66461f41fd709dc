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
