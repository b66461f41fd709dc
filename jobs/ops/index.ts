/**
 * The operations job (a Cloud Run job in the VPC, terraform/jobs.tf), one command per execution:
 *
 *   migrate                                   apply pending schema migrations (before traffic moves)
 *   first-admin-key --public-key DER_B64URL   make the tenant's first admin key, logged only sealed
 *   backfill --from ISO --to ISO              bulk backfill of readings ingested in (from, to], of this
 *                                             task's shard of nodes (CLOUD_RUN_TASK_INDEX of
 *                                             CLOUD_RUN_TASK_COUNT; terraform/backfill.tf, `npm run backfill`)
 *
 * It logs one JSON line per outcome (event ops.migrated, ops.first_admin_key, ops.backfilled) that `npm run deploy`
 * reads back, and exits non-zero on failure so the execution fails.
 */
import { parseArgs } from 'node:util';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import { connect } from '../../shared/adapters/postgres/client.ts';
import { migrate } from '../../shared/adapters/postgres/migrations.ts';
import { type Config, loadConfig, requireDatabaseUrl } from '../../shared/config.ts';
import { bulkBackfill } from '../../shared/cycle/backfill/index.ts';
import { shardFromEnv } from '../../shared/cycle/backfill/plan.ts';
import { createLogger, type Logger, type Sink } from '../../shared/log.ts';
import { ensureFirstAdminKey } from '../../shared/ops/first-admin-key.ts';
import { createSource, openStorage } from '../../shared/wiring/cycle.ts';

const COMMANDS = 'migrate | first-admin-key --public-key KEY | backfill --from ISO --to ISO';

function isoTime(name: string, value: string | undefined): number {
  const ms = Date.parse(value ?? '');
  if (!value || !Number.isFinite(ms)) throw new Error(`backfill needs --${name} as an ISO date or time`);
  return ms;
}

/** One task's shard of the bulk backfill; its committed chunks stay applied, and a rerun resumes. */
async function backfillTask(
  config: Config,
  env: NodeJS.ProcessEnv,
  range: { fromMs: number; toMs: number; writers?: number },
  logger: Logger,
) {
  const shard = shardFromEnv(env);
  const storage = await openStorage(config);
  try {
    const source = await createSource(config, storage.sql);
    const result = await bulkBackfill(
      {
        stores: storage.stores,
        source,
        settings: {
          tenantId: config.TENANT_ID,
          latenessHorizonMs: config.LATENESS_HORIZON_HOURS * 3_600_000,
        },
        logger,
      },
      { ...range, shard },
    );
    logger.info(`shard ${shard.index} of ${shard.count}: ${result.applied} nodes applied`, {
      event: 'ops.backfilled',
      shard,
      runId: result.runId,
      nodes: result.nodes,
      applied: result.applied,
      alreadyApplied: result.alreadyApplied,
      received: result.received,
      readings: result.readings,
      durationMs: Math.round(result.elapsedMs),
    });
  } finally {
    await storage.sql.end({ timeout: 5 });
  }
}

export async function runOpsJob(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; sink?: Sink } = {},
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'public-key': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      writers: { type: 'string' },
    },
  });
  const config = loadConfig(options.env);
  const logger = createLogger({
    level: config.LOG_LEVEL,
    base: { job: 'ops' },
    ...(options.sink ? { sink: options.sink } : {}),
  });
  const command = positionals[0];
  if (command === 'backfill') {
    const fromMs = isoTime('from', values.from);
    const toMs = isoTime('to', values.to);
    if (!(toMs > fromMs)) throw new Error('backfill needs --to after --from');
    const writers = values.writers ? Number(values.writers) : undefined;
    return backfillTask(
      config,
      options.env ?? process.env,
      { fromMs, toMs, ...(writers ? { writers } : {}) },
      logger,
    );
  }
  if (command !== 'migrate' && command !== 'first-admin-key') {
    throw new Error(`unknown command ${command ?? '(none)'}: ${COMMANDS}`);
  }
  const publicKey = values['public-key'];
  if (command === 'first-admin-key' && !publicKey) throw new Error('first-admin-key needs --public-key');
  const sql = connect(requireDatabaseUrl(config), { max: 1, caCert: config.DATABASE_CA_CERT });
  try {
    if (command === 'migrate') {
      const { applied, timescale } = await migrate(sql);
      logger.info(applied.length > 0 ? `applied migrations ${applied.join(', ')}` : 'schema is up to date', {
        event: 'ops.migrated',
        applied,
        timescale,
      });
      return;
    }
    const result = await ensureFirstAdminKey(postgresKeyStore(sql), {
      tenantId: config.TENANT_ID,
      publicKeyDer: publicKey!,
      rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    });
    logger.info(result.created ? 'first admin key created (sealed)' : 'first admin key exists already', {
      event: 'ops.first_admin_key',
      ...result,
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (import.meta.main) {
  runOpsJob(process.argv.slice(2)).catch((err: unknown) => {
    createLogger().error('ops job failed', { event: 'ops.failed', err });
    process.exitCode = 1;
  });
}
