/**
 * Leaks by minimum night flow (MNF), per district.
 *
 * Catches: new background leakage in a district — a leak runs day and night, but at night legitimate use is
 * smallest and steadiest, so the district's net inflow then is mostly leakage. A sustained rise of the
 * nightly minimum over its recent leak-free level is the classic sign of a new leak (IWA/UK practice).
 *
 * How: each local night's MNF is the lowest `smoothingMinutes` rolling mean of the district's net inflow in
 * the local window [`startHour`, `endHour`) — in the district's IANA zone, so DST nights are 2 or 4 hours
 * long and still the quiet hours. The reference is a low quantile (`referenceQuantile`) of the previous
 * `referenceNights` nights (leak-free ones: nights after `leakFreeBeforeMs` are left out). A leak holds when
 * the latest night and `recentNights` of the latest `recentNights + oddNights` are above the reference by at
 * least max(`minRiseAbs`,
 * `minRiseRel`·reference, `kSigma`·night-to-night noise). Severity grows with the rise in L/s and in %.
 */

import { localClock } from '../domain/local-time.ts';
import { round } from './baseline.ts';
import { DAY_MS, emptySeries, HOUR_MS, MINUTE_MS, meanOver } from './series.ts';
import { diffSigma, gradeBy, quantile } from './stats.ts';
import { type BucketSeries, type Condition, type Evidence, SEVERITIES, type Severity } from './types.ts';

export interface NightFlowConfig {
  /** Local night window [startHour, endHour): 02:00–05:00 is when demand is lowest almost everywhere. */
  startHour: number;
  endHour: number;
  /** The MNF is the lowest rolling mean over this long: an hour, as in UK practice, smooths single users. */
  smoothingMinutes: number;
  /** Share of a rolling window that must hold data to count. */
  minCoverage: number;
  /** Nights looked back for the reference. 28: four of each weekday, shorter than seasonal drift. */
  referenceNights: number;
  /** Quantile of the reference nights taken as the leak-free level: 0.1, the lowest nights but not an outlier. */
  referenceQuantile: number;
  /** Fewest reference nights needed. */
  minReferenceNights: number;
  /** Latest nights that must be above: 3, so one odd night (a festival, a tank fill) is not a leak. */
  recentNights: number;
  /**
   * Nights among the latest that may be below (or absurd: an inlet meter's fault) without breaking the run:
   * with 1, three of the last four nights, the last one included, must be above.
   */
  oddNights: number;
  /** Smallest rise in L/s: below it a meter's error dominates. */
  minRiseAbs: number;
  /** Smallest rise relative to the reference: 10 %. */
  minRiseRel: number;
  /** Smallest rise in units of the night-to-night noise (robust, from consecutive reference nights). */
  kSigma: number;
  /** Rise (% of reference) and rise (L/s) from which each severity applies; the higher of the two wins. */
  severityPct: Partial<Record<Severity, number>>;
  severityAbs: Partial<Record<Severity, number>>;
}

export const DEFAULT_NIGHT_FLOW: NightFlowConfig = {
  startHour: 2,
  endHour: 5,
  smoothingMinutes: 60,
  minCoverage: 0.75,
  referenceNights: 28,
  referenceQuantile: 0.1,
  minReferenceNights: 7,
  recentNights: 3,
  oddNights: 1,
  minRiseAbs: 0.3,
  minRiseRel: 0.1,
  kSigma: 3,
  severityPct: { warning: 0, minor: 20, major: 50, critical: 100 },
  severityAbs: { minor: 1, major: 3, critical: 10 },
};

/** One local night's minimum flow. */
export interface NightFlow {
  /** Local date of the night's window, YYYY-MM-DD. */
  date: string;
  startMs: number;
  endMs: number;
  /** Minimum night flow, L/s. */
  mnf: number;
  /** Start of the rolling window where the minimum was. */
  atMs: number;
}

/**
 * Net inflow of a district (inlets − outlets) as a series of means on the first inlet's grid; a bucket is
 * empty unless every meter has data in it (a partial sum would look like a drop).
 */
