/** Number, time and size formatting for the views. */
export const num = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '—'
    : v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 });

export const pct = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined ? '—' : `${num(v, digits)} %`;

export const time = (iso: string | number | null | undefined) => {
  if (iso === null || iso === undefined) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
};

export const age = (seconds: number | null | undefined) => {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
};

export const bytes = (n: number | null | undefined) => {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${num(v, 1)} ${units[i]}`;
};

export const SEVERITY_ORDER = ['warning', 'minor', 'major', 'critical'] as const;
export type Severity = (typeof SEVERITY_ORDER)[number];
export const severityRank = (s: string) => SEVERITY_ORDER.indexOf(s as Severity);
export const label = (s: string) => s.replace(/_/g, ' ');

/** The worst severity of a list (null when empty). */
export const worstSeverity = (list: { severity: string }[]) =>
  list.reduce<string | null>(
    (w, a) => (w === null || severityRank(a.severity) > severityRank(w) ? a.severity : w),
    null,
  );

/** The query part of the hash route (`#/anomalies?severity=critical`). */
export const hashParams = () => new URLSearchParams(location.hash.split('?')[1] ?? '');
