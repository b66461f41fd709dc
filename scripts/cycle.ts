/**
 * `npm run cycle -- …`: run the processing cycle by hand, on whatever the configuration points at
 * (embedded defaults need DATABASE_URL; see README).
 *
 *   npm run cycle -- --once                          one cycle ending now
 *   npm run cycle -- --once --at 2026-06-01T08:00Z   one cycle ending at a given time
 *   npm run cycle -- --backfill --from 2026-05-01 --to 2026-05-08 [--step-hours 6]
 *   npm run cycle -- --maintenance                   retention now
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { ConfigError, loadConfig } from '../shared/config.ts';
import { runMaintenance } from '../shared/cycle/maintenance.ts';
import { createLogger } from '../shared/log.ts';
import { createLocalStack } from './lib/local-stack.ts';

const { values: args } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    backfill: { type: 'boolean', default: false },
    maintenance: { type: 'boolean', default: false },
    at: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    'step-hours': { type: 'string', default: '6' },
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

if ([args.once, args.backfill, args.maintenance].filter(Boolean).length !== 1) {
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
} finally {
  await stack.close();
}
