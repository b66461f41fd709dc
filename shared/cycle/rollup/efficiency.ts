/**
 * Water balance and leakage KPIs in the rollup, per district and network-wide, per local day and
 * month — only for the periods the run's data touched (applied_batches records each batch's span of
 * reading times), never the whole history.
 *
 * A day is computed from the hourly partials of the district's meters: system input volume from the
 * inlets' (and the outlets of other districts registered as feeding it: `feedsDistrictId`) minus the
 * outlets' flow (hourly mean × 1 h), authorised consumption from billed volumes
 * entered for the period (billed_consumption, prorated) or else from the customer meter groups, the
 * minimum night flow from the hourly net inflow, the night-day factor from the pressure points' hourly
 * profile. A month is added up from its stored days' inputs. A period still in progress is computed
 * over its elapsed hours and marked `partial`. What cannot be computed is null and says why
 * (shared/analytics/water-balance.ts).
 */

import { type Period, type PeriodKind, periodContaining } from '../../analytics/local-period.ts';

import { networkBalance } from '../../analytics/network-balance.ts';
import { districtBalance } from '../../analytics/water-balance.ts';
import {
  type BilledVolume,
  type ConsumptionInput,
  DEFAULT_BALANCE_OPTIONS,
  type DistrictBalance,
  type HourlyFlow,
  type MeterVolume,
} from '../../analytics/water-balance-types.ts';
import { bucketStart, HOUR_MS } from '../../domain/aggregate.ts';
import { type EfficiencyRow, servedBalance } from '../../domain/efficiency.ts';
import { localParts } from '../../domain/local-time.ts';
import { metricIndex } from '../../domain/readings.ts';
import type { BilledRow, DistrictMeters, EfficiencyStore, HourlyMetricRow, TouchedSpan } from './store.ts';

const FLOW = metricIndex('flow');
const PRESSURE = metricIndex('pressure');
/** 1 L/s for an hour is 3.6 m³. */
const M3_PER_LS_HOUR = 3.6;
/** Metres of head per bar of pressure. */
const M_PER_BAR = 10.197;
/** Days looked at per district and run: late data reaches at most the lateness horizon back. */
const MAX_DAYS_PER_RUN = 14;

export interface MeterInput {
  meterId: string;
  /** Volume in the hours with data, m³, and the share of the period's hours with data. */
  measuredM3: number;
  coverage: number;
}

/** What a district's day (or month) balance is computed from, kept with it so months add days up. */
export interface BalanceInputs {
  hours: number;
  inlets: MeterInput[];
  outlets: MeterInput[];
  customers: MeterInput[];
  nightFlow: HourlyFlow[];
  /** Mean pressure of the pressure points by local hour, m; null unless every hour is known. */
  pressureProfileM: number[] | null;
}

export interface StoredBalance extends DistrictBalance {
  partial: boolean;
  inputs: BalanceInputs;
}

/** A period cut at `endMs` when still in progress. */
function truncate(period: Period, endMs: number): Period {
  if (endMs >= period.end) return period;
  return { ...period, end: endMs, hours: (endMs - period.start) / HOUR_MS };
}

function meterInput(meterId: string, rows: HourlyMetricRow[], period: Period): MeterInput {
  let m3 = 0;
  let hours = 0;
  for (const r of rows) {
    if (r.count <= 0 || r.bucketMs < period.start || r.bucketMs >= period.end) continue;
    m3 += (r.sum / r.count) * M3_PER_LS_HOUR;
    hours++;
  }
  return { meterId, measuredM3: m3, coverage: period.hours > 0 ? Math.min(1, hours / period.hours) : 0 };
}

