/**
 * A node's analytics inside its batch's transaction: data quality and anomalies. Everything they read
 * is one statement, issued before the batch's own reads (postgres.js pipelines a transaction's queries
 * on its connection); the work is done in memory with the batch's new partials laid over the stored
 * history; the writes pipeline with the batch's merges. The transaction commits only when everything
 * is written.
 */
import type { TransactionSql } from '../../adapters/postgres/client.ts';
import { readNodeState } from '../../adapters/postgres/node-state.ts';
import type { Anomaly } from '../../anomaly/index.ts';
import type { PartialRow } from '../../domain/aggregate.ts';
import {
  anomalyPlan,
  judgeNodeAnomalies,
  type NodeAnomalyInput,
  writeNodeAnomalies,
} from './node-anomalies.ts';
import {
  countBatchQuality,
  type NodeQualityScores,
  qualitySpec,
  splitSeen,
  writeBatchQuality,
} from './node-quality.ts';
import { districtTimezone } from './series.ts';

export interface NodeAnalytics {
  /**
   * Counts quality and judges anomalies given the batch's partials (`stored5m`: the stored 5-minute
   * partials of its buckets before the merge — call this before the merge starts; `delta5m`: what the
   * batch adds), and writes them.
   * Resolves with the anomalies that opened and the node's new quality scores.
   */
  finish(
    stored5m: readonly PartialRow[],
    delta5m: readonly PartialRow[],
  ): Promise<{ opened: Anomaly[]; quality: NodeQualityScores }>;
}

/** Starts a node's analytics for a batch: issues its read now. */
export function startNodeAnalytics(tx: TransactionSql, input: NodeAnomalyInput): NodeAnalytics {
  const qualityInput = {
    node: input.node,
    readings: input.readings,
    nowMs: input.toMs,
    cycleMs: input.cycleMs,
  };
  const plan = anomalyPlan(input);
  const state = readNodeState(tx, {
    nodeId: input.node.id,
    quality: qualitySpec(qualityInput),
    ...plan.spec,
  });
  const timezone = districtTimezone(tx, input.node.districtId);
  // Awaited in finish(); a failure meanwhile must not count as unhandled (the transaction fails anyway).
  state.catch(() => {});
  timezone.catch(() => {});
  return {
    async finish(stored5m, delta5m) {
      // Now, before anything awaits: the batch's merge, which runs meanwhile, marks its own seconds in stored5m.
      const split = splitSeen(input.readings, stored5m);
      const [s, tz] = await Promise.all([state, timezone]);
      const counted = countBatchQuality(qualityInput, s.quality, split);
      const judged = judgeNodeAnomalies(input, plan, { ...s, timezone: tz }, delta5m);
      const [, opened] = await Promise.all([
        writeBatchQuality(tx, qualityInput, counted),
        writeNodeAnomalies(tx, judged),
      ]);
      return { opened, quality: counted.scores };
    },
  };
}
