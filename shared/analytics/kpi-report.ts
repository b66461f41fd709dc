/**
 * A KPI report of one district (or the network) for one local day or week, from what the rollup gathered:
 * the water balance of each day (volumes, NRW, ILI), the nights' minimum flows against the period before,
 * the anomaly lifecycle (opened, acknowledged, resolved, time to acknowledge), water-quality compliance,
 * data completeness and the live scores of the served forecasts. Pure; missing inputs give nulls, never 0.
 */

/** What a report gathers of one district (or '*') and period besides the water balance and the nights. */
export interface PeriodFigures {
  opened: number;
  acknowledged: number;
  resolved: number;
  meanAckSeconds: number | null;
  medianAckSeconds: number | null;
  nodes: number;
  /** Node-hours holding data. */
  nodeHours: number;
  qualityHours: number;
  qualityHoursCompliant: number;
  /** Live scores of served forecasts evaluated in the period. */
  forecastScores: number;
  maeDay1: number | null;
  maxAeDay1: number | null;
  maeDays2to7: number | null;
}

export interface DayBalance {
  label: string;
  systemInputM3: number | null;
  billedAuthorisedM3: number | null;
  nonRevenueWaterM3: number | null;
  waterLossesM3: number | null;
  ili: number | null;
}

export interface ReportInputs {
  id: string;
  period: 'daily' | 'weekly';
  label: string;
  districtId: string | null;
  timezone: string;
  startMs: number;
  endMs: number;
  days: DayBalance[];
  nights: { date: string; mnfLps: number }[];
  previousNights: { date: string; mnfLps: number }[];
  figures: PeriodFigures | null;
  qualityLimits: { chlorineMin: number; chlorineMax: number; turbidityMax: number };
}

const r2 = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 100) / 100;

function total(xs: (number | null)[]): number | null {
  const ok = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return ok.length ? ok.reduce((s, v) => s + v, 0) : null;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null);

export function kpiReport(input: ReportInputs) {
  const siv = total(input.days.map((d) => d.systemInputM3));
  const nrw = total(input.days.map((d) => d.nonRevenueWaterM3));
  const ilis = input.days.map((d) => d.ili).filter((x): x is number => x !== null && Number.isFinite(x));
  const mnf = mean(input.nights.map((n) => n.mnfLps));
  const previous = mean(input.previousNights.map((n) => n.mnfLps));
  const f = input.figures;
  const hours = (input.endMs - input.startMs) / 3_600_000;
  const expected = f ? f.nodes * hours : 0;
  return {
    id: input.id,
    period: input.period,
    label: input.label,
    districtId: input.districtId,
    timezone: input.timezone,
    periodStart: new Date(input.startMs).toISOString(),
    periodEnd: new Date(input.endMs).toISOString(),
    volumes: {
      systemInputM3: r2(siv),
      billedAuthorisedM3: r2(total(input.days.map((d) => d.billedAuthorisedM3))),
      nonRevenueWaterM3: r2(nrw),
      waterLossesM3: r2(total(input.days.map((d) => d.waterLossesM3))),
      daysWithBalance: input.days.filter((d) => d.systemInputM3 !== null).length,
    },
    nrwPercent: siv !== null && nrw !== null && siv > 0 ? r2((nrw / siv) * 100) : null,
    ili: r2(mean(ilis)),
    minimumNightFlow: {
      nights: input.nights.map((n) => ({ date: n.date, mnfLps: r2(n.mnfLps) })),
      meanLps: r2(mnf),
      previousPeriodMeanLps: r2(previous),
      changePercent:
        mnf !== null && previous !== null && previous > 0 ? r2(((mnf - previous) / previous) * 100) : null,
    },
    anomalies: {
      opened: f?.opened ?? 0,
      acknowledged: f?.acknowledged ?? 0,
      resolved: f?.resolved ?? 0,
      meanMinutesToAcknowledge: r2(f?.meanAckSeconds != null ? f.meanAckSeconds / 60 : null),
      medianMinutesToAcknowledge: r2(f?.medianAckSeconds != null ? f.medianAckSeconds / 60 : null),
    },
    waterQuality: {
      hours: f?.qualityHours ?? 0,
      compliantHours: f?.qualityHoursCompliant ?? 0,
      compliancePercent:
        f && f.qualityHours > 0 ? r2((f.qualityHoursCompliant / f.qualityHours) * 100) : null,
      limits: input.qualityLimits,
    },
    dataCompleteness: {
      nodes: f?.nodes ?? 0,
      expectedNodeHours: expected,
      nodeHoursWithData: f?.nodeHours ?? 0,
      percent: f && expected > 0 ? r2((f.nodeHours / expected) * 100) : null,
    },
    forecastAccuracy: {
      liveScores: f?.forecastScores ?? 0,
      maeDay1: r2(f?.maeDay1),
      maxAeDay1: r2(f?.maxAeDay1),
      maeDays2to7: r2(f?.maeDays2to7),
    },
  };
}

export type KpiReport = ReturnType<typeof kpiReport>;
