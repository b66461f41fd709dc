/**
 * `npm run cycle -- …`: run the processing cycle by hand, on whatever the configuration points at
 * (embedded defaults need DATABASE_URL; see README).
 *
 *   npm run cycle -- --once                          one cycle ending now
 *   npm run cycle -- --once --at 2026-06-01T08:00Z   one cycle ending at a given time
 *   npm run cycle -- --backfill --from 2026-05-01 --to 2026-05-08 [--step-hours 6]
 *   npm run cycle -- --backfill --from 2026-05-01 --to 2026-05-08 --bulk
 *   npm run cycle -- --maintenance                   retention now
 *
 * A backfill runs the ordinary cycle window by window (--step-hours) by default: everything the
 * cycle computes, including the per-instant analytics (anomalies, data quality, forecasts, water
 * balance) over the history. --bulk takes the bulk path instead (shared/cycle/backfill/),
 * tens of times faster: it writes the 5m/1h/1d partials (merged with what cycles stored), node
 * watermarks, latest values and applied_batches, and skips the per-instant analytics over history.
 * One ordinary cycle ending at --to follows; it applies no readings (the watermarks are at --to)
 * and refreshes the served views: window metrics, hot keys, the network rollup.
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { createLocalStack } from '../dev/local-stack.ts';
import { ConfigError, loadConfig } from '../shared/config.ts';
import {
  BulkBackfillConflictError,
  BulkBackfillRefusedError,
  bulkBackfill,
} from '../shared/cycle/backfill/index.ts';
import { runMaintenance } from '../shared/cycle/maintenance/index.ts';
import { createLogger } from '../shared/log.ts';

const { values: args } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    backfill: { type: 'boolean', default: false },
    maintenance: { type: 'boolean', default: false },
    at: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'step-hours': { type: 'string', default: '6' },
    bulk: { type: 'boolean', default: false },
  },
});

function time(name: string, value: string | undefined): number {
  const ms = Date.parse(value ?? '');
  if (!Number.isFinite(ms)) {
    console.error(`--${name} must be an ISO date or time (got ${value ?? 'nothing'})`);
    process.exit(2);
  }
  return ms;
}

if (
  [args.once, args.backfill, args.maintenance].filter(Boolean).length !== 1 ||
  (args.bulk && !args.backfill)
) {
  console.error('say one of --once, --backfill or --maintenance (see the header of scripts/cycle.ts)');
  process.exit(2);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
process.env.LOG_LEVEL ??= 'warning';
const stack = await createLocalStack(config, createLogger({ level: config.LOG_LEVEL }));
try {
  if (args.maintenance) {
    console.log(await runMaintenance({ ...stack.storage, logger: stack.aggregator.logger }));
  } else if (args.once) {
    const at = args.at ? time('at', args.at) : Date.now();
    const r = await stack.cycle(at);
    console.log(`run ${r.runId}: ${r.nodes} nodes, ${r.messages} messages, ${r.readings} readings`);
  } else if (args.bulk) {
    const from = time('from', args.from);
    const to = time('to', args.to);
    if (!(to > from)) {
      console.error('--to must be after --from');
      process.exit(2);
    }
    const bar = new cliProgress.SingleBar(
      { format: '{bar} {percentage}% | {value}/{total} nodes | {readings} readings | {eta_formatted} left' },
      cliProgress.Presets.shades_classic,
    );
    bar.start(1, 0, { readings: 0 });
    const r = await bulkBackfill(
      { ...stack.storage, source: stack.dispatcher.source, settings: stack.dispatcher.settings },
      {
        fromMs: from,
        toMs: to,
        onProgress: (p) => {
          bar.setTotal(p.nodesTotal);
          bar.update(p.nodesDone, { readings: p.readings.toLocaleString('en') });
        },
      },
    ).finally(() => bar.stop());
    const seconds = r.elapsedMs / 1000;
    console.log(
      `bulk backfill ${r.runId}: ${r.applied} nodes applied, ${r.alreadyApplied} already applied; ` +
        `${r.readings.toLocaleString('en')} readings in ${seconds.toFixed(1)} s ` +
        `(${Math.round(r.readings / seconds).toLocaleString('en')}/s); rejected ${JSON.stringify(r.rejected)}`,
    );
    const refresh = await stack.cycle(to, from);
    console.log(`served views refreshed by run ${refresh.runId}`);
  } else {
    const from = time('from', args.from);
    const to = time('to', args.to);
    const step = Number(args['step-hours']) * 3_600_000;
    if (!(to > from) || !(step > 0)) {
      console.error('--to must be after --from, and --step-hours positive');
      process.exit(2);
    }
    const steps = Math.ceil((to - from) / step);
    const bar = new cliProgress.SingleBar(
      {
        format: '{bar} {percentage}% | {value}/{total} windows | {readings} readings | {eta_formatted} left',
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(steps, 0, { readings: 0 });
    let readings = 0;
    for (let i = 1; i <= steps; i++) {
      const r = await stack.cycle(Math.min(to, from + i * step), from);
      readings += r.readings;
      bar.update(i, { readings });
    }
    bar.stop();
  }
} catch (err) {
  // A refused or interrupted bulk backfill says what to do; anything else is a bug: show the stack.
  if (!(err instanceof BulkBackfillRefusedError || err instanceof BulkBackfillConflictError)) throw err;
  console.error(err.message);
  process.exitCode = 1;
} finally {
  await stack.close();
}
