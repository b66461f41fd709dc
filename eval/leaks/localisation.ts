/**
 * Scores where the system said each detected leak was, as BattLeDIM scored localisation: the pipe distance
 * (shortest path along the network's links, by the .inp's pipe lengths; pumps and valves count 0 m) from the
 * best candidate node of the anomaly credited with the detection to the leak's pipe (its nearer end; 0 when
 * the candidate is an end of it), a hit within 300 m. Beside it, the nearest of the top candidates (what a
 * crew checking the list in order would reach). The anomaly's first localisation (what a crew was sent on)
 * and its latest refresh are scored apart.
 */
import { Project, Workspace } from 'epanet-js';
import type { AnomalyPayload } from '../../shared/anomaly/listed.ts';
import type { LeakOutcome } from './score.ts';

const CountType = { LinkCount: 2 };
const LinkType = { CVPipe: 0, Pipe: 1 };
const LinkProperty = { Length: 1 };

/** The network's links as a graph: node ids and, per node, its neighbours with the link's length (m). */
export interface PipeGraph {
  /** Adjacency: node → [neighbour, length m][]. */
  edges: Map<string, [string, number][]>;
  /** Link id → its end nodes. */
  ends: Map<string, [string, string]>;
}

export function graphOf(
  links: readonly { id: string; from: string; to: string; lengthM: number }[],
): PipeGraph {
  const edges = new Map<string, [string, number][]>();
  const ends = new Map<string, [string, string]>();
  const add = (a: string, b: string, l: number) => edges.set(a, [...(edges.get(a) ?? []), [b, l]]);
  for (const l of links) {
    add(l.from, l.to, l.lengthM);
    add(l.to, l.from, l.lengthM);
    ends.set(l.id, [l.from, l.to]);
  }
  return { edges, ends };
}

/** The links of an EPANET model (pipes by their length, pumps and valves as 0 m). */
export async function readPipeGraph(inpText: string): Promise<PipeGraph> {
  const ws = new Workspace();
  await ws.loadModule();
  ws.writeFile('net.inp', inpText);
  const p = new Project(ws);
  p.open('net.inp', 'net.rpt', 'net.bin');
  const links: { id: string; from: string; to: string; lengthM: number }[] = [];
  for (let l = 1; l <= p.getCount(CountType.LinkCount); l++) {
    const { node1, node2 } = p.getLinkNodes(l);
    const type = p.getLinkType(l);
    const pipe = type === LinkType.Pipe || type === LinkType.CVPipe;
    links.push({
      id: p.getLinkId(l),
      from: p.getNodeId(node1),
      to: p.getNodeId(node2),
      lengthM: pipe ? p.getLinkValue(l, LinkProperty.Length) : 0,
    });
  }
  p.close();
  return graphOf(links);
}

/** Shortest path lengths (m) from `source` to every node it reaches (Dijkstra with a binary heap). */
export function distancesFrom(g: PipeGraph, source: string): Map<string, number> {
  const dist = new Map<string, number>([[source, 0]]);
  const heap: [number, string][] = [[0, source]];
  const push = (item: [number, string]) => {
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]![0] <= heap[i]![0]) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  };
  const pop = (): [number, string] => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l]![0] < heap[m]![0]) m = l;
        if (r < heap.length && heap[r]![0] < heap[m]![0]) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i]!, heap[m]!];
        i = m;
      }
    }
    return top;
  };
  while (heap.length > 0) {
    const [d, n] = pop();
    if (d > (dist.get(n) ?? Number.POSITIVE_INFINITY)) continue;
    for (const [m, l] of g.edges.get(n) ?? []) {
      const next = d + l;
      if (next < (dist.get(m) ?? Number.POSITIVE_INFINITY)) {
        dist.set(m, next);
        push([next, m]);
      }
    }
  }
  return dist;
}

/** Pipe distance (m) from a node to a link (its nearer end); Infinity when not connected. */
export function distanceToPipe(g: PipeGraph, node: string, pipe: string): number {
  const ends = g.ends.get(pipe);
  if (!ends) throw new Error(`pipe ${pipe} is not in the network`);
  const d = distancesFrom(g, node);
  return Math.min(d.get(ends[0]) ?? Number.POSITIVE_INFINITY, d.get(ends[1]) ?? Number.POSITIVE_INFINITY);
}

export const HIT_M = 300;

export interface LocatedLeak {
  pipe: string;
  /** The credited anomaly's best candidate, and its pipe distance to the leak (null: the anomaly had none). */
  best: string | null;
  distanceM: number | null;
  /** The nearest of the anomaly's top candidates to the leak. */
  nearestOfTopM: number | null;
  score: number | null;
}

export interface LocalisationScore {
  leaks: LocatedLeak[];
  detected: number;
  located: number;
  within: number;
  withinTop: number;
  medianM: number | null;
}

const median = (xs: number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Which of an anomaly's localisations is scored: the latest refresh, or the first (what a crew was sent on;
 * an anomaly stored before the first was kept has only its latest, scored as both).
 */
export type Which = 'latest' | 'first';

export function scoreLocalisation(
  outcomes: readonly LeakOutcome[],
  anomalies: readonly AnomalyPayload[],
  g: PipeGraph,
  which: Which = 'latest',
): LocalisationScore {
  const byId = new Map(anomalies.map((a) => [a.id, a]));
  const leaks: LocatedLeak[] = [];
  for (const o of outcomes) {
    if (o.anomalyId === null) continue;
    const l = byId.get(o.anomalyId)?.locations;
    const found = (which === 'first' ? (l?.first ?? l) : l)?.candidates ?? [];
    const distances = found.map((c) => distanceToPipe(g, c.node, o.leak.pipe));
    leaks.push({
      pipe: o.leak.pipe,
      best: found[0]?.node ?? null,
      distanceM: distances[0] ?? null,
      nearestOfTopM: distances.length > 0 ? Math.min(...distances) : null,
      score: found[0]?.score ?? null,
    });
  }
  const located = leaks.filter((l) => l.distanceM !== null);
  return {
    leaks,
    detected: leaks.length,
    located: located.length,
    within: located.filter((l) => l.distanceM! <= HIT_M).length,
    withinTop: located.filter((l) => l.nearestOfTopM! <= HIT_M).length,
    medianM: median(located.map((l) => l.distanceM!)),
  };
}

export function printLocalisation(s: LocalisationScore, which: Which = 'latest'): void {
  console.log(`\n${which === 'first' ? 'First' : 'Latest'} localisation of the credited anomaly:`);
  console.log('\n| leak | best candidate | pipe distance | correlation | nearest of the top 5 |');
  console.log('|---|---|---:|---:|---:|');
  const m = (v: number | null) =>
    v === null ? '—' : Number.isFinite(v) ? `${v.toFixed(0)} m` : 'not connected';
  for (const l of s.leaks) {
    console.log(
      `| ${l.pipe} | ${l.best ?? 'none'} | ${m(l.distanceM)} | ${l.score?.toFixed(2) ?? '—'} | ${m(l.nearestOfTopM)} |`,
    );
  }
  const share = (k: number) => (s.detected > 0 ? `${((100 * k) / s.detected).toFixed(0)} %` : '—');
  console.log(
    `\nLocalisation (${which}): ${s.located} of ${s.detected} detected leaks given candidates; best candidate within ${HIT_M} m of ` +
      `the leak's pipe for ${s.within} of ${s.detected} (${share(s.within)}), one of the top 5 for ${s.withinTop} ` +
      `(${share(s.withinTop)}); median pipe distance ${s.medianM === null ? '—' : `${s.medianM.toFixed(0)} m`}.`,
  );
}