export function netInflow(
  inlets: readonly BucketSeries[],
  outlets: readonly BucketSeries[] = [],
): BucketSeries | null {
  const grid = inlets[0];
  if (!grid) return null;
  const out = emptySeries(grid.startMs, grid.stepMs, grid.length);
  const meters = [...inlets.map((s) => [s, 1] as const), ...outlets.map((s) => [s, -1] as const)];
  for (let i = 0; i < grid.length; i++) {
    const t = grid.startMs + i * grid.stepMs;
    let total = 0;
    let complete = true;
    for (const [s, sign] of meters) {
      const j = Math.floor((t - s.startMs) / s.stepMs);
      const c = j >= 0 && j < s.length ? s.count[j]! : 0;
      if (c <= 0) {
        complete = false;
        break;
      }
      total += (sign * s.sum[j]!) / c;
    }
    if (!complete) continue;
    out.count[i] = 1;
    out.sum[i] = total;
    out.sumSq[i] = total * total;
    out.min[i] = out.max[i] = out.first[i] = out.last[i] = total;
  }
  return out;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Each local night's MNF for nights whose window ends in (fromMs, toMs]. */
export function nightlyMinimumFlows(
  flow: BucketSeries,
  timezone: string,
  fromMs: number,
  toMs: number,
  cfg: NightFlowConfig = DEFAULT_NIGHT_FLOW,
): NightFlow[] {
  const clock = localClock(timezone);
  const smooth = cfg.smoothingMinutes * MINUTE_MS;
  const nights: NightFlow[] = [];
  let [y, m, d] = clock.localDate(fromMs - DAY_MS);
  for (;;) {
    const startMs = clock.startOfLocalHour(y, m, d, cfg.startHour);
    const endMs = clock.startOfLocalHour(y, m, d, cfg.endHour);
    if (startMs > toMs) break;
    if (endMs > fromMs && endMs <= toMs) {
      let mnf = Number.POSITIVE_INFINITY;
      let atMs = startMs;
      const step = Math.min(flow.stepMs, smooth);
      for (let t = startMs; t + smooth <= endMs; t += step) {
        const { mean, coverage } = meanOver(flow, t, t + smooth);
        if (coverage >= cfg.minCoverage && mean < mnf) {
          mnf = mean;
          atMs = t;
        }
      }
      if (Number.isFinite(mnf)) nights.push({ date: `${y}-${pad(m)}-${pad(d)}`, startMs, endMs, mnf, atMs });
    }
    const next = new Date(Date.UTC(y, m - 1, d + 1));
    [y, m, d] = [next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()];
  }
  return nights;
}

/**
 * Leak by MNF rise at `nowMs`, from nights in time order (only nights ended by `nowMs` are used). Nights
 * ending after `leakFreeBeforeMs` are left out of the reference.
 */
export function detectNightFlowLeak(
  nights: readonly NightFlow[],
  nowMs: number,
  options: { leakFreeBeforeMs?: number; nodeId?: string } = {},
  cfg: NightFlowConfig = DEFAULT_NIGHT_FLOW,
): Condition | null {
  const done = nights.filter((n) => n.endMs <= nowMs);
  const window = cfg.recentNights + cfg.oddNights;
  const recent = done.slice(-window);
  const latest = recent.at(-1);
  // The latest nights must be recent: a district whose inlet went quiet for days says nothing about tonight.
  if (recent.length < window || !latest || nowMs - latest.endMs > DAY_MS + 6 * HOUR_MS) return null;
  const firstRecent = recent[0]!;
  // The reference nights end before the recent ones, and before the open leak began (if one is open).
  const cutoff = Math.min(firstRecent.startMs, options.leakFreeBeforeMs ?? Number.POSITIVE_INFINITY);
  const oldest = cutoff - (cfg.referenceNights + 1) * DAY_MS;
  const reference = done
    .filter((n) => n.endMs > oldest && n.endMs <= cutoff)
    .slice(-cfg.referenceNights)
    .map((n) => n.mnf);
  if (reference.length < cfg.minReferenceNights) return null;
  const level = quantile(reference, cfg.referenceQuantile);
  // Night-to-night noise from consecutive differences: a leak already in the reference shifts the level for
  // days but barely moves the differences, and one odd night (a meter fault) moves two of them only.
  const spread = diffSigma(reference);
  const need = Math.max(cfg.minRiseAbs, cfg.minRiseRel * Math.abs(level), cfg.kSigma * spread);
  const above = recent.filter((n) => n.mnf - level >= need);
  if (latest.mnf - level < need || above.length < cfg.recentNights) return null;
  const lowestRecent = Math.min(...above.map((n) => n.mnf));
  const rise = lowestRecent - level;
  // Since when: walk back over the nights above the threshold (one odd night allowed, as above).
  let since = latest;
  let odd = 0;
  for (let i = done.length - 1; i >= 0; i--) {
    if (done[i]!.mnf - level >= need) since = done[i]!;
    else if (++odd > cfg.oddNights) break;
  }
  const risePct = level > 0 ? (100 * rise) / level : 100;
  const byPct = gradeBy(risePct, cfg.severityPct, SEVERITIES) ?? 'warning';
  const byAbs = gradeBy(rise, cfg.severityAbs, SEVERITIES) ?? 'warning';
  const severity = SEVERITIES.indexOf(byPct) >= SEVERITIES.indexOf(byAbs) ? byPct : byAbs;
  return {
    type: 'night_flow_leak',
    metric: 'flow',
    severity,
    observedAtMs: nowMs,
    sinceMs: since.atMs,
    ...(options.nodeId ? { nodeId: options.nodeId } : {}),
    evidence: {
      mnfLps: round(latest.mnf),
      lowestRecentLps: round(lowestRecent),
      referenceLps: round(level),
      riseLps: round(rise),
      risePct: round(risePct, 1),
      thresholdLps: round(need),
      referenceNights: reference.length,
      nightsAbove: above.length,
      latestNight: latest.date,
    },
  };
}

/**
 * Whether a night-flow leak is an earlier one's issue again (the lifecycle's re-open rule): the recent
 * nights' minimum no higher above the earlier anomaly's (its latest or peak sighting) than today's
 * threshold. A night minimum is comparable from night to night, whatever the reference did meanwhile.
 */
export function continuesNightFlowLeak(
  previous: { evidence: Evidence; peakEvidence: Evidence },
  c: Pick<Condition, 'evidence'>,
): boolean {
  const level = (e: Evidence) => (typeof e.lowestRecentLps === 'number' ? e.lowestRecentLps : Number.NaN);
  const now = level(c.evidence);
  const need = c.evidence.thresholdLps;
  const before = Math.max(level(previous.evidence), level(previous.peakEvidence));
  if (!Number.isFinite(now) || !Number.isFinite(before) || typeof need !== 'number') return false;
  return now - before < need;
}
