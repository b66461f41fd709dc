/**
 * `npm run forecast`: week-ahead hourly forecasts with 80 % and 95 % intervals for your own data, made by
 * exactly the code the cycle runs at a target's first training (shared/cycle/forecasting/first-forecast.ts).
 *
 *   npm run forecast -- --inflows F.csv --origin 2022-07-18T00:00Z --out forecast.csv
 *                       [--columns dma_1,dma_3] [--timezone Europe/Rome]
 *
 * F.csv: a `timestamp` column (ISO 8601 on the hour, UTC offset given) and one column of hourly flow per
 * series — the BWDF file (`timestamp,dma_1,…,dma_10`) or a plain `timestamp,flow`. Empty cells are gaps.
 * Only the hours before `--origin` are read into the model: rows at or after it are dropped as the file is
 * parsed (tested: changing them changes nothing). The output has one row per series and forecast hour:
 * `series,timestamp,model,served_by,mean,lo80,hi80,lo95,hi95`. Weather is not used: the cycle has none.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { firstForecast } from '../shared/cycle/forecasting/first-forecast.ts';
import { HOUR_MS, type HourlySeries } from '../shared/forecast/types.ts';

const usage = `usage: npm run forecast -- --inflows F.csv --origin ISO --out O.csv [--columns a,b] [--timezone Europe/Rome]`;

function fail(message: string): never {
  console.error(`${message}\n${usage}`);
  process.exit(2);
}

/** The file's series, each up to (not including) the origin hour. */
export function readSeriesBefore(text: string, originMs: number): Map<string, HourlySeries> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  if (header[0] !== 'timestamp' || header.length < 2) {
    throw new Error('the first column must be "timestamp", followed by one column per series');
  }
  const rows: { ms: number; cells: string[] }[] = [];
  let startMs = Number.POSITIVE_INFINITY;
  for (const [i, line] of lines.slice(1).entries()) {
    const cells = line.split(',');
    const ms = Date.parse(cells[0]!.trim());
    if (!Number.isFinite(ms) || ms % HOUR_MS !== 0) {
      throw new Error(`line ${i + 2}: "${cells[0]}" is not a timestamp on the hour`);
    }
    if (ms >= originMs) continue;
    rows.push({ ms, cells });
    if (ms < startMs) startMs = ms;
  }
  const out = new Map<string, HourlySeries>();
  if (rows.length === 0) return out;
  const length = (originMs - startMs) / HOUR_MS;
  for (let c = 1; c < header.length; c++) {
    const values = new Float64Array(length).fill(Number.NaN);
    for (const r of rows) {
      const cell = r.cells[c]?.trim() ?? '';
      const v = cell === '' ? Number.NaN : Number(cell);
      if (cell !== '' && !Number.isFinite(v))
        throw new Error(`"${cell}" in column ${header[c]} is not a number`);
      values[(r.ms - startMs) / HOUR_MS] = v;
    }
    out.set(header[c]!, { startMs, values });
  }
  return out;
}

function main() {
  const { values: args } = parseArgs({
    options: {
      inflows: { type: 'string' },
      origin: { type: 'string' },
      out: { type: 'string' },
      columns: { type: 'string' },
      timezone: { type: 'string', default: 'Europe/Rome' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (args.help) {
    console.log(usage);
    return;
  }
  if (!args.inflows) fail('--inflows is required');
  if (!args.out) fail('--out is required');
  const originMs = Date.parse(args.origin ?? '');
  if (!Number.isFinite(originMs) || originMs % HOUR_MS !== 0)
    fail('--origin must be an ISO time on the hour');
  try {
    new Intl.DateTimeFormat('en', { timeZone: args.timezone });
  } catch {
    fail(`--timezone ${args.timezone} is not an IANA time zone`);
  }
  let series: Map<string, HourlySeries>;
  try {
    series = readSeriesBefore(readFileSync(args.inflows, 'utf8'), originMs);
  } catch (err) {
    fail(`${args.inflows}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const wanted = args.columns ? args.columns.split(',') : [...series.keys()];
  const lines = ['series,timestamp,model,served_by,mean,lo80,hi80,lo95,hi95'];
  const num = (x: number) => (Number.isFinite(x) ? String(Math.round(x * 1e4) / 1e4) : '');
  for (const name of wanted) {
    const history = series.get(name);
    if (!history) fail(`no column ${name} before the origin; columns: ${[...series.keys()].join(', ')}`);
    const result = firstForecast(history, { dataEndMs: originMs, timeZone: args.timezone, unit: 'L/s' });
    if (!result) {
      console.warn(`${name}: less than a day of data before the origin, no forecast`);
      continue;
    }
    const f = result.forecast;
    for (let k = 0; k < f.mean.length; k++) {
      const t = new Date(f.startMs + k * HOUR_MS).toISOString();
      lines.push(
        [
          name,
          t,
          result.modelId,
          result.servedBy,
          num(f.mean[k]!),
          num(f.lo80[k]!),
          num(f.hi80[k]!),
          num(f.lo95[k]!),
          num(f.hi95[k]!),
        ].join(','),
      );
    }
    console.log(
      `${name}: ${result.modelId} (${result.servedBy}) on ${Math.round(result.historyHours / 24)} days of data${result.note ? ` — ${result.note}` : ''}`,
    );
  }
  writeFileSync(args.out, `${lines.join('\n')}\n`);
  console.log(`wrote ${lines.length - 1} rows to ${args.out}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
