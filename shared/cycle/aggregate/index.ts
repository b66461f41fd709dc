/**
 * Aggregate one node's batch: clean, fold into 5-minute partials, merge into the stored 5m/1h/1d
 * partials, advance the node's ingestion watermark — all in one transaction under the node's lock —
 * then refresh what the API serves for the node (PostgreSQL serving rows, and Redis in one pipeline).
 *
 * Idempotent and order-independent: the watermark says which readings are already applied, so a
 * redelivered batch changes nothing, and a batch that arrives before an earlier one it depends on
 * is refused (thrown) and retried by the bus after the earlier one.
 */

import type { CacheEntry } from '../../adapters/cache/cache.ts';
import { MemoryModelRegistry } from '../../adapters/coordination/model-registry.ts';
import type { Anomaly } from '../../anomaly/index.ts';
import {
  aggregateReadings,
  BUCKET_MS,
  bucketStart,
  DAY_MS,
  HOUR_MS,
  hasSeen,
  type PartialRow,
  rollUp,
} from '../../domain/aggregate.ts';
import { cleanReadings, type RejectCounts } from '../../domain/clean.ts';
import { keys } from '../../domain/keys.ts';
import type { Metric, NodeInfo, Reading } from '../../domain/readings.ts';
import {
  computeWindow,
  hourlySeries,
  lookbackStart,
  RANGE_NAMES,
  seriesStart,
} from '../../domain/windows.ts';
import type { AggregatorDeps } from '../deps.ts';
import { decodeReadings, type NodeWorkMessage } from '../messages.ts';
import { startNodeAnalytics } from './node-analytics.ts';
import { forecastNode, isForecastNode } from './node-forecast.ts';
import type { NodeQualityScores } from './node-quality.ts';
import { logOpened } from './opened-log.ts';
import type { AggregateStore, LatestBody } from './store.ts';

/** A batch that depends on an earlier, not yet applied one: retried later, never dead-lettered early. */
export class BatchOutOfOrderError extends Error {
  override name = 'BatchOutOfOrderError';
}

export interface NodeResult {
  applied: boolean;
  readings: number;
  rejected: RejectCounts;
}

function mergeLatest(current: LatestBody, readings: Reading[]): LatestBody {
  const next: LatestBody = { ...current };
  for (const r of readings) {
    for (const [metric, value] of Object.entries(r.values) as [Metric, number][]) {
      const have = next[metric];
      if (!have || r.ts > have.ts || (r.ts === have.ts && value > have.value))
        next[metric] = { value, ts: r.ts };
    }
  }
  return next;
}

/** Drops values an earlier batch already counted (the same node, metric and second): duplicates. */
function dropSeen(readings: Reading[], stored: PartialRow[], counts: RejectCounts): Reading[] {
  if (stored.length === 0) return readings;
  const seen = new Map(stored.map((r) => [`${r.metric}|${r.bucketMs}`, r.seen]));
  const out: Reading[] = [];
  for (const r of readings) {
    const bucket = bucketStart(r.ts);
    const values: Reading['values'] = {};
    let kept = 0;
    let dropped = 0;
    for (const [metric, v] of Object.entries(r.values) as [Metric, number][]) {
      if (hasSeen(seen.get(`${metric}|${bucket}`), r.ts)) dropped += 1;
      else {
        values[metric] = v;
        kept += 1;
      }
    }
    if (dropped > 0) counts.duplicates += 1;
    if (kept > 0) out.push(kept === Object.keys(r.values).length ? r : { ...r, values });
  }
  return out;
}

/** Quality scores a batch just computed, keyed by its message's node object, for the refresh that follows. */
const justScored = new WeakMap<NodeInfo, NodeQualityScores>();

const readingSpan = (readings: Reading[]): { min: number | null; max: number | null } => {
  if (readings.length === 0) return { min: null, max: null };
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const r of readings) {
    if (r.ts < min) min = r.ts;
    if (r.ts > max) max = r.ts;
  }
  return { min, max };
};

