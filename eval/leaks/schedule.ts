/**
 * A BattLeDIM leak schedule (the competition's YAML, e.g. ../shared/data/ltown/leaks-2018.yaml): the
 * leaks (pipe, start, end, diameter, abrupt or incipient, peak) and the sensor layout. Times in the file
 * have no zone; the competition's data have no daylight saving, so they are read as UTC.
 */
import { parse } from 'yaml';
import { z } from 'zod';

export interface ScheduledLeak {
  pipe: string;
  startMs: number;
  /** Repair time; the schedule's last step means "not repaired within the year". */
  endMs: number;
  diameterM: number;
  kind: 'abrupt' | 'incipient';
  /** When an incipient leak reaches its full size (= start for abrupt ones). */
  peakMs: number;
}

export interface SensorLayout {
  pressure: string[];
  flow: string[];
  level: string[];
  amr: string[];
}

export interface LeakSchedule {
  startMs: number;
  endMs: number;
  leaks: ScheduledLeak[];
  sensors: SensorLayout;
}

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/** `2018-01-08 13:30` (the schedule's form, no zone) as UTC epoch ms. */
export function scheduleTime(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (!m) throw new ScheduleError(`not a schedule time (YYYY-MM-DD HH:MM): "${text}"`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0));
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

const names = z.array(z.coerce.string()).default([]);
const File = z.object({
  times: z.object({ StartTime: z.coerce.string(), EndTime: z.coerce.string() }),
  leakages: z.array(z.string().nullable()).default([]),
  pressure_sensors: names,
  flow_sensors: names,
  level_sensors: names,
  amrs: names,
});

function leakOf(line: string, where: string): ScheduledLeak {
  const f = line.split(',').map((s) => s.trim());
  if (f.length !== 6) throw new ScheduleError(`${where}: a leak has 6 fields, got ${f.length}: "${line}"`);
  const [pipe, start, end, diameter, kind, peak] = f as [string, string, string, string, string, string];
  const diameterM = Number(diameter);
  if (!(diameterM > 0)) throw new ScheduleError(`${where}: leak diameter must be positive: "${diameter}"`);
  if (kind !== 'abrupt' && kind !== 'incipient')
    throw new ScheduleError(`${where}: leak type must be abrupt or incipient: "${kind}"`);
  const startMs = scheduleTime(start);
  const endMs = scheduleTime(end);
  const peakMs = kind === 'abrupt' ? startMs : scheduleTime(peak);
  if (!(endMs > startMs) || peakMs < startMs)
    throw new ScheduleError(`${where}: needs start < end and start ≤ peak: "${line}"`);
  return { pipe, startMs, endMs, diameterM, kind, peakMs };
}

/** Parses a schedule file's text; `where` names it in errors. */
export function parseSchedule(text: string, where = 'schedule'): LeakSchedule {
  const parsed = File.safeParse(parse(text));
  if (!parsed.success) throw new ScheduleError(`${where}: ${z.prettifyError(parsed.error)}`);
  const f = parsed.data;
  // The competition's files start the list with a comment entry (`- # linkID, startTime, …`): a null.
  const leaks = f.leakages.flatMap((l, i) => (l ? [leakOf(l, `${where} leak ${i}`)] : []));
  return {
    startMs: scheduleTime(f.times.StartTime),
    endMs: scheduleTime(f.times.EndTime),
    leaks,
    sensors: { pressure: f.pressure_sensors, flow: f.flow_sensors, level: f.level_sensors, amr: f.amrs },
  };
}

/** Full size (1) from the peak on, growing linearly from 0 at the start for incipient leaks; 0 outside. */
export function leakSizeAt(leak: ScheduledLeak, tMs: number): number {
  if (tMs < leak.startMs || tMs >= leak.endMs) return 0;
  if (leak.kind === 'abrupt' || tMs >= leak.peakMs) return 1;
  return (tMs - leak.startMs) / (leak.peakMs - leak.startMs);
}
