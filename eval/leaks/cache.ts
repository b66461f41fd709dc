/**
 * Generated readings cached by the hash of their inputs (network, schedule, span, seed and the generator's
 * version) under .data/eval-cache/: a year takes minutes of EPANET, a cached one loads in a second.
 * The file is a JSON header line, then every series as float32, in the header's order.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type GeneratedReadings, type GenerateOptions, generateReadings } from './generate.ts';

/** Bump when the generator's output changes for the same inputs. */
export const GENERATOR_VERSION = 1;

export function inputsHash(options: GenerateOptions, scheduleText: string): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        v: GENERATOR_VERSION,
        from: options.fromMs,
        to: options.toMs,
        seed: options.seed,
      }),
    )
    .update(options.inpText)
    .update(scheduleText)
    .digest('hex')
    .slice(0, 16);
}

interface Header {
  startMs: number;
  steps: number;
  sensors: { id: string; kind: GeneratedReadings['sensors'][number]['kind']; area: string }[];
  meanInflowLps: number;
  leakOutflowLps: Record<string, number>;
  leakArea: Record<string, string>;
  leaks: string[];
}

function encode(g: GeneratedReadings): Buffer {
  const leaks = Object.keys(g.leakSeries);
  const header: Header = {
    startMs: g.startMs,
    steps: g.steps,
    sensors: g.sensors.map(({ id, kind, area }) => ({ id, kind, area })),
    meanInflowLps: g.meanInflowLps,
    leakOutflowLps: g.leakOutflowLps,
    leakArea: g.leakArea,
    leaks,
  };
  const series = [...g.sensors.map((s) => s.values), ...leaks.map((l) => g.leakSeries[l]!)];
  const head = Buffer.from(`${JSON.stringify(header)}\n`);
  const pad = (4 - (head.length % 4)) % 4;
  return Buffer.concat([
    head,
    Buffer.alloc(pad, 0x20),
    ...series.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
  ]);
}

function decode(buf: Buffer): GeneratedReadings {
  const nl = buf.indexOf(0x0a);
  const header = JSON.parse(buf.subarray(0, nl).toString()) as Header;
  let offset = nl + 1;
  offset += (4 - (offset % 4)) % 4;
  const body = new Uint8Array(buf.buffer, buf.byteOffset + offset, buf.length - offset).slice();
  const all = new Float32Array(body.buffer);
  const at = (k: number) => all.subarray(k * header.steps, (k + 1) * header.steps);
  return {
    startMs: header.startMs,
    steps: header.steps,
    sensors: header.sensors.map((s, k) => ({ ...s, values: at(k) })),
    meanInflowLps: header.meanInflowLps,
    leakOutflowLps: header.leakOutflowLps,
    leakArea: header.leakArea,
    leakSeries: Object.fromEntries(header.leaks.map((l, k) => [l, at(header.sensors.length + k)])),
  };
}

export const DEFAULT_CACHE_DIR = new URL('../../.data/eval-cache/', import.meta.url).pathname;

/** The readings for these inputs: from the cache when there, else generated and cached. */
export async function cachedReadings(
  options: GenerateOptions,
  scheduleText: string,
  cacheDir = DEFAULT_CACHE_DIR,
): Promise<{ readings: GeneratedReadings; cached: boolean; path: string }> {
  const path = join(cacheDir, `ltown-${inputsHash(options, scheduleText)}.bin`);
  const hit = await readFile(path).catch(() => null);
  if (hit) return { readings: decode(hit), cached: true, path };
  const readings = await generateReadings(options);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, encode(readings));
  await rename(tmp, path);
  return { readings, cached: false, path };
}
