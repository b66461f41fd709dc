/**
 * eval:anomalies — how well the anomaly detectors do.
 *
 *   node eval/anomaly/cli.ts [--mode sim|bwdf|both] [--seed 42] [--nodes 150] [--warmup 4] [--weeks 5]
 *                                  [--clean-nodes 48] [--bwdf ../shared/data/bwdf/dma-inflows.csv]
 *
 * sim:  a simulated network with injected leaks, bursts, sensor faults and quality events, replayed through
 *       the detectors and the lifecycle every 30 minutes as the aggregator runs them; per event type:
 *       precision, recall, F1 and median detection delay (matching rule in eval/anomaly/scoring.ts); then
 *       the same kind of network with no events at all, where every alarm is a false one.
 * bwdf: the real BWDF district inflows (hourly, no labels): alarms per node-week by type, against the ~1
 *       false alarm per node per week an operator tolerates.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';
import { DEFAULT_ANOMALY_CONFIG, withOverrides } from '../../shared/anomaly/config.ts';
import { DAY_MS, HOUR_MS, WEEK_MS } from '../../shared/anomaly/series.ts';
import type { NodeInfo } from '../../shared/domain/readings.ts';
import { EVENT_TYPES } from '../../shared/simulator/index.ts';
import { type RawNode, replayDistrict } from './replay.ts';
import { runSimulatedScenario } from './scenario.ts';
import { classOf } from './scoring.ts';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    seed: { type: 'string', default: '42' },
    nodes: { type: 'string', default: '150' },
    warmup: { type: 'string', default: '4' },
    weeks: { type: 'string', default: '5' },
    'clean-nodes': { type: 'string', default: '48' },
    bwdf: {
      type: 'string',
      default: new URL('../../../shared/data/bwdf/dma-inflows.csv', import.meta.url).pathname,
    },
  },
});

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)} %` : '—');
const dur = (ms: number) => {
  if (!Number.isFinite(ms)) return '—';
  if (ms < HOUR_MS) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * DAY_MS) return `${(ms / HOUR_MS).toFixed(1)} h`;
  return `${(ms / DAY_MS).toFixed(1)} d`;
};
const table = (header: string[], rows: string[][]) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const r of rows) console.log(line(r));
};

function simulated(): void {
  const seed = Number(args.seed);
  const nodes = Number(args.nodes);
  const warmupWeeks = Number(args.warmup);
  const weeks = Number(args.weeks);
  // Monday 8 January 2024: the warm-up and evaluation avoid Italian holidays (Easter is 31 March).
  const startMs = Date.UTC(2024, 0, 7, 23);
  const t0 = performance.now();
  const r = runSimulatedScenario({
    seed,
    nodes,
    startMs,
    warmupWeeks,
    weeks,
    onDistrict: (done, total) => process.stderr.write(`\rreplaying districts ${done}/${total}`),
  });
  process.stderr.write('\n');
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `\n## Simulated network: seed ${seed}, ${r.nodeCount} nodes in ${r.districtCount} districts, ` +
      `${warmupWeeks} weeks warm-up + ${weeks} weeks evaluated (${new Date(r.evalFromMs).toISOString().slice(0, 10)} → ` +
      `${new Date(r.evalToMs).toISOString().slice(0, 10)}), 30-minute cycles, ${seconds.toFixed(0)} s\n`,
  );
  table(
    [
      'event type',
      'events',
      'detected',
      'alarms',
      'false (at another event)',
      'precision',
      'recall',
      'F1',
      'median delay',
    ],
    r.types.map((t) => [
      t.type === 'leak' ? 'leak (incipient)' : t.type,
      String(t.events),
      String(t.detected),
      String(t.detections),
      `${t.detections - t.truePositives} (${t.falseAtOtherEvent})`,
      pct(t.precision),
      pct(t.recall),
      t.f1.toFixed(2),
      dur(t.medianDelayMs),
    ]),
  );
  const nodeWeeks = r.nodeCount * weeks;
  console.log('\nOther alarms (no injected event type of their own):\n');
  table(
    ['detector', 'alarms', 'per node-week', 'coinciding with an event'],
    r.others.map((o) => [
      o.cls,
      String(o.alarms),
      (o.alarms / nodeWeeks).toFixed(3),
      pct(o.coinciding / o.alarms),
    ]),
  );
  const falseAlarms =
    r.types.reduce((s, t) => s + t.detections - t.truePositives, 0) +
    r.others.reduce((s, o) => s + o.alarms - o.coinciding, 0);
  console.log(`\nAll false alarms: ${falseAlarms} = ${(falseAlarms / nodeWeeks).toFixed(3)} per node-week.`);
}

/** The same network with no events at all: every alarm is a false one. */
function clean(): void {
  const nodes = Number(args['clean-nodes']);
  if (!(nodes > 0)) return;
  const weeks = Number(args.weeks);
  const t0 = performance.now();
  const r = runSimulatedScenario({
    seed: Number(args.seed) + 1,
    nodes,
    startMs: Date.UTC(2024, 0, 7, 23),
    warmupWeeks: Number(args.warmup),
    weeks,
    eventRates: Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])),
    onDistrict: (done, total) => process.stderr.write(`\rreplaying clean districts ${done}/${total}`),
  });
  process.stderr.write('\n');
  const nodeWeeks = r.nodeCount * weeks;
  const byClass = new Map<string, number>();
  for (const d of r.detections)
    if (d.firstSeenMs > r.evalFromMs) byClass.set(classOf(d), (byClass.get(classOf(d)) ?? 0) + 1);
  const total = [...byClass.values()].reduce((a, b) => a + b, 0);
  console.log(
    `\n## Clean simulated network (no injected events): ${r.nodeCount} nodes, ${weeks} weeks, ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s — every alarm is false\n`,
  );
  table(
    ['detector', 'alarms', 'per node-week'],
    [...byClass.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([cls, n]) => [cls, String(n), (n / nodeWeeks).toFixed(3)])
      .concat([['all', String(total), (total / nodeWeeks).toFixed(3)]]),
  );
}

