/**
 * Random leak schedules for held-out evaluations: leaks at pipes of L-Town the detectors were never looked at
 * on, drawn the way BattLeDIM's schedules were made, written in the competition's YAML (leaks-2018.yaml's
 * format) so `eval:leaks --schedule FILE` replays them like any other.
 *
 *   npm run eval:leaks:schedule -- --seed 11 [--leaks 6] [--from 2018-01-01] [--to 2018-04-01]
 *                                  [--template ../shared/data/ltown/leaks-2018.yaml] [--out FILE]
 *
 * Distributions (RANGES below; the competition's generator is not published, so they are read off its 2018
 * schedule, widened a little, and its paper: leaks anywhere in the network, about half of them incipient):
 * - pipe: uniform over the model's [PIPES], without repeats and without the template's own leak pipes (its
 *   2019 evaluation year used other pipes than 2018);
 * - diameter: uniform 8–24 mm (2018: 8.8–22.9 mm);
 * - kind: incipient with probability ½ (2018: 8 of 14);
 * - start: uniform on the 5-minute grid over [from, to − 1 day);
 * - abrupt: peak = start; repaired 7–28 days later, uniform (2018: 10.7–25.6 d);
 * - incipient: peak 3–110 days after the start, uniform (2018: 3.4–108 d); never repaired within the year with
 *   probability ⅓ (2018: 4 of 8), else repaired 3–21 days after the peak, uniform (2018: 6–14 d);
 *   ends after the year's end are clipped to it.
 * The sensor layout and the year (times) are the template's: only the leaks change. Seeded: the same
 * arguments give the same file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { seededRandom } from '../../shared/domain/random.ts';
import { type LeakSchedule, parseSchedule, type ScheduledLeak, scheduleTime } from './schedule.ts';

const STEP_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

export const RANGES = {
  diameterM: [0.008, 0.024],
  incipientShare: 0.5,
  abruptDays: [7, 28],
  peakDays: [3, 110],
  unrepairedShare: 1 / 3,
  repairAfterPeakDays: [3, 21],
} as const;

/** The pipe ids of an EPANET model's [PIPES] section (pumps and valves are not pipes). */
export function pipesOf(inpText: string): string[] {
  const pipes: string[] = [];
  let inPipes = false;
  for (const raw of inpText.split(/\r?\n/)) {
    const line = raw.split(';')[0]!.trim();
    if (line.startsWith('[')) {
      inPipes = line.toUpperCase() === '[PIPES]';
      continue;
    }
    if (inPipes && line) pipes.push(line.split(/\s+/)[0]!);
  }
  return pipes;
}

export interface RandomScheduleOptions {
  /** The model's pipes (pipesOf). */
  pipes: string[];
  /** Gives the sensor layout and the year; its leak pipes are not drawn. */
  template: LeakSchedule;
  seed: number;
  leaks: number;
  /** Leaks start in [fromMs, toMs − 1 day). */
  fromMs: number;
  toMs: number;
}

export function randomSchedule(o: RandomScheduleOptions): LeakSchedule {
  const used = new Set(o.template.leaks.map((l) => l.pipe));
  const pool = o.pipes.filter((p) => !used.has(p));
  if (o.leaks > pool.length) throw new Error(`${o.leaks} leaks but only ${pool.length} pipes to draw from`);
  if (!(o.toMs - DAY_MS > o.fromMs)) throw new Error('the span for leak starts must be longer than a day');
  const rnd = seededRandom(o.seed);
  const uniform = ([lo, hi]: readonly [number, number]) => lo + (hi - lo) * rnd();
  const onGrid = (ms: number) => Math.floor(ms / STEP_MS) * STEP_MS;
  const yearEnd = o.template.endMs;
  const leaks: ScheduledLeak[] = [];
  for (let i = 0; i < o.leaks; i++) {
    const pipe = pool.splice(Math.floor(rnd() * pool.length), 1)[0]!;
    // Diameters rounded like the competition's (five significant digits, in m).
    const diameterM = Number(uniform(RANGES.diameterM).toPrecision(5));
    const kind = rnd() < RANGES.incipientShare ? 'incipient' : 'abrupt';
    const startMs = onGrid(uniform([o.fromMs, o.toMs - DAY_MS]));
    let peakMs = startMs;
    let endMs: number;
    if (kind === 'abrupt') endMs = onGrid(startMs + uniform(RANGES.abruptDays) * DAY_MS);
    else {
      peakMs = Math.min(onGrid(startMs + uniform(RANGES.peakDays) * DAY_MS), yearEnd);
      const repaired = rnd() >= RANGES.unrepairedShare;
      endMs = repaired ? onGrid(peakMs + uniform(RANGES.repairAfterPeakDays) * DAY_MS) : yearEnd;
    }
    leaks.push({ pipe, startMs, endMs: Math.min(endMs, yearEnd), diameterM, kind, peakMs });
  }
  leaks.sort((a, b) => a.startMs - b.startMs);
  return { ...o.template, leaks };
}

const fmt = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** The schedule in the competition's YAML (leaks-2018.yaml's layout), readable by parseSchedule. */
export function scheduleYaml(s: LeakSchedule, comment: string): string {
  const list = (key: string, names: string[]) => `${key}:\n${names.map((n) => `- ${n}`).join('\n')}\n`;
  return [
    `Comments:\n  - ${comment}\n`,
    `times:\n  StartTime: ${fmt(s.startMs)}\n  EndTime: ${fmt(s.endMs)}\n`,
    'leakages:\n- # linkID, startTime, endTime, leakDiameter (m), leakType, peakTime\n' +
      s.leaks
        .map(
          (l) =>
            `- ${l.pipe}, ${fmt(l.startMs)}, ${fmt(l.endMs)}, ${l.diameterM}, ${l.kind}, ${fmt(l.peakMs)}\n`,
        )
        .join(''),
    list('pressure_sensors', s.sensors.pressure),
    list('flow_sensors', s.sensors.flow),
    list('level_sensors', s.sensors.level),
    list('amrs', s.sensors.amr),
  ].join('\n');
}

async function main(): Promise<void> {
  const ltown = (f: string) => new URL(`../../../shared/data/ltown/${f}`, import.meta.url).pathname;
  const { values: args } = parseArgs({
    options: {
      seed: { type: 'string' },
      leaks: { type: 'string', default: '6' },
      from: { type: 'string', default: '2018-01-01 00:00' },
      to: { type: 'string', default: '2018-04-01 00:00' },
      template: { type: 'string', default: ltown('leaks-2018.yaml') },
      inp: { type: 'string', default: ltown('L-TOWN.inp') },
      out: { type: 'string' },
    },
  });
  if (!args.seed) throw new Error('--seed is required (the schedule is drawn from it)');
  const time = (t: string) => scheduleTime(t.length === 10 ? `${t} 00:00` : t);
  const schedule = randomSchedule({
    pipes: pipesOf(readFileSync(args.inp, 'utf8')),
    template: parseSchedule(readFileSync(args.template, 'utf8'), args.template),
    seed: Number(args.seed),
    leaks: Number(args.leaks),
    fromMs: time(args.from),
    toMs: time(args.to),
  });
  const text = scheduleYaml(
    schedule,
    `random schedule, drawn by npm run eval:leaks:schedule -- --seed ${args.seed} --leaks ${args.leaks} --from ${args.from} --to ${args.to}`,
  );
  if (args.out) writeFileSync(args.out, text);
  else process.stdout.write(text);
}

if (import.meta.main) await main();
