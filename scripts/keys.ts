/**
 * `npm run keys -- <command>`: API keys in the database of DATABASE_URL.
 *
 *   npm run keys -- create --tenant t --role reader|operator|admin --name "dashboard" [--rate-limit 600]
 *   npm run keys -- list [--tenant t] [--revoked]
 *   npm run keys -- revoke ID [--tenant t]
 *
 * `create` prints the key once (only its SHA-256 hash is stored). A revoked key stops working within
 * API_KEY_CACHE_SECONDS on every API instance. Add --json for machine-readable output.
 */
import { parseArgs } from 'node:util';
import { postgresKeyStore } from '../shared/adapters/postgres/api-stores.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { createKey, ROLES, type Role } from '../shared/api/auth/keys.ts';
import { ConfigError, loadConfig, requireDatabaseUrl } from '../shared/config.ts';

const USAGE = `usage: npm run keys -- create --tenant T --role ${ROLES.join('|')} --name NAME [--rate-limit N] [--json]
       npm run keys -- list [--tenant T] [--revoked] [--json]
       npm run keys -- revoke ID [--tenant T] [--json]`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      'rate-limit': { type: 'string' },
      revoked: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  const sql = connect(requireDatabaseUrl(config), { max: 1 });
  try {
    await migrate(sql);
    const store = postgresKeyStore(sql);
    const print = (human: string, data: unknown) => console.log(values.json ? JSON.stringify(data) : human);
    if (command === 'create') {
      const tenantId = values.tenant;
      const role = values.role as Role | undefined;
      if (!tenantId || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(tenantId)) {
        throw new UsageError('--tenant: required, lower-case letters, digits and dashes');
      }
      if (!role || !ROLES.includes(role)) throw new UsageError(`--role: one of ${ROLES.join(', ')}`);
      if (!values.name) throw new UsageError('--name: required (what the key is for)');
      const limit = Number(values['rate-limit'] ?? config.RATE_LIMIT_PER_MINUTE);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--rate-limit: a positive integer');
      const { record, token } = await createKey(store, {
        tenantId,
        role,
        name: values.name,
        rateLimitPerMinute: limit,
      });
      print(
        `created ${record.role} key ${record.id} for tenant ${record.tenantId} (${record.rateLimitPerMinute}/min):\n${token}\nStore it now: it is not shown again.`,
        { key: record, token },
      );
    } else if (command === 'list') {
      const keys = await store.list({ tenantId: values.tenant, includeRevoked: values.revoked });
      const rows = keys.map(
        (k) =>
          `${k.id}  ${k.tenantId}  ${k.role.padEnd(8)}  ${String(k.rateLimitPerMinute).padStart(7)}/min  ${k.revokedAt ? `revoked ${k.revokedAt}` : `last used ${k.lastUsedAt ?? 'never'}`}  ${k.name}`,
      );
      print(rows.length > 0 ? rows.join('\n') : 'no keys', keys);
    } else if (command === 'revoke') {
      const id = rest[0];
      if (!id) throw new UsageError('revoke: the key id (the part after wnm_)');
      const record = await store.revoke(id, values.tenant);
      if (!record) throw new UsageError(`no key ${id}${values.tenant ? ` in tenant ${values.tenant}` : ''}`);
      print(
        `revoked ${record.id} (${record.role}, tenant ${record.tenantId}) at ${record.revokedAt}`,
        record,
      );
    } else {
      throw new UsageError(`unknown command ${command}`);
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

main(process.argv.slice(2)).catch((err) => {
  const parseError = typeof err?.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS');
  if (err instanceof UsageError || err instanceof ConfigError || parseError) {
    console.error(err.message);
    if (!(err instanceof ConfigError)) console.error(USAGE);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
