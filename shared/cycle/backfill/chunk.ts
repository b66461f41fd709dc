/**
 * One chunk of the bulk backfill, in one transaction holding its nodes' locks: read (the watermarks,
 * checked against the plan; the stored partials the new readings land in; the nodes' latest values),
 * aggregate and COPY the new rows into their partitions, day by day (5-minute rows stream node by
 * node as they are built), then every other write issued together (the merged rows, latest values, watermarks, applied batches).
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
import {
  builderToRow,
  dropSeen,
  lowerBound,
  type NodeAggregator,
  type NodeSummary,
} from '../../domain/bulk-aggregate.ts';
import type { CleanColumns } from '../../domain/columns.ts';
import type { LatestBody } from '../../domain/payloads.ts';
import { METRICS, type Metric } from '../../domain/readings.ts';
import type { PartialTable } from '../aggregate/store.ts';
import { daysOf, mergeLatest, type PlannedNode, touches } from './plan.ts';
import type {
  BackfillStore,
  BackfillTx,
  BatchRecord,
  CopyFormat,
  CopyTarget,
  PartialEncoder,
} from './store.ts';

export const TABLES: Record<Resolution, PartialTable> = { '5m': 'agg_5m', '1h': 'agg_1h', '1d': 'agg_1d' };
const RES = ['5m', '1h', '1d'] as const;

/** A node's watermark moved between planning and writing (a cycle ran meanwhile): rerun to resume. */
export class BulkBackfillConflictError extends Error {
  override name = 'BulkBackfillConflictError';
}

export interface ChunkInput {
  runId: string;
  toMs: number;
  chunk: readonly PlannedNode[];
  cleaned: Map<string, CleanColumns>;
  /** The reading times the chunk's clean readings span (min > max: none). */
  minTs: number;
  maxTs: number;
  format: CopyFormat;
}

export interface ChunkOutcome {
  summaries: Map<string, NodeSummary>;
  copied: Record<Resolution, number>;
  merged: Record<Resolution, number>;
}

type Stored = Record<Resolution, Map<string, PartialRow>>;

/**
 * The stored partials the new readings land in: only their keys first (a cycle wrote every bucket
 * before `from`), then in full for the few the new readings touch. Each step's three reads go together.
 */
async function readStored(tx: BackfillTx, input: ChunkInput, ids: string[]): Promise<Stored> {
  const keys = await Promise.all(
    RES.map(async (resolution) => {
      const size = RESOLUTIONS[resolution];
      const found = await tx.readStoredKeys(
        TABLES[resolution],
        ids,
        bucketStart(input.minTs, size),
        input.maxTs,
      );
      return found.filter((k) => touches(input.cleaned.get(k.nodeId), k, size));
    }),
  );
  const rows = await Promise.all(RES.map((resolution, i) => tx.readPartials(TABLES[resolution], keys[i]!)));
  const stored = {} as Stored;
  RES.forEach((resolution, i) => {
    stored[resolution] = new Map(rows[i]!.map((r) => [partialKey(r.nodeId, r.metric, r.bucketMs), r]));
  });
  return stored;
}

/** A node's clean readings of one UTC day [dayMs, dayMs + 1 day), as views (no copy). */
function dayOf(clean: CleanColumns, dayMs: number): CleanColumns {
  const lo = lowerBound(clean.ts, dayMs);
  const hi = lowerBound(clean.ts, dayMs + DAY_MS);
  const values: CleanColumns['values'] = {};
  for (const [metric, column] of Object.entries(clean.values) as [Metric, Float64Array][]) {
    values[metric] = column.subarray(lo, hi);
  }
  return {
    nodeId: clean.nodeId,
    counts: clean.counts,
    length: hi - lo,
    ts: clean.ts.subarray(lo, hi),
    values,
  };
}

