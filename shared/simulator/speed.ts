/**
 * Prints how fast the simulator generates readings (single core):
 *   node shared/simulator/speed.ts [nodes=1000] [days=7]
 * The columnar path is the benchmarks' load generator (target ≥ 5 M readings/s); Reading objects are
 * built from the same columns and are slower. CPU time is printed too: on a shared machine the wall
 * clock also counts the time other processes held the core.
 */
import { createSimulator } from './index.ts';

const nodes = Number(process.argv[2] ?? 1000);
const days = Number(process.argv[3] ?? 7);
const from = Date.UTC(2025, 5, 2);
const to = from + days * 86_400_000;

function measure(label: string, run: () => number): void {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const readings = run();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const rate = (s: number) => `${(readings / s / 1e6).toFixed(2)} M/s`;
  console.log(
    `${label}: ${readings.toLocaleString('en')} readings in ${wallS.toFixed(2)} s wall (${rate(wallS)}), ${cpuS.toFixed(2)} s CPU (${rate(cpuS)})`,
  );
}

const t0 = performance.now();
const sim = createSimulator({ seed: 42, nodes });
const ids = sim.network().nodes.map((n) => n.id);
console.log(`network of ${ids.length} nodes built in ${(performance.now() - t0).toFixed(0)} ms`);

// First touch: calendar tables and each district's event-volume history since 1970 (cached after).
measure('warm-up, 1 minute per node', () => {
  let rows = 0;
  for (const id of ids) rows += sim.columns(id, from, from + 60_000).length;
  return rows;
});

measure(`columns, ${ids.length} nodes × ${days} days × 1 min`, () => {
  let rows = 0;
  for (const id of ids) rows += sim.columns(id, from, to).length;
  return rows;
});

const sample = ids.slice(0, Math.max(1, Math.floor(ids.length / 10)));
measure(
  `Reading objects, ${sample.length} nodes × ${days} days`,
  () => sim.readings(from, to, { nodeIds: sample }).length,
);

measure('readIngested, one 30-minute cycle', () => {
  const cycleEnd = to;
  return sim.readIngested({
    fromIngestMs: cycleEnd - 1_800_000,
    toIngestMs: cycleEnd,
    minTsMs: cycleEnd - 72 * 3_600_000,
  }).readings.length;
});
