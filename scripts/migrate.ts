/**
 * `npm run migrate`: applies pending schema migrations to DATABASE_URL (versioned, idempotent,
 * serialised by an advisory lock; TimescaleDB used when the extension is available). The local
 * mode and the functions run them automatically at start.
 */
import { connect } from '../shared/adapters/postgres/client.ts';
import { MIGRATIONS, migrate } from '../shared/adapters/postgres/migrations.ts';
import { ConfigError, loadConfig, requireDatabaseUrl } from '../shared/config.ts';

try {
  const sql = connect(requireDatabaseUrl(loadConfig()), { max: 1 });
  const { applied, timescale } = await migrate(sql);
  await sql.end();
  console.log(
    applied.length > 0
      ? `applied ${applied.map((v) => `${v} (${MIGRATIONS.find((m) => m.version === v)?.name})`).join(', ')}`
      : 'schema is up to date',
  );
  console.log(
    timescale
      ? 'TimescaleDB: hypertables with compression and retention'
      : 'plain PostgreSQL: native partitions',
  );
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}
