/**
 * The development key `npm start` (or API_DEV_MODE) prints: an admin key of the default tenant,
 * created once and kept in a file (mode 0600) beside the local data, so every start prints the same
 * key for as long as it is live in the database. Never used in the cloud (API_DEV_MODE is off there).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Sql } from '../../adapters/postgres/client.ts';
import { createKey, parseKey, secretMatches } from './keys.ts';

export const DEV_KEY_FILE = '.data/dev-api-key';

export async function ensureDevKey(
  sql: Sql,
  options: { tenantId: string; file?: string; rateLimitPerMinute?: number },
): Promise<{ token: string; created: boolean }> {
  const file = options.file ?? DEV_KEY_FILE;
  let saved: string | undefined;
  try {
    saved = readFileSync(file, 'utf8').trim();
  } catch {
    saved = undefined;
  }
  const parsed = saved ? parseKey(saved) : null;
  if (saved && parsed) {
    const rows = await sql<{ secret_hash: string }[]>`
      select secret_hash from api_keys
      where id = ${parsed.id} and tenant_id = ${options.tenantId} and role = 'admin' and revoked_at is null`;
    if (rows[0] && secretMatches(parsed.secret, rows[0].secret_hash)) return { token: saved, created: false };
  }
  const { token } = await createKey(sql, {
    tenantId: options.tenantId,
    role: 'admin',
    name: 'development (npm start)',
    rateLimitPerMinute: options.rateLimitPerMinute ?? 6000,
  });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, created: true };
}
