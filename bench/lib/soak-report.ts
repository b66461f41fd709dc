/** bench:soak's printed figures: requests and errors, latency during and outside faults, proof of each fault, runs, state. */
import type { FaultStats } from '../../dev/fault-proxy.ts';

export type FaultKind = 'postgres down' | 'redis down' | 'postgres slow' | 'cut mid-stream';

/** One fault as it held: wall-clock window and what each proxy counted meanwhile. */
export interface ScheduledFault {
  kind: FaultKind;
  from: number;
  to: number;
  pg: FaultStats;
  redis: FaultStats;
}

export interface SoakFigures {
  title: string;
  sent: number;
  errors: number;
  timeouts: number;
  /** Every answered request: wall-clock start (ms), latency (ms), status. */
  responses: { start: number; ms: number; status: number }[];
  /** Every answer by route, and whether a fault held when it came. */
  routeAnswers: { route: string; during: boolean; status: number }[];
  reqErrors: { at: number; kind: string }[];
  faults: ScheduledFault[];
  loadStart: number;
  cycleOutcomes: string[];
  runs: { status: string; n: number }[];
  apiLogLines: number;
  pgDiff: string[];
  redisDiff: string[];
  /** Cycles that did not finish within the bounded wait. */
  wedged: string[];
}

const pct = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (n: number) => (Number.isNaN(n) ? '—' : n.toFixed(0));
const counts = <K>(keys: K[]) => {
  const m = new Map<K, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return [...m].sort(([a], [b]) => String(a).localeCompare(String(b)));
};
const list = (entries: [unknown, number][]) => entries.map(([k, n]) => `${k}: ${n}`).join(', ') || '—';

export function printSoakReport(f: SoakFigures): void {
  // A request counts as "during a fault" when its life overlaps a fault's window.
  const during = (start: number, ms: number) => f.faults.some((x) => start <= x.to && start + ms >= x.from);
  const inFault = f.responses.filter((r) => during(r.start, r.ms));
  const outside = f.responses.filter((r) => !during(r.start, r.ms));
  const served = f.responses.filter((r) => r.status < 400).length;
  const errAt = (d: boolean) =>
    list(counts(f.reqErrors.filter((e) => during(e.at, 0) === d).map((e) => e.kind)));
  console.log(`\nbench:soak — ${f.title}`);
  console.log(`requests: ${f.sent} sent, ${f.responses.length} answered, ${served} served (status < 400)`);
  console.log(`  status codes outside faults: ${list(counts(outside.map((r) => r.status)))}`);
  console.log(`  status codes during faults:  ${list(counts(inFault.map((r) => r.status)))}`);
  for (const route of new Set(f.routeAnswers.map((a) => a.route))) {
    const of = (d: boolean) =>
      list(counts(f.routeAnswers.filter((a) => a.route === route && a.during === d).map((a) => a.status)));
    console.log(`    ${route.padEnd(19)} outside: ${of(false)}; during: ${of(true)}`);
  }
  console.log(
    `  request errors: ${f.errors} (timeouts ${f.timeouts}); outside faults: ${errAt(false)}; during: ${errAt(true)}`,
  );
  console.log('latency ms           n    p50    p99    max');
  for (const [name, rs] of [
    ['outside faults', outside],
    ['during faults', inFault],
  ] as const) {
    const l = rs.map((r) => r.ms).sort((a, b) => a - b);
    console.log(
      `  ${name.padEnd(15)}${String(l.length).padStart(6)} ${fmt(pct(l, 50)).padStart(6)} ${fmt(pct(l, 99)).padStart(6)} ${fmt(l.at(-1) ?? NaN).padStart(6)}`,
    );
  }
  console.log('faults (what each proxy counted while the fault held):');
  const s = (x: FaultStats) =>
    `accepted ${x.accepted}, refused ${x.refused}, cut ${x.cut}, delayed ${x.delayed}`;
  for (const x of f.faults) {
    const at = `${((x.from - f.loadStart) / 1000).toFixed(0)}–${((x.to - f.loadStart) / 1000).toFixed(0)} s`;
    console.log(`  ${x.kind.padEnd(15)} ${at.padEnd(10)} postgres: ${s(x.pg)}; upstash: ${s(x.redis)}`);
  }
  console.log(`cycles: ${f.cycleOutcomes.length} — ${list(counts(f.cycleOutcomes))}`);
  for (const w of f.wedged) console.log(`  WEDGED: ${w}`);
  const open = f.runs.some((r) => r.status === 'running');
  console.log(
    `runs by status: ${list(f.runs.map((r) => [r.status, r.n]))}${open ? '  ← LEFT RUNNING' : ' (none left running)'}`,
  );
  console.log(`API log lines (warning and above): ${f.apiLogLines}`);
  console.log('final state vs the undisturbed reference run (same cycles, same seed):');
  const show = (d: string[]) => (d.length === 0 ? 'equal' : `differ\n    ${d.join('\n    ')}`);
  console.log(`  PostgreSQL (partials, latest, watermarks, window metrics): ${show(f.pgDiff)}`);
  console.log(`  Redis hot keys: ${show(f.redisDiff)}`);
}
