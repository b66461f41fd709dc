/**
 * The operations job (a Cloud Run job in the VPC, terraform/jobs.tf), one command per execution:
 *
 *   migrate                                   apply pending schema migrations (before traffic moves)
 *   first-admin-key --public-key DER_B64URL   make the tenant's first admin key, logged only sealed
 *
 * It logs one JSON line per outcome (event ops.migrated, ops.first_admin_key) that `npm run deploy`
 * reads back, and exits non-zero on failure so the execution fails.
 */
import { parseArgs } from 'node:util';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import { connect } from '../../shared/adapters/postgres/client.ts';
import { migrate } from '../../shared/adapters/postgres/migrations.ts';
import { loadConfig, requireDatabaseUrl } from '../../shared/config.ts';
import { createLogger, type Sink } from '../../shared/log.ts';
import { ensureFirstAdminKey } from '../../shared/ops/first-admin-key.ts';

export async function runOpsJob(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; sink?: Sink } = {},
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'public-key': { type: 'string' } },
  });
  const config = loadConfig(options.env);
  const logger = createLogger({
    level: config.LOG_LEVEL,
    base: { job: 'ops' },
    ...(options.sink ? { sink: options.sink } : {}),
  });
  const command = positionals[0];
  if (command !== 'migrate' && command !== 'first-admin-key') {
    throw new Error(`unknown command ${command ?? '(none)'}: migrate | first-admin-key --public-key KEY`);
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
