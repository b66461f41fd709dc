/**
 * The development key `npm start` (or API_DEV_MODE) prints: an admin key of the default tenant,
 * created once and kept in a file (mode 0600) beside the local data, so every start prints the same
 * key for as long as it is live in the database. Never used in the cloud (API_DEV_MODE is off there).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KeyStore } from '../stores.ts';
import { createKey, parseKey, secretMatches } from './keys.ts';

export const DEV_KEY_FILE = '.data/dev-api-key';

export async function ensureDevKey(
  keys: Pick<KeyStore, 'insert' | 'liveAdminHash'>,
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
    const hash = await keys.liveAdminHash(parsed.id, options.tenantId);
    if (hash && secretMatches(parsed.secret, hash)) return { token: saved, created: false };
  }
  const { token } = await createKey(keys, {
    tenantId: options.tenantId,
    role: 'admin',
    name: 'development (npm start)',
    rateLimitPerMinute: options.rateLimitPerMinute ?? 6000,
  });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, created: true };
}