function bwdf(): void {
  const rows = parse(readFileSync(args.bwdf), { columns: true, skip_empty_lines: true }) as Record<
    string,
    string
  >[];
  const columns = Object.keys(rows[0]!).filter((c) => c !== 'timestamp');
  const ts = Float64Array.from(rows.map((r) => Date.parse(r.timestamp!)));
  const startMs = ts[0]!;
  const endMs = ts[ts.length - 1]! + HOUR_MS;
  // The detectors that apply to hourly inflows without pressure: baseline, night flow, flatline, gaps/silence,
  // negative flow, out of range. Gaps: telemetry is hourly, so a hole shorter than two hours is normal.
  const config = withOverrides(DEFAULT_ANOMALY_CONFIG, {
    kinds: { inlet: { gaps: { gapMinutes: 120, silentMinutes: 180 }, spikes: { flow: null } } },
  });
  const t0 = performance.now();
  const counts = new Map<string, number>();
  let nodeWeeks = 0;
  for (const column of columns) {
    const values = Float64Array.from(rows.map((r) => (r[column] === '' ? Number.NaN : Number(r[column]))));
    const present = values.filter((v) => !Number.isNaN(v));
    const firstIdx = values.findIndex((v) => !Number.isNaN(v));
    const info: NodeInfo = {
      id: column,
      tenantId: 'bwdf',
      districtId: column,
      kind: 'inlet',
      name: column,
      latitude: null,
      longitude: null,
      metrics: ['flow'],
    };
    // An empty cell is a reading that never came: only the hours with a value are rows.
    const kept = [...values.keys()].filter((i) => !Number.isNaN(values[i]!));
    const node: RawNode = {
      info,
      ts: Float64Array.from(kept, (i) => ts[i]!),
      values: { flow: Float64Array.from(kept, (i) => values[i]!) },
    };
    const historyFrom = ts[firstIdx]!;
    const evalFrom = Math.ceil((historyFrom + 4 * WEEK_MS) / HOUR_MS) * HOUR_MS;
    const detections = replayDistrict(
      { id: column, timezone: 'Europe/Rome', nodes: [node] },
      historyFrom,
      evalFrom,
      endMs,
      {
        config,
        bucketMs: HOUR_MS,
      },
    );
    nodeWeeks += (endMs - evalFrom) / WEEK_MS;
    for (const d of detections) counts.set(classOf(d), (counts.get(classOf(d)) ?? 0) + 1);
    process.stderr.write(`\r${column}: ${present.length} hours`);
  }
  process.stderr.write('\n');
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `\n## BWDF inflows: ${columns.length} DMAs, hourly, ${new Date(startMs).toISOString().slice(0, 10)} → ` +
      `${new Date(endMs).toISOString().slice(0, 10)}, first 4 weeks of each DMA as warm-up, ${nodeWeeks.toFixed(0)} node-weeks, ${seconds.toFixed(0)} s\n`,
  );
  const telemetry = new Set(['gap', 'silent']);
  const sum = (keep: (cls: string) => boolean) =>
    [...counts.entries()].filter(([cls]) => keep(cls)).reduce((a, [, n]) => a + n, 0);
  const holes = sum((c) => telemetry.has(c));
  const candidates = sum((c) => !telemetry.has(c));
  table(
    ['detector', 'alarms', 'per node-week'],
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([cls, n]) => [cls, String(n), (n / nodeWeeks).toFixed(3)])
      .concat([
        ['telemetry holes (gap, silent): real', String(holes), (holes / nodeWeeks).toFixed(3)],
        ['everything else: candidate false alarms', String(candidates), (candidates / nodeWeeks).toFixed(3)],
      ]),
  );
  console.log(
    '\nNo labels: gaps and silences are real holes in the file; the rest may be real events (the BWDF period has',
  );
  console.log('leaks and repairs) or false alarms. An operator tolerates about 1 false alarm per node-week.');
}

if (args.mode === 'sim' || args.mode === 'both') {
  simulated();
  clean();
}
if (args.mode === 'bwdf' || args.mode === 'both') bwdf();