export async function applyNodeBatch(deps: AggregatorDeps, msg: NodeWorkMessage): Promise<NodeResult> {
  const nodeId = msg.node.id;
  const raw = decodeReadings(msg);
  const { valid, counts } = cleanReadings(raw, msg.toIngestMs);
  const touched = aggregateReadings(valid).map((r) => r.bucketMs);
  // Partitions are DDL: create them outside the transaction, before it needs them.
  const store = deps.stores.aggregate;
  await store.ensurePartitions(touched);

  const result: NodeResult & { analytics?: { opened: Anomaly[]; quality: NodeQualityScores } | null } =
    await store.inNodeTransaction(nodeId, async (tx) => {
      // The watermark. With the analytics, their read (issued now, started from the watermark the
      // message says) brings it, and the node's latest reading time: the batch's first read either way.
      const start = (from: number) =>
        startNodeAnalytics(tx, {
          node: msg.node,
          readings: raw.filter((r) => r.ingestedAt > from),
          fromMs: from,
          toMs: msg.toIngestMs,
          cycleMs: deps.settings.cycleMs,
        });
      let analytics = deps.settings.analytics ? start(msg.fromIngestMs) : null;
      const stored = analytics ? (await analytics.head()).watermarkMs : await tx.readWatermark();
      const watermark = stored ?? Number.NEGATIVE_INFINITY;
      if (msg.toIngestMs <= watermark) return { applied: false, readings: 0, rejected: counts };
      if (msg.fromIngestMs > watermark) {
        throw new BatchOutOfOrderError(
          `node ${nodeId}: batch starts at ${new Date(msg.fromIngestMs).toISOString()} but only data up to ${new Date(watermark).toISOString()} is applied`,
        );
      }
      // Runs overlapped, part of the batch is applied already: the analytics start over from the real watermark.
      if (analytics && watermark !== msg.fromIngestMs) analytics = start(watermark);
      const stored5m = await tx.readBuckets5m(valid.map((r) => bucketStart(r.ts)));
      const fresh = dropSeen(
        valid.filter((r) => r.ingestedAt > watermark),
        stored5m,
        counts,
      );
      const p5m = aggregateReadings(fresh, BUCKET_MS);
      // Its writes (and the new watermark) pipeline with the merges below.
      const analyticsDone = analytics ? analytics.finish(stored5m, p5m) : Promise.resolve(null);
      analyticsDone.catch(() => {});
      await tx.mergePartials('agg_5m', p5m, stored5m);
      await tx.mergePartials('agg_1h', rollUp(p5m, HOUR_MS));
      await tx.mergePartials('agg_1d', rollUp(p5m, DAY_MS));
      if (fresh.length > 0) {
        const current = await tx.readLatest();
        const body = mergeLatest(current?.body ?? {}, fresh);
        const tsMs = Math.max(...Object.values(body).map((v) => v.ts));
        await tx.writeLatest(tsMs, body);
      }
      const done = await analyticsDone;
      // With the analytics, their write has moved the watermark already (one statement fewer).
      if (!analytics) await tx.writeWatermark(msg.toIngestMs);
      // The reading times the batch held: the rollup recomputes water balances for those days only.
      const span = readingSpan(fresh);
      await tx.recordBatch({
        runId: msg.runId,
        part: msg.part,
        readings: fresh.length,
        rejected: counts,
        minTs: span.min,
        maxTs: span.max,
      });
      return { applied: true, readings: fresh.length, rejected: counts, analytics: done };
    });
  if (result.analytics) {
    // Logged once the transaction has committed: exactly once per anomaly (a replay applies nothing).
    const log = deps.logger.child({ runId: msg.runId });
    for (const a of result.analytics.opened) logOpened(log, a);
    // The node's refresh, next in the same handler, serves these scores without reading them back.
    justScored.set(msg.node, result.analytics.quality);
  }
  return { applied: result.applied, readings: result.readings, rejected: result.rejected };
}