/** Adds a day's summary of a node to what its earlier days summed up (days come in order). */
function addDay(summaries: Map<string, NodeSummary>, id: string, day: NodeSummary): void {
  const sum = summaries.get(id);
  if (!sum) {
    summaries.set(id, day);
    return;
  }
  sum.readings += day.readings;
  sum.minTs ??= day.minTs;
  if (day.maxTs !== null) sum.maxTs = day.maxTs;
  Object.assign(sum.latest, day.latest);
}

/** Encoders of the 1h and 1d rows, one per COPY target (partition), written after the 5-minute rows. */
function coarseEncoders(store: Pick<BackfillStore, 'createEncoder' | 'copyTarget'>, format: CopyFormat) {
  type Part = { resolution: '1h' | '1d'; target: CopyTarget; encoder: PartialEncoder };
  const parts = new Map<string, Part>();
  const current: Partial<Record<'1h' | '1d', Part>> = {};
  return {
    encoderOf(resolution: '1h' | '1d', bucketMs: number): PartialEncoder {
      let part = current[resolution];
      if (!part || bucketMs < part.target.fromMs || bucketMs >= part.target.toMs) {
        const target = store.copyTarget(TABLES[resolution], bucketMs);
        part = parts.get(`${resolution}:${target.name}`);
        if (!part) {
          part = { resolution, target, encoder: store.createEncoder(format) };
          parts.set(`${resolution}:${target.name}`, part);
        }
        current[resolution] = part;
      }
      return part.encoder;
    },
    parts: () => [...parts.values()],
  };
}

/**
 * Aggregates the chunk and COPYs the rows whose key is new; rows whose key is stored are merged into
 * the stored row instead. Day by day: one COPY into the day's 5-minute partition, its rows streamed
 * node by node as they are built (PostgreSQL ingests while the next node aggregates); the 1h and 1d
 * rows follow, one COPY per partition. A UTC day holds whole 5-minute, hour and day buckets, so a
 * node's day aggregates on its own, in the same order as the whole range would.
 */
async function aggregateAndCopy(
  tx: BackfillTx,
  store: Pick<BackfillStore, 'createEncoder' | 'copyTarget'>,
  aggregator: NodeAggregator,
  input: ChunkInput,
  ids: string[],
  stored: Stored,
) {
  // Values whose second a stored 5-minute partial has seen are duplicates: counted and dropped.
  const storedNodes = new Set([...stored['5m'].values()].map((r) => r.nodeId));
  for (const id of storedNodes) {
    dropSeen(
      input.cleaned.get(id)!,
      [...stored['5m'].values()].filter((r) => r.nodeId === id),
    );
  }
  const mergeNodes = new Set(Object.values(stored).flatMap((m) => [...m.values()].map((r) => r.nodeId)));
  const coarse = coarseEncoders(store, input.format);
  const merged: Record<Resolution, PartialRow[]> = { '5m': [], '1h': [], '1d': [] };
  const summaries = new Map<string, NodeSummary>();
  const copied = { '5m': 0, '1h': 0, '1d': 0 };
  for (const day of daysOf(input.minTs, input.maxTs)) {
    const nodes = ids.map((id) => dayOf(input.cleaned.get(id)!, day)).filter((clean) => clean.length > 0);
    if (nodes.length === 0) continue;
    const fiveMinute = store.createEncoder(input.format);
    function* data(): Generator<Uint8Array> {
      for (const clean of nodes) {
        const id = clean.nodeId;
        const mayMerge = mergeNodes.has(id);
        const summary = aggregator.aggregate(clean, (resolution, metric, bucketMs, p) => {
          const existing = mayMerge
            ? stored[resolution].get(partialKey(id, METRICS[metric]!, bucketMs))
            : undefined;
          if (existing) {
            mergeInto(existing, builderToRow(id, metric, bucketMs, p));
            merged[resolution].push(existing);
          } else if (resolution === '5m') {
            fiveMinute.add(id, metric, bucketMs, p, p.bins, p.seen);
          } else {
            coarse.encoderOf(resolution, bucketMs).add(id, metric, bucketMs, p, p.bins, p.seen);
          }
        });
        addDay(summaries, id, summary);
        yield* fiveMinute.drain();
      }
      yield* fiveMinute.end();
    }
    await tx.copyPartials(store.copyTarget(TABLES['5m'], day), data(), input.format);
    copied['5m'] += fiveMinute.rows;
  }
  for (const { resolution, target, encoder } of coarse.parts()) {
    if (encoder.rows === 0) continue;
    await tx.copyPartials(target, encoder.end(), input.format);
    copied[resolution] += encoder.rows;
  }
  return { summaries, merged, copied };
}

