/**
 * KPI reports in the rollup: for each district and the network, the last complete local day and the last
 * complete local week (Monday to Sunday) get a report once — ids are deterministic (`daily:district:d01:
 * 2026-07-19`, `weekly:network:2026-07-13`), the ones already stored are skipped before anything is read,
 * and the write is insert-or-nothing, so a redelivered rollup generates nothing twice. Only the latest
 * complete periods are generated (no backfill of older ones). Reads: the water balances of the period's
 * days, the district nights, and one statement per figure family (`adapters/postgres/reports.ts`).
 */

import { type DayBalance, kpiReport } from '../../analytics/kpi-report.ts';
import { localPeriod } from '../../analytics/local-period.ts';
import { servedBalance } from '../../domain/efficiency.ts';
import { lastCompleteDay } from './patterns.ts';
import type { DistrictMeters, QualityLimits, ReportRow, RollupStore } from './store.ts';

const DAY_MS = 86_400_000;
/** Hourly means: free chlorine 0.2–5 mg/L (WHO ≤ 5), turbidity ≤ 1 NTU. */
export const QUALITY_LIMITS: QualityLimits = { chlorineMin: 0.2, chlorineMax: 5, turbidityMax: 1 };

interface Period {
  period: 'daily' | 'weekly';
  label: string;
  days: string[];
  startMs: number;
  endMs: number;
}

const shiftDay = (label: string, days: number) =>
  new Date(Date.parse(`${label}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/** The last complete local day and the last complete local week (ending on a Sunday) before `nowMs`. */
export function completePeriods(nowMs: number, timezone: string): Period[] {
  const day = lastCompleteDay(nowMs, timezone);
  const d = localPeriod('day', day.label, timezone);
  // 0 = Monday … 6 = Sunday of the last complete day.
  const weekday = (new Date(`${day.label}T00:00:00Z`).getUTCDay() + 6) % 7;
  const sunday = shiftDay(day.label, -((weekday + 1) % 7));
  const monday = shiftDay(sunday, -6);
  const weekDays = Array.from({ length: 7 }, (_, i) => shiftDay(monday, i));
  return [
    { period: 'daily', label: day.label, days: [day.label], startMs: d.start, endMs: d.end },
    {
      period: 'weekly',
      label: monday,
      days: weekDays,
      startMs: localPeriod('day', monday, timezone).start,
      endMs: localPeriod('day', sunday, timezone).end,
    },
  ];
}

const reportId = (p: Period, districtId: string | null) =>
  districtId === null ? `${p.period}:network:${p.label}` : `${p.period}:district:${districtId}:${p.label}`;

function dayBalance(label: string, body: Record<string, unknown> | undefined): DayBalance {
  const num = (k: string) => (typeof body?.[k] === 'number' ? (body[k] as number) : null);
  return {
    label,
    systemInputM3: num('systemInputM3'),
    billedAuthorisedM3: num('billedAuthorisedM3'),
    nonRevenueWaterM3: num('nonRevenueWaterM3'),
    waterLossesM3: num('waterLossesM3'),
    ili: num('ili'),
  };
}

export async function generateReports(
  store: RollupStore,
  tenantId: string,
  districts: readonly DistrictMeters[],
  nowMs: number,
): Promise<number> {
  if (districts.length === 0) return 0;
  const timezone = districts[0]!.district.timezone;
  const subjects: { districtId: string | null; timezone: string }[] = [
    ...districts.map((d) => ({ districtId: d.district.id, timezone: d.district.timezone })),
    { districtId: null, timezone },
  ];
  const wanted = subjects.flatMap((s) =>
    completePeriods(nowMs, s.timezone).map((p) => ({ s, p, id: reportId(p, s.districtId) })),
  );
  const existing = await store.existingReports(
    tenantId,
    wanted.map((w) => w.id),
  );
  const missing = wanted.filter((w) => !existing.has(w.id));
  if (missing.length === 0) return 0;
  const rows: ReportRow[] = [];
  const figuresCache = new Map<string, Awaited<ReturnType<RollupStore['periodFigures']>>>();
  const nights = await store.readNights(
    districts.map((d) => d.district.id),
    Math.min(...missing.map((w) => w.p.startMs)) - 8 * DAY_MS,
  );
  for (const { s, p, id } of missing) {
    const key = `${p.startMs}:${p.endMs}`;
    let figures = figuresCache.get(key);
    if (!figures) {
      figures = await store.periodFigures(tenantId, p.startMs, p.endMs, QUALITY_LIMITS);
      figuresCache.set(key, figures);
    }
    const balances = await store.readEfficiency(tenantId, 'day', { exact: p.days });
    const own = balances.filter((b) => b.districtId === (s.districtId ?? '*'));
    const days = p.days.map((label) => {
      const row = own.find((b) => b.periodLabel === label);
      return dayBalance(label, row ? (servedBalance(row).figures as Record<string, unknown>) : undefined);
    });
    const inDistrict = nights.filter((n) => s.districtId === null || n.districtId === s.districtId);
    const span = p.endMs - p.startMs;
    const of = (from: number, to: number) => {
      const byDate = new Map<string, number[]>();
      for (const n of inDistrict.filter((x) => x.startMs >= from && x.startMs < to)) {
        byDate.set(n.date, [...(byDate.get(n.date) ?? []), n.mnf]);
      }
      // The network's night: the districts' minimum flows summed.
      return [...byDate]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([date, xs]) => ({ date, mnfLps: xs.reduce((t, v) => t + v, 0) }));
    };
    const body = kpiReport({
      id,
      period: p.period,
      label: p.label,
      districtId: s.districtId,
      timezone: s.timezone,
      startMs: p.startMs,
      endMs: p.endMs,
      days,
      nights: of(p.startMs, p.endMs),
      previousNights: of(p.startMs - span, p.startMs),
      figures: figures.get(s.districtId ?? '*') ?? null,
      qualityLimits: QUALITY_LIMITS,
    });
    rows.push({
      tenantId,
      id,
      districtId: s.districtId ?? '*',
      period: p.period,
      label: p.label,
      startMs: p.startMs,
      endMs: p.endMs,
      // The data's clock: the end of the run that generated it.
      generatedAtMs: nowMs,
      body,
    });
  }
  return store.writeReports(rows);
}