/** The inputs of one district and period from hourly partials (pure). */
export function balanceInputs(
  meters: DistrictMeters,
  period: Period,
  rows: readonly HourlyMetricRow[],
): BalanceInputs {
  const byNode = new Map<string, HourlyMetricRow[]>();
  for (const r of rows) {
    const key = `${r.nodeId}|${r.metric}`;
    const list = byNode.get(key);
    if (list) list.push(r);
    else byNode.set(key, [r]);
  }
  // Another district's outlet that feeds this one is part of its system input, as an inlet is.
  const of = (kind: string) => [
    ...meters.nodes.filter((n) => n.kind === kind),
    ...(kind === 'inlet' ? (meters.feeders ?? []) : []),
  ];
  const flows = (kind: string) =>
    of(kind).map((n) => meterInput(n.id, byNode.get(`${n.id}|${FLOW}`) ?? [], period));
  // Net inflow per hour, where every inlet and outlet reported.
  const hourly = (id: string, metric: number) =>
    new Map(
      (byNode.get(`${id}|${metric}`) ?? [])
        .filter((r) => r.count > 0)
        .map((r) => [r.bucketMs, r.sum / r.count]),
    );
  const inletFlows = of('inlet').map((n) => hourly(n.id, FLOW));
  const outletFlows = of('outlet').map((n) => hourly(n.id, FLOW));
  const nightFlow: HourlyFlow[] = [];
  if (inletFlows.length > 0) {
    for (let t = period.start; t < period.end; t += HOUR_MS) {
      const parts = [...inletFlows.map((m) => m.get(t)), ...outletFlows.map((m) => m.get(t))];
      if (parts.some((v) => v === undefined)) continue;
      let net = 0;
      inletFlows.forEach((m) => {
        net += m.get(t)!;
      });
      outletFlows.forEach((m) => {
        net -= m.get(t)!;
      });
      // Only the night window's hours are kept: the rest says nothing about night flow.
      const hour = localParts(t, period.timezone).hour;
      if (hour >= DEFAULT_BALANCE_OPTIONS.nightStartHour && hour < DEFAULT_BALANCE_OPTIONS.nightEndHour) {
        nightFlow.push({ start: t, flowM3h: net * M3_PER_LS_HOUR });
      }
    }
  }
  // The pressure profile of a whole local day: mean over the pressure points, by local hour.
  let pressureProfileM: number[] | null = null;
  const points = of('pressure').map((n) => hourly(n.id, PRESSURE));
  if (period.kind === 'day' && points.length > 0) {
    const sums = new Array<number>(24).fill(0);
    const counts = new Array<number>(24).fill(0);
    for (let t = period.start; t < period.end; t += HOUR_MS) {
      const hour = localParts(t, period.timezone).hour;
      for (const p of points) {
        const v = p.get(t);
        if (v === undefined) continue;
        sums[hour]! += v * M_PER_BAR;
        counts[hour]! += 1;
      }
    }
    if (counts.every((c) => c > 0)) pressureProfileM = sums.map((s, h) => s / counts[h]!);
    if (pressureProfileM?.some((p) => !(p > 0))) pressureProfileM = null;
  }
  return {
    hours: period.hours,
    inlets: flows('inlet'),
    outlets: flows('outlet'),
    customers: flows('customer'),
    nightFlow,
    pressureProfileM,
  };
}

/** Adds up the inputs of a month's days (each day's coverage weighed by its hours). */
export function monthInputs(days: readonly BalanceInputs[], monthHours: number): BalanceInputs {
  const add = (pick: (d: BalanceInputs) => MeterInput[]) => {
    const byMeter = new Map<string, MeterInput>();
    for (const d of days) {
      for (const m of pick(d)) {
        const have = byMeter.get(m.meterId) ?? { meterId: m.meterId, measuredM3: 0, coverage: 0 };
        have.measuredM3 += m.measuredM3;
        have.coverage += (m.coverage * d.hours) / monthHours;
        byMeter.set(m.meterId, have);
      }
    }
    return [...byMeter.values()];
  };
  const profiles = days.flatMap((d) => (d.pressureProfileM ? [d.pressureProfileM] : []));
  return {
    hours: monthHours,
    inlets: add((d) => d.inlets),
    outlets: add((d) => d.outlets),
    customers: add((d) => d.customers),
    nightFlow: days.flatMap((d) => d.nightFlow),
    pressureProfileM:
      profiles.length > 0
        ? profiles[0]!.map((_, h) => profiles.reduce((s, p) => s + p[h]!, 0) / profiles.length)
        : null,
  };
}

const volumes = (meters: MeterInput[]): MeterVolume[] =>
  meters.map((m) => ({ meterId: m.meterId, m3: m.measuredM3, coverage: m.coverage }));

