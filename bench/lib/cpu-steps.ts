/**
 * Where a process's CPU went, by step, from a V8 CPU profile (`--cpu-prof`) of a bundle that esbuild
 * built unminified: its `// shared/…` module comments map each line of the bundle to a source module.
 * Each sample inside [fromUs, toUs] (the monotonic clock V8 and process.hrtime share on Linux) goes to
 * the first step, leaf to root, that a frame of its stack belongs to (a forecast model's code called by
 * the refresh is the refresh's); samples with no such frame go to the module of the innermost bundle
 * frame, or to the library (node_modules) or V8 state they were in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The entry file of a built function folder (package.json's "main": index.mjs since issue 14, else index.js). */
export function bundleEntry(dir: string): string {
  const { main } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { main?: string };
  return join(dir, main ?? 'index.js');
}

/** Steps the analytics issue asks a cost for, each as the source modules that are its own. */
export const STEPS: { name: string; modules: RegExp }[] = [
  {
    name: 'forecast refresh',
    modules:
      /^shared\/(forecast\/|cycle\/forecasting\/|cycle\/aggregate\/node-forecast\.ts|cycle\/rollup\/district-forecast\.ts)/,
  },
  { name: 'consumption patterns', modules: /^shared\/(analytics\/patterns\.ts|cycle\/rollup\/patterns\.ts)/ },
  { name: 'KPI reports', modules: /^shared\/(analytics\/kpi-report\.ts|cycle\/rollup\/reports\.ts)/ },
];

/** The bundle's module boundaries: [first line (0-based), module path], in order. */
function moduleMap(bundlePath: string): [number, string][] {
  const lines = readFileSync(bundlePath, 'utf8').split('\n');
  const map: [number, string][] = [];
  lines.forEach((l, i) => {
    // A checkout whose node_modules is a link (a worktree's) has its packages' sections named through
    // it (`// ../main/node_modules/…`): without the prefix they would count as the module before them.
    const m = /^\/\/ (?:(?:\.\.\/)+[^/\s]+\/)?((?:shared|functions|node_modules)\/\S+\.[cm]?[jt]s)$/.exec(l);
    if (m) map.push([i, m[1]!]);
  });
  return map;
}

function moduleAt(map: [number, string][], line: number): string | undefined {
  let lo = 0;
  let hi = map.length - 1;
  let found: string | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid]![0] <= line) {
      found = map[mid]![1];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Sampled milliseconds per category in the window; `busy` excludes idle. */
export function cpuBySteps(
  profilePath: string,
  bundlePath: string,
  fromUs: number,
  toUs: number,
): { byCategory: Map<string, number>; busyMs: number } {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as Profile;
  const map = moduleMap(bundlePath);
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const categoryOf = new Map<number, string>();
  const classify = (leaf: number): string => {
    const cached = categoryOf.get(leaf);
    if (cached) return cached;
    const stack: ProfileNode[] = [];
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) stack.push(byId.get(id)!);
    const modules = stack.map((n) =>
      /\/index\.m?js$/.test(n.callFrame.url) && n.callFrame.url.includes('/dist/')
        ? moduleAt(map, n.callFrame.lineNumber)
        : undefined,
    );
    let category: string | undefined;
    for (const step of STEPS) if (modules.some((m) => m && step.modules.test(m))) category ??= step.name;
    if (!category) {
      const inner = modules.find((m) => m?.startsWith('shared/'));
      if (inner)
        category = inner
          .split('/')
          .slice(0, inner.startsWith('shared/cycle/') ? 3 : 2)
          .join('/');
    }
    if (!category) {
      const frame = stack[0]!.callFrame;
      const lib = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)?.[1];
      category = lib ?? (frame.url.startsWith('node:') ? 'node:internal' : frame.functionName || '(other)');
    }
    categoryOf.set(leaf, category);
    return category;
  };
  const byCategory = new Map<string, number>();
  let t = profile.startTime;
  let busyMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    // The delta to the next sample is the time this one stands for.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const c = classify(profile.samples[i]!);
    byCategory.set(c, (byCategory.get(c) ?? 0) + ms);
    if (c !== '(idle)') busyMs += ms;
  }
  return { byCategory, busyMs };
}

const STEP_NAMES = STEPS.map((s) => s.name);

/**
 * The report of an aggregator profile (the one `.cpuprofile` in `dir`) over [fromUs, toUs]: CPU ms per
 * node of each step and of the rest by module, the sampled main-thread time scaled to the `cpuMs` the
 * process used (from /proc).
 */
export function stepReport(
  dir: string,
  bundlePath: string,
  w: { fromUs: number; toUs: number; cpuMs: number; nodes: number },
): string[] {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return ['  (no CPU profile was written)'];
  const { byCategory, busyMs } = cpuBySteps(join(dir, file), bundlePath, w.fromUs, w.toUs);
  const share = (ms: number) => ((ms / busyMs) * w.cpuMs) / w.nodes;
  const rest = [...byCategory]
    .filter(([k]) => k !== '(idle)' && !STEP_NAMES.includes(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12);
  return [
    `  aggregator CPU per node by step (${w.nodes} nodes; ${(busyMs / 1000).toFixed(1)} s sampled busy, scaled to its ${(w.cpuMs / 1000).toFixed(1)} s of CPU):`,
    ...STEP_NAMES.map((k) => `    ${k.padEnd(22)} ${share(byCategory.get(k) ?? 0).toFixed(3)} ms per node`),
    `    the rest, by module: ${rest.map(([k, v]) => `${k} ${share(v).toFixed(2)}`).join(', ')}`,
  ];
}
