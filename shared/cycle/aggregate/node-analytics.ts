/**
 * A node's analytics inside its batch's transaction: data quality and anomalies. Everything they read
 * is one statement, which is also the batch's first (it brings the node's watermark); the work is done in
 * memory with the batch's new partials laid over the stored history; the writes — one statement, which
 * also moves the watermark — pipeline with the batch's merges (postgres.js pipelines a transaction's
 * queries on its connection). The transaction commits only when everything is written.
 */
import type { Anomaly } from '../../anomaly/index.ts';
import type { PartialRow } from '../../domain/aggregate.ts';
import type { NodeInfo, Reading } from '../../domain/readings.ts';
import { districtTimezone } from '../forecasting/series.ts';
import { anomalyPlan, judgeNodeAnomalies, writeNodeAnomalies } from './node-anomalies.ts';
import {
  countBatchQuality,
  type NodeQualityScores,
  qualitySpec,
  splitSeen,
  writeBatchQuality,
} from './node-quality.ts';
import type { NodeBatchTx } from './store.ts';

export interface NodeAnalytics {
  /**
   * The node's watermark and latest reading time before this batch, from the analytics' read (the batch's
   * first read: no separate query). If the watermark is not the `fromMs` the analytics were started
   * with, start them again from the real one.
   */
  head(): Promise<{ watermarkMs: number | null; latestMs: number | null }>;
  /**
   * Counts quality and judges anomalies given the batch's partials (`stored5m`: the stored 5-minute
   * partials of its buckets before the merge — call this before the merge starts; `delta5m`: what the
   * batch adds), and writes them with the node's new watermark. Resolves with the anomalies that opened
   * and the node's new quality scores.
   */
  finish(
    stored5m: readonly PartialRow[],
    delta5m: readonly PartialRow[],
  ): Promise<{ opened: Anomaly[]; quality: NodeQualityScores }>;
}

export interface NodeAnalyticsInput {
  node: NodeInfo;
  /** The batch's raw readings ingested after `fromMs`. */
  readings: readonly Reading[];
  /** The watermark the batch starts from (its message's, until the stored one says otherwise). */
  fromMs: number;
  /** The batch's end: the node's new watermark. */
  toMs: number;
  cycleMs: number;
}

/** Starts a node's analytics for a batch: issues its read now. */
export function startNodeAnalytics(tx: NodeBatchTx, input: NodeAnalyticsInput): NodeAnalytics {
  const qualityInput = {
    node: input.node,
    readings: input.readings,
    nowMs: input.toMs,
    cycleMs: input.cycleMs,
  };
  const anomalyInput = { ...input, lastReadingMs: null };
  const plan = anomalyPlan(anomalyInput);
  const state = tx.readNodeState({
    nodeId: input.node.id,
    quality: qualitySpec(qualityInput),
    ...plan.spec,
  });
  const timezone = districtTimezone(tx, input.node.districtId);
  // Awaited later; a failure meanwhile must not count as unhandled (the transaction fails anyway).
  state.catch(() => {});
  timezone.catch(() => {});
  return {
    head: async () => {
      const s = await state;
      return { watermarkMs: s.watermarkMs, latestMs: s.latestMs };
    },
    async finish(stored5m, delta5m) {
      // Now, before anything awaits: the batch's merge, which runs meanwhile, marks its own seconds in stored5m.
      const split = splitSeen(input.readings, stored5m);
      const [s, tz] = await Promise.all([state, timezone]);
      const counted = countBatchQuality(qualityInput, s.quality, split);
      const judged = judgeNodeAnomalies(
        { ...anomalyInput, lastReadingMs: s.latestMs },
        plan,
        { ...s, timezone: tz },
        delta5m,
      );
      const [, opened] = await Promise.all([
        writeBatchQuality(tx, qualityInput, counted, input.toMs),
        writeNodeAnomalies(tx, judged),
      ]);
      return { opened, quality: counted.scores };
    },
  };
}