/** Authorised consumption: billed volumes for the period if any were entered, else the customer meters. */
function consumptionOf(
  inputs: BalanceInputs,
  billed: readonly BilledRow[],
  period: Period,
): { consumption: ConsumptionInput; unbilledM3: number } {
  const overlapping = billed.filter((b) => b.toMs > period.start && b.fromMs < period.end);
  if (overlapping.length > 0) {
    const entries: BilledVolume[] = overlapping.map((b) => ({ from: b.fromMs, to: b.toMs, m3: b.volumeM3 }));
    let unbilledM3 = 0;
    for (const b of overlapping) {
      const share = (Math.min(b.toMs, period.end) - Math.max(b.fromMs, period.start)) / (b.toMs - b.fromMs);
      unbilledM3 += (b.unbilledM3 ?? 0) * share;
    }
    return { consumption: { source: 'billed', entries }, unbilledM3 };
  }
  if (inputs.customers.length === 0) return { consumption: { source: 'unknown' }, unbilledM3: 0 };
  // Extrapolate each group over its own gaps; the least-covered group decides how estimated the sum is.
  const coverage = Math.min(...inputs.customers.map((c) => c.coverage));
  const extrapolated = inputs.customers.reduce(
    (s, c) => s + (c.coverage > 0 ? c.measuredM3 / Math.min(1, c.coverage) : 0),
    0,
  );
  return { consumption: { source: 'metered', m3: extrapolated * coverage, coverage }, unbilledM3: 0 };
}

/** A district's balance of a period from its inputs (pure). */
export function balanceOf(
  meters: DistrictMeters,
  period: Period,
  inputs: BalanceInputs,
  billed: readonly BilledRow[],
  partial: boolean,
): StoredBalance {
  const { consumption, unbilledM3 } = consumptionOf(inputs, billed, period);
  const balance = districtBalance({
    district: meters.district,
    period,
    inlets: volumes(inputs.inlets),
    outlets: volumes(inputs.outlets),
    consumption,
    unbilledAuthorisedM3: unbilledM3,
    nightFlow: inputs.nightFlow,
    ...(inputs.pressureProfileM ? { pressureProfileM: inputs.pressureProfileM } : {}),
  });
  return { ...balance, partial, inputs };
}

/** The local days a span of reading times touches (at most `maxDays`, the latest ones). */
export function touchedDays(
  minMs: number,
  maxMs: number,
  timezone: string,
  maxDays = MAX_DAYS_PER_RUN,
): Period[] {
  const days: Period[] = [];
  let day = periodContaining('day', Math.max(minMs, maxMs - maxDays * 24 * HOUR_MS), timezone);
  while (day.start <= maxMs) {
    days.push(day);
    day = periodContaining('day', day.end, timezone);
  }
  return days;
}

export interface EfficiencyResult {
  /** Labels written per period kind (network-wide rows included). */
  labels: Record<PeriodKind, string[]>;
  rows: number;
}

/**
 * Computes and stores the balances of the given districts' touched spans, the months those days lie
 * in, and the network-wide balances of every label written. `nowMs` is the run's end: the current hour
 * is not complete, so periods end at the hour before it.
 */