/** The chunk's applied_batches rows: what each node applied and what it rejected. */
function batchRecords(ids: string[], input: ChunkInput, summaries: Map<string, NodeSummary>): BatchRecord[] {
  return ids.map((id) => {
    const s = summaries.get(id);
    return {
      nodeId: id,
      readings: s?.readings ?? 0,
      rejected: input.cleaned.get(id)!.counts,
      minTs: s?.minTs ?? null,
      maxTs: s?.maxTs ?? null,
    };
  });
}

/** Applies one chunk in one transaction (see the top of this file). */
export function writeChunk(
  store: Pick<BackfillStore, 'inNodesTransaction' | 'createEncoder' | 'copyTarget'>,
  aggregator: NodeAggregator,
  input: ChunkInput,
): Promise<ChunkOutcome> {
  const ids = input.chunk.map((n) => n.node.id);
  const hasData = input.minTs <= input.maxTs;
  const withData = ids.filter((id) => input.cleaned.get(id)!.length > 0);
  return store.inNodesTransaction(ids, async (tx) => {
    // Read: issued together (the stored partials and latest values are wasted only on a conflict).
    const [now, stored, latest] = await Promise.all([
      tx.readWatermarks(ids),
      hasData ? readStored(tx, input, ids) : null,
      hasData ? tx.readLatestMany(withData) : new Map<string, LatestBody>(),
    ]);
    const moved = input.chunk.filter((n) => now.get(n.node.id) !== n.watermarkMs).map((n) => n.node.id);
    if (moved.length > 0) {
      throw new BulkBackfillConflictError(
        `watermarks moved while the backfill ran (a cycle applied data meanwhile): ${moved.slice(0, 5).join(', ')}; rerun it to resume`,
      );
    }
    const outcome: ChunkOutcome = {
      summaries: new Map(),
      copied: { '5m': 0, '1h': 0, '1d': 0 },
      merged: { '5m': 0, '1h': 0, '1d': 0 },
    };
    const writes: Promise<unknown>[] = [];
    if (stored) {
      const built = await aggregateAndCopy(tx, store, aggregator, input, ids, stored);
      outcome.summaries = built.summaries;
      outcome.copied = built.copied;
      for (const resolution of RES) {
        writes.push(tx.upsertPartials(TABLES[resolution], built.merged[resolution]));
        outcome.merged[resolution] = built.merged[resolution].length;
      }
      const fresh = ids.filter((id) => (built.summaries.get(id)?.readings ?? 0) > 0);
      writes.push(
        tx.writeLatestMany(
          fresh.map((id) => {
            const body = mergeLatest(latest.get(id) ?? {}, built.summaries.get(id)!.latest);
            return { nodeId: id, tsMs: Math.max(...Object.values(body).map((v) => v.ts)), body };
          }),
        ),
      );
    }
    // Write: everything but the COPY, issued together.
    writes.push(tx.writeWatermarks(ids, input.toMs));
    if (stored) writes.push(tx.deleteViewStates(withData));
    writes.push(tx.recordBatches(input.runId, batchRecords(ids, input, outcome.summaries)));
    await Promise.all(writes);
    return outcome;
  });
}
