/**
 * Scores the anomalies the system opened against a leak schedule, as BattLeDIM scored detections
 * (../shared/data/ltown/README.md), with what we simplify said here:
 *
 * - Leak alarms are the anomalies a leak or burst can raise (night-flow leak, burst, baseline deviation, and
 *   any other type that is not a data fault). Data-fault alarms (gaps, flatlines, spikes, …) are counted
 *   apart: the generated data have no faults, so every one is false.
 * - An alarm's time is when the system opened it (what an operator sees), not the start it backdates to.
 * - An alarm is a true positive for a leak that is running at that time (started, not yet repaired), not
 *   yet detected and in the alarm's district — A's meters also see B, fed through PRV-3 — once per leak.
 *   Where the system says the leak is (the credited anomaly's candidate locations) is scored apart, by
 *   `localisation.ts`: the pipe distance to the leak's pipe, within 300 m as BattLeDIM counted it.
 * - Further alarms while a detected leak runs in that district are repeats; alarms with no leak running
 *   there are false. The competition counts both as false positives; false alarms per week count the latter.
 * - The competition's score rewards the water not lost: for each detected leak, its outflow from the
 *   detection to its repair (or the end of the evaluated span), in m³; beside it, every leak's volume in
 *   the span. We do not price water or false alarms (the competition's costs are not in its README).
 */
import type { AnomalyPayload } from '../../shared/anomaly/listed.ts';
import type { GeneratedReadings } from './generate.ts';
import { STEP_MS } from './generate.ts';
import type { ScheduledLeak } from './schedule.ts';

const DATA_FAULTS = new Set([
  'gap',
  'silent',
  'flatline',
  'out_of_range',
  'spike',
  'negative_flow',
  'water_quality',
]);

export interface LeakOutcome {
  leak: ScheduledLeak;
  area: string;
  detectedAtMs: number | null;
  /** Detection time − start. */
  delayMs: number | null;
  by: string | null;
  /** The anomaly credited with the detection (its candidate locations are scored by `localisation.ts`). */
  anomalyId: string | null;
  /**
   * The leak's outflow (L/s) when the alarm credited to it opened. Alarms are credited to the earliest
   * undetected leak running in the alarm's district, without localisation: a tiny outflow here says the
   * alarm was likely another leak's, or noise.
   */
  outflowAtDetectionLps: number | null;
  /** Leak volume in the evaluated span, and the part after the detection (saved), m³. */
  volumeM3: number;
  savedM3: number;
}

export interface LeakScore {
  leaks: LeakOutcome[];
  alarms: number;
  truePositives: number;
  repeats: number;
  falseAlarms: number;
  dataFaultAlarms: number;
  weeks: number;
  falseByType: Record<string, number>;
  /** Per alarm type and node: [true, repeats, false]. */
  byDetector: Record<string, [number, number, number]>;
  volumeM3: number;
  savedM3: number;
}

const covers = (district: string | null, area: string) =>
  district === area || (district === 'A' && area === 'B');

export function scoreDetections(
  anomalies: readonly AnomalyPayload[],
  leaks: readonly ScheduledLeak[],
  data: Pick<GeneratedReadings, 'startMs' | 'steps' | 'leakSeries' | 'leakArea'>,
  evalFromMs: number,
  evalToMs: number,
): LeakScore {
  const inSpan = leaks.filter((l) => l.startMs < evalToMs && l.endMs > evalFromMs);
  const volume = (l: ScheduledLeak, fromMs: number) => {
    const s = data.leakSeries[l.pipe];
    if (!s) return 0;
    const lo = Math.max(0, Math.ceil((Math.max(fromMs, evalFromMs) - data.startMs) / STEP_MS));
    const hi = Math.min(data.steps, Math.ceil((Math.min(l.endMs, evalToMs) - data.startMs) / STEP_MS));
    let sum = 0;
    for (let i = lo; i < hi; i++) sum += s[i]!;
    return (sum * STEP_MS) / 1000 / 1000;
  };
  const outcomes: LeakOutcome[] = inSpan.map((leak) => ({
    leak,
    area: data.leakArea[leak.pipe] ?? '?',
    detectedAtMs: null,
    delayMs: null,
    by: null,
    anomalyId: null,
    outflowAtDetectionLps: null,
    volumeM3: volume(leak, leak.startMs),
    savedM3: 0,
  }));
  const opened = anomalies
    .filter((a) => a.openedAt !== null)
    .map((a) => ({ a, atMs: Date.parse(a.openedAt!) }))
    .filter((x) => x.atMs >= evalFromMs && x.atMs < evalToMs)
    .sort((x, y) => x.atMs - y.atMs);
  let dataFaultAlarms = 0;
  let truePositives = 0;
  let repeats = 0;
  let falseAlarms = 0;
  const falseByType: Record<string, number> = {};
  const byDetector: Record<string, [number, number, number]> = {};
  const tally = (a: AnomalyPayload, k: 0 | 1 | 2) => {
    const key = `${a.type} ${a.nodeId ?? a.districtId}`;
    const counts = byDetector[key] ?? [0, 0, 0];
    counts[k]++;
    byDetector[key] = counts;
  };
  for (const { a, atMs } of opened) {
    if (DATA_FAULTS.has(a.type)) {
      dataFaultAlarms++;
      continue;
    }
    const running = outcomes
      .filter((o) => o.leak.startMs <= atMs && atMs < o.leak.endMs && covers(a.districtId, o.area))
      .sort((x, y) => x.leak.startMs - y.leak.startMs);
    const fresh = running.find((o) => o.detectedAtMs === null);
    if (fresh) {
      fresh.detectedAtMs = atMs;
      fresh.delayMs = atMs - fresh.leak.startMs;
      fresh.by = `${a.type} ${a.nodeId ?? a.districtId}`;
      fresh.anomalyId = a.id;
      fresh.savedM3 = volume(fresh.leak, atMs);
      const step = Math.floor((atMs - data.startMs) / STEP_MS);
      fresh.outflowAtDetectionLps = data.leakSeries[fresh.leak.pipe]?.[step] ?? null;
      truePositives++;
      tally(a, 0);
    } else if (running.length > 0) {
      repeats++;
      tally(a, 1);
    } else {
      falseAlarms++;
      tally(a, 2);
      falseByType[a.type] = (falseByType[a.type] ?? 0) + 1;
    }
  }
  return {
    leaks: outcomes,
    alarms: opened.length - dataFaultAlarms,
    truePositives,
    repeats,
    falseAlarms,
    dataFaultAlarms,
    weeks: (evalToMs - evalFromMs) / (7 * 86_400_000),
    falseByType,
    byDetector,
    volumeM3: outcomes.reduce((s, o) => s + o.volumeM3, 0),
    savedM3: outcomes.reduce((s, o) => s + o.savedM3, 0),
  };
}
