/**
 * Scoring detections against ground truth (the simulator's injected events).
 *
 * Matching rule. A detection matches an event when
 * 1. its class can detect the event's type (`DETECTABLE_BY`: a gap event is seen by the gap or the silent
 *    detector, a spike by the spike or the out-of-range detector, a leak by the night-flow detector, …);
 * 2. it is about the same place: the same district for leaks and bursts (district-level detections), else
 *    the event's own node;
 * 3. their times overlap: the detection's active span [first seen, end] meets the event's span
 *    [start, end + slack]. Slack covers detection lag: the cycle a one-minute spike falls in ends up to 30
 *    minutes later, a gap is reported once data resumes, a leak only after the nights that show it.
 *
 * Per event type: recall = share of its events (those starting inside the evaluation window, early
 * enough to be detectable, and not hidden inside a gap or silence of their node) matched by at least one
 * detection; precision = share of the detections of its
 * primary class that match some event their class can detect (false alarms are the rest); F1 their
 * harmonic mean; delay = opened − event start for the earliest matching detection, median over events.
 * Detections of other classes (baseline deviations, pH limits) are reported as alarms and the share of them
 * that coincide with any injected event at their node or district.
 */

import { DAY_MS, HOUR_MS } from '../../shared/anomaly/series.ts';
import type { Detection } from './replay.ts';

export interface TruthEvent {
  id: string;
  type: string;
  nodeId: string;
  districtId: string;
  startMs: number;
  endMs: number;
  affectedNodeIds: readonly string[];
}

/** A detection's class: its anomaly type, with the metric for water-quality limits. */
export const classOf = (d: Pick<Detection, 'type' | 'metric'>): string =>
  d.type === 'water_quality' ? `water_quality:${d.metric}` : d.type;

/** For each event type: its primary detector class first, then the others that also detect it. */
export const DETECTABLE_BY: Record<string, readonly string[]> = {
  leak: ['night_flow_leak', 'pressure_residual', 'water_balance'],
  burst: ['burst'],
  flatline: ['flatline'],
  gap: ['gap', 'silent'],
  silent: ['silent', 'gap'],
  spike: ['spike', 'out_of_range'],
  outOfRange: ['out_of_range'],
  negativeFlow: ['negative_flow'],
  lowChlorine: ['water_quality:chlorine'],
  highTurbidity: ['water_quality:turbidity'],
};

const DISTRICT_TYPES = new Set(['leak', 'burst']);

/** How long after an event's end a detection still counts as seeing it. */
const slackMs = (type: string): number => (type === 'leak' ? 2 * DAY_MS : 2 * HOUR_MS);

/** Events must start this long before the end of the evaluation to be counted for recall. */
const detectableAfterMs = (type: string): number => (type === 'leak' ? 4 * DAY_MS : 2 * HOUR_MS);

/** A sensor or quality event entirely inside a gap or silence of its node: no reading shows it. */
const hiddenBySilence = (e: TruthEvent, events: readonly TruthEvent[]): boolean =>
  !DISTRICT_TYPES.has(e.type) &&
  e.type !== 'gap' &&
  e.type !== 'silent' &&
  events.some(
    (g) =>
      (g.type === 'gap' || g.type === 'silent') &&
      g.nodeId === e.nodeId &&
      g.startMs <= e.startMs &&
      g.endMs >= e.endMs,
  );

export function matches(d: Detection, e: TruthEvent, horizonMs: number): boolean {
  if (!(DETECTABLE_BY[e.type] ?? []).includes(classOf(d))) return false;
  const samePlace = DISTRICT_TYPES.has(e.type) ? d.districtId === e.districtId : d.nodeId === e.nodeId;
  if (!samePlace) return false;
  const dEnd = d.endMs ?? horizonMs;
  return d.firstSeenMs <= e.endMs + slackMs(e.type) && dEnd >= e.startMs;
}

/** Whether a detection coincides with any event at its node or district (for classes without their own events). */
const coincides = (d: Detection, e: TruthEvent, horizonMs: number): boolean =>
  (d.nodeId === e.nodeId ||
    (d.nodeId !== null && e.affectedNodeIds.includes(d.nodeId)) ||
    d.districtId === e.districtId) &&
  d.firstSeenMs <= e.endMs + slackMs(e.type) &&
  (d.endMs ?? horizonMs) >= e.startMs;

export interface TypeScore {
  type: string;
  events: number;
  detected: number;
  recall: number;
  detections: number;
  truePositives: number;
  /** False alarms that coincide with another injected event at their node (a fault seen as a different one). */
  falseAtOtherEvent: number;
  precision: number;
  f1: number;
  /** Median opened − start over detected events, ms; NaN when none. */
  medianDelayMs: number;
}

export interface OtherAlarms {
  cls: string;
  alarms: number;
  coinciding: number;
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function score(
  detections: readonly Detection[],
  events: readonly TruthEvent[],
  evalFromMs: number,
  evalToMs: number,
): { types: TypeScore[]; others: OtherAlarms[] } {
  const inWindow = detections.filter((d) => d.firstSeenMs > evalFromMs && d.firstSeenMs <= evalToMs);
  const types: TypeScore[] = [];
  for (const [type, classes] of Object.entries(DETECTABLE_BY)) {
    const counted = events.filter(
      (e) =>
        e.type === type &&
        e.startMs >= evalFromMs &&
        e.startMs < evalToMs - detectableAfterMs(type) &&
        !hiddenBySilence(e, events),
    );
    const delays: number[] = [];
    for (const e of counted) {
      const found = inWindow.filter((d) => matches(d, e, evalToMs));
      if (found.length > 0) delays.push(Math.max(0, Math.min(...found.map((d) => d.openedAtMs)) - e.startMs));
    }
    const primary = inWindow.filter((d) => classOf(d) === classes[0]);
    const falseAlarms = primary.filter((d) => !events.some((e) => matches(d, e, evalToMs)));
    const truePositives = primary.length - falseAlarms.length;
    const falseAtOtherEvent = falseAlarms.filter((d) => events.some((e) => coincides(d, e, evalToMs))).length;
    const recall = counted.length > 0 ? delays.length / counted.length : Number.NaN;
    const precision = primary.length > 0 ? truePositives / primary.length : Number.NaN;
    const f1 = recall + precision > 0 ? (2 * recall * precision) / (recall + precision) : 0;
    types.push({
      type,
      events: counted.length,
      detected: delays.length,
      recall,
      detections: primary.length,
      truePositives,
      falseAtOtherEvent,
      precision,
      f1,
      medianDelayMs: median(delays),
    });
  }
  const primaries = new Set(Object.values(DETECTABLE_BY).map((c) => c[0]!));
  const others = new Map<string, OtherAlarms>();
  for (const d of inWindow) {
    const cls = classOf(d);
    if (primaries.has(cls)) continue;
    const o = others.get(cls) ?? { cls, alarms: 0, coinciding: 0 };
    o.alarms++;
    if (events.some((e) => coincides(d, e, evalToMs))) o.coinciding++;
    others.set(cls, o);
  }
  return { types, others: [...others.values()].sort((a, b) => a.cls.localeCompare(b.cls)) };
}
