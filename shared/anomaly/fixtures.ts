/**
 * Small synthetic series for the detectors' tests (noise from domain/random.ts): a diurnal/weekly demand shape and a
 * builder that aggregates minute readings into 5-minute buckets exactly as the aggregator does.
 */
import type { Metric, NodeInfo, NodeKind, Reading } from '../domain/readings.ts';
import { KIND_METRICS } from '../domain/readings.ts';
import { emptySeries, FIVE_MINUTES_MS, HOUR_MS, MINUTE_MS } from './series.ts';
import type { BucketSeries } from './types.ts';

/** A residential-like daily shape (UTC hours), ~0.3 at night, peaks ~1.6 morning and evening; weekends flatter. */
export function demandShape(t: number): number {
  const h = (t % 86_400_000) / HOUR_MS;
  const day = Math.floor(t / 86_400_000);
  const weekend = (day + 4) % 7 >= 5; // 1970-01-01 was a Thursday
  const morning = Math.exp(-(((h - (weekend ? 9 : 7.5)) / 1.5) ** 2));
  const evening = Math.exp(-(((h - 20) / 2) ** 2));
  return 0.3 + (weekend ? 0.9 : 1.3) * morning + 1.1 * evening + 0.4 * Math.exp(-(((h - 13) / 3) ** 2));
}

/** Minute values from `fn` (null: no reading) aggregated into 5-minute buckets over [fromMs, toMs). */
export function seriesOf(
  fromMs: number,
  toMs: number,
  fn: (t: number) => number | null,
  stepMs = MINUTE_MS,
): BucketSeries {
  const s = emptySeries(fromMs, FIVE_MINUTES_MS, Math.ceil((toMs - fromMs) / FIVE_MINUTES_MS));
  for (let t = fromMs; t < toMs; t += stepMs) {
    const v = fn(t);
    if (v === null) continue;
    const i = Math.floor((t - fromMs) / FIVE_MINUTES_MS);
    if (s.count[i] === 0) {
      s.min[i] = v;
      s.max[i] = v;
      s.first[i] = v;
    } else {
      s.min[i] = Math.min(s.min[i]!, v);
      s.max[i] = Math.max(s.max[i]!, v);
    }
    s.count[i]! += 1;
    s.sum[i]! += v;
    s.sumSq[i]! += v * v;
    s.last[i] = v;
  }
  return s;
}

/** Raw readings of one metric from `fn` over [fromMs, toMs). */
export function readingsOf(
  nodeId: string,
  metric: Metric,
  fromMs: number,
  toMs: number,
  fn: (t: number) => number | null,
  stepMs = MINUTE_MS,
): Reading[] {
  const out: Reading[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) {
    const v = fn(t);
    if (v !== null) out.push({ nodeId, ts: t, ingestedAt: t, values: { [metric]: v } });
  }
  return out;
}

export function nodeOf(kind: NodeKind, id = `${kind}-1`): NodeInfo {
  return {
    id,
    tenantId: 't1',
    districtId: 'd1',
    kind,
    name: id,
    latitude: null,
    longitude: null,
    metrics: KIND_METRICS[kind],
  };
}