export interface NodeView {
  asOfMs: number;
  latest: LatestBody;
  windows: ReturnType<typeof computeWindow>[];
  timeseries7d: ReturnType<typeof hourlySeries>;
  /** The hourly partials read for the 7-day window (forecasts refresh from them). */
  hourly: PartialRow[];
}

/** Recomputes a node's served views from stored partials (deterministic for a given stored state). */
export async function computeNodeView(
  store: Pick<AggregateStore, 'readLatest' | 'readNodeSince'>,
  nodeId: string,
): Promise<NodeView | null> {
  const latest = await store.readLatest(nodeId);
  if (!latest) return null;
  const asOfMs = latest.tsMs;
  const [r5m, r1h, r1d] = await Promise.all([
    store.readNodeSince('agg_5m', nodeId, lookbackStart(asOfMs, '5m')),
    // 168 hours for the series; sketches only where a window needs quantiles.
    store.readNodeSince('agg_1h', nodeId, seriesStart(asOfMs), lookbackStart(asOfMs, '1h')),
    store.readNodeSince('agg_1d', nodeId, lookbackStart(asOfMs, '1d')),
  ]);
  const rows: Record<'5m' | '1h' | '1d', PartialRow[]> = { '5m': r5m, '1h': r1h, '1d': r1d };
  return {
    asOfMs,
    latest: latest.body,
    windows: RANGE_NAMES.map((range) => computeWindow(range, asOfMs, rows)),
    timeseries7d: hourlySeries(asOfMs, r1h),
    hourly: r1h,
  };
}

import { latestPayload, nodeMetadata } from '../../domain/payloads.ts';

export { latestPayload, nodeMetadata };

export const windowPayload = (nodeId: string, w: NodeView['windows'][number]) => ({ nodeId, ...w });

/** Forecast models of processes whose deps bring no registry (tests that build deps by hand). */
const processModels = new MemoryModelRegistry();

/** Writes the node's served views to PostgreSQL and its hot keys to the cache (one pipeline). */
export async function refreshNodeViews(deps: AggregatorDeps, node: NodeInfo): Promise<NodeView | null> {
  const analytics = deps.settings.analytics;
  const scored = justScored.get(node);
  justScored.delete(node);
  const [view, quality] = await Promise.all([
    computeNodeView(deps.stores.aggregate, node.id),
    analytics ? (scored ?? deps.stores.aggregate.readNodeQuality(node.id)) : null,
  ]);
  const ttl = deps.settings.cacheTtlSeconds;
  const t = node.tenantId;
  const entries: CacheEntry[] = [
    { key: keys.nodeMetadata(t, node.id), value: nodeMetadata(node), ttlSeconds: ttl },
  ];
  if (view) {
    const [, forecast] = await Promise.all([
      deps.stores.aggregate.writeWindows(
        node.id,
        view.asOfMs,
        view.windows.map((w) => ({ range: w.range, body: windowPayload(node.id, w) })),
      ),
      analytics && isForecastNode(node)
        ? forecastNode(
            { store: deps.stores.forecasts, models: deps.models ?? processModels, logger: deps.logger },
            node,
            view.asOfMs,
            view.hourly,
          )
        : null,
    ]);
    entries.push({
      key: keys.nodeLatest(t, node.id),
      value: latestPayload(node.id, view.asOfMs, view.latest),
      ttlSeconds: ttl,
    });
    for (const w of view.windows) {
      entries.push({
        key: keys.nodeMetrics(t, node.id, w.range),
        value: windowPayload(node.id, w),
        ttlSeconds: ttl,
      });
    }
    entries.push({
      key: keys.nodeTimeseries7d(t, node.id),
      value: { nodeId: node.id, resolution: '1h', series: view.timeseries7d },
      ttlSeconds: ttl,
    });
    if (forecast) {
      entries.push({ key: keys.predictions(t, node.id), value: forecast.payload, ttlSeconds: ttl });
    }
  }
  if (quality) entries.push({ key: keys.nodeQuality(t, node.id), value: quality, ttlSeconds: ttl });
  await deps.cache.write(entries);
  return view;
}
