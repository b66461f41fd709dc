/**
 * A node's analytics inside its batch's transaction: data quality and anomalies, in the batch's three
 * phases. Read: one statement, which is also the batch's first (it brings the node's watermark), issued
 * with the batch's other reads. Compute: in memory, with the batch's new partials laid over the stored
 * history. Write: one statement, which also moves the watermark, issued with the batch's other writes
 * (postgres.js pipelines a transaction's queries on its connection). The transaction commits only when
 * everything is written.
 */
import type { Anomaly } from '../../anomaly/index.ts';
import type { PartialRow } from '../../domain/aggregate.ts';
import type { NodeInfo, Reading } from '../../domain/readings.ts';
import { districtTimezone } from '../forecasting/series.ts';
import {
  type AnomalyPlan,
  anomalyPlan,
  type JudgedAnomalies,
  judgeNodeAnomalies,
  writeNodeAnomalies,
} from './node-anomalies.ts';
import {
  type BatchQualityInput,
  countBatchQuality,
  type NodeQualityScores,
  qualitySpec,
  splitSeen,
  writeBatchQuality,
} from './node-quality.ts';
import type { NodeBatchTx, NodeState } from './store.ts';

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

/** The analytics' read, issued (not awaited): the node's state and its district's time zone. */
export interface NodeAnalyticsRead {
  input: NodeAnalyticsInput;
  plan: AnomalyPlan;
  state: Promise<NodeState>;
  timezone: Promise<string>;
}

export interface NodeAnalyticsResult {
  quality: { changed: ReturnType<typeof countBatchQuality>['changed']; scores: NodeQualityScores };
  anomalies: JudgedAnomalies;
}

const qualityInputOf = (input: NodeAnalyticsInput): BatchQualityInput => ({
  node: input.node,
  readings: input.readings,
  nowMs: input.toMs,
  cycleMs: input.cycleMs,
});

/** Issues the analytics' read (one statement; the time zone is cached): read phase. */
export function readNodeAnalytics(tx: NodeBatchTx, input: NodeAnalyticsInput): NodeAnalyticsRead {
  const plan = anomalyPlan({ ...input, lastReadingMs: null });
  const state = tx.readNodeState({
    nodeId: input.node.id,
    quality: qualitySpec(qualityInputOf(input)),
    ...plan.spec,
  });
  const timezone = districtTimezone(tx, input.node.districtId);
  // Awaited later; a failure meanwhile must not count as unhandled (the transaction fails anyway).
  state.catch(() => {});
  timezone.catch(() => {});
  return { input, plan, state, timezone };
}

/**
 * Counts quality and judges anomalies (pure), given the node's state and the batch's partials
 * (`stored5m`: the stored 5-minute partials of its buckets, before the merge marks the batch's own
 * seconds in them; `delta5m`: what the batch adds).
 */
export function computeNodeAnalytics(
  read: Pick<NodeAnalyticsRead, 'input' | 'plan'>,
  state: NodeState,
  timezone: string,
  stored5m: readonly PartialRow[],
  delta5m: readonly PartialRow[],
): NodeAnalyticsResult {
  const { input, plan } = read;
  const split = splitSeen(input.readings, stored5m);
  const counted = countBatchQuality(qualityInputOf(input), state.quality, split);
  const anomalies = judgeNodeAnomalies(
    { ...input, lastReadingMs: state.latestMs },
    plan,
    { ...state, timezone },
    delta5m,
  );
  return { quality: counted, anomalies };
}

/**
 * Issues the analytics' writes (quality with the node's new watermark; anomalies when something
 * changed): write phase. Resolves with the anomalies that opened and were written.
 */
export async function writeNodeAnalytics(
  tx: NodeBatchTx,
  input: NodeAnalyticsInput,
  result: NodeAnalyticsResult,
): Promise<Anomaly[]> {
  const [, opened] = await Promise.all([
    writeBatchQuality(tx, qualityInputOf(input), result.quality, input.toMs),
    writeNodeAnomalies(tx, result.anomalies),
  ]);
  return opened;
}