export async function updateEfficiency(
  store: EfficiencyStore,
  tenantId: string,
  spans: readonly TouchedSpan[],
  nowMs: number,
  options: { maxDays?: number } = {},
): Promise<EfficiencyResult> {
  const labels: Record<PeriodKind, Set<string>> = { day: new Set(), month: new Set() };
  if (spans.length === 0) return { labels: { day: [], month: [] }, rows: 0 };
  const dataEnd = bucketStart(nowMs, HOUR_MS);
  const meters = await store.districtMeters(tenantId, [...new Set(spans.map((s) => s.districtId))]);
  const work = meters.flatMap((m) => {
    const span = spans.find((s) => s.districtId === m.district.id)!;
    return touchedDays(span.minMs, Math.min(span.maxMs, dataEnd - 1), m.district.timezone, options.maxDays)
      .filter((d) => d.start < dataEnd)
      .map((day) => ({ meters: m, day, cut: truncate(day, dataEnd) }));
  });
  if (work.length === 0) return { labels: { day: [], month: [] }, rows: 0 };
  const from = Math.min(...work.map((w) => w.day.start));
  const to = Math.max(...work.map((w) => w.cut.end));
  const nodesOf = (m: DistrictMeters) => [...m.nodes, ...(m.feeders ?? [])];
  const nodeIds = [...new Set(work.flatMap((w) => nodesOf(w.meters).map((n) => n.id)))];
  const hourly = await store.readHourlyMetrics(nodeIds, [FLOW, PRESSURE], from, to);
  const rowsOf = new Map<string, HourlyMetricRow[]>();
  for (const r of hourly) {
    const list = rowsOf.get(r.nodeId);
    if (list) list.push(r);
    else rowsOf.set(r.nodeId, [r]);
  }
  const months = new Map<string, { meters: DistrictMeters; month: Period }>();
  for (const w of work) {
    const month = periodContaining('month', w.day.start, w.meters.district.timezone);
    months.set(`${w.meters.district.id}|${month.label}`, { meters: w.meters, month });
  }
  const billedFrom = Math.min(from, ...[...months.values()].map((m) => m.month.start));
  const billedTo = Math.max(to, ...[...months.values()].map((m) => m.month.end));
  const billed = await store.readBilled(
    tenantId,
    [...new Set(work.map((w) => w.meters.district.id))],
    billedFrom,
    billedTo,
  );
  const billedOf = (id: string) => billed.filter((b) => b.districtId === id);

  const out: EfficiencyRow[] = [];
  const row = (districtId: string, kind: PeriodKind, label: string, body: unknown): EfficiencyRow => ({
    tenantId,
    districtId,
    periodKind: kind,
    periodLabel: label,
    computedAtMs: nowMs,
    body,
  });
  for (const w of work) {
    const rows = nodesOf(w.meters).flatMap((n) => rowsOf.get(n.id) ?? []);
    const inputs = balanceInputs(w.meters, w.cut, rows);
    const balance = balanceOf(w.meters, w.cut, inputs, billedOf(w.meters.district.id), w.cut !== w.day);
    out.push(row(w.meters.district.id, 'day', w.day.label, balance));
    labels.day.add(w.day.label);
  }
  await store.writeEfficiency(out);

  // Months from their stored days (the ones just written included).
  const monthRows: EfficiencyRow[] = [];
  const daysOfMonth = new Map<string, EfficiencyRow[]>();
  for (const label of new Set([...months.values()].map((m) => m.month.label))) {
    daysOfMonth.set(label, await store.readEfficiency(tenantId, 'day', { prefix: `${label}-` }));
  }
  for (const { meters: m, month } of months.values()) {
    const mine = (daysOfMonth.get(month.label) ?? [])
      .filter((d) => d.districtId === m.district.id)
      .map((d) => d.body as StoredBalance);
    const cut = truncate(month, dataEnd);
    // A stored day without its inputs (written by hand or by an older version) adds nothing to the month.
    const inputs = monthInputs(
      mine.flatMap((d) => (d.inputs ? [d.inputs] : [])),
      cut.hours,
    );
    const balance = balanceOf(
      m,
      cut,
      inputs,
      billedOf(m.district.id),
      cut !== month || mine.some((d) => d.partial),
    );
    monthRows.push(row(m.district.id, 'month', month.label, balance));
    labels.month.add(month.label);
  }
  await store.writeEfficiency(monthRows);

  // Network-wide: every district's balance of each label written.
  const network: EfficiencyRow[] = [];
  for (const kind of ['day', 'month'] as const) {
    const written = [...labels[kind]];
    if (written.length === 0) continue;
    const stored = await store.readEfficiency(tenantId, kind, { exact: written });
    for (const label of written) {
      const balances = stored
        .filter((r) => r.periodLabel === label && r.districtId !== '*')
        .map((r) => r.body as StoredBalance);
      if (balances.length === 0) continue;
      const partial = balances.some((b) => b.partial);
      network.push(row('*', kind, label, { ...networkBalance(balances), partial }));
    }
  }
  await store.writeEfficiency(network);
  return {
    labels: { day: [...labels.day].sort(), month: [...labels.month].sort() },
    rows: out.length + monthRows.length + network.length,
  };
}

/** The hot value of a period kind: the latest label's network-wide and district balances. */
export async function efficiencySnapshot(
  store: Pick<EfficiencyStore, 'readEfficiency'>,
  tenantId: string,
  kind: PeriodKind,
  label: string,
) {
  const rows = await store.readEfficiency(tenantId, kind, { exact: [label] });
  const network = rows.find((r) => r.districtId === '*');
  return {
    network: network ? servedBalance(network) : null,
    districts: rows.filter((r) => r.districtId !== '*').map(servedBalance),
  };
}
