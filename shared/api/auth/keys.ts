/**
 * API keys: `wnm_<id>_<secret>`. The id (the prefix) names the key in lists and logs; the secret is
 * 32 random bytes, of which only a SHA-256 hash is stored.
 *
 * Why SHA-256 and not bcrypt/scrypt: those slow hashes protect low-entropy passwords from guessing.
 * A 256-bit random secret cannot be guessed, so a fast hash loses nothing, and verifying a key
 * costs a microsecond instead of the ~100 ms of CPU per request a password hash would (a latency
 * and denial-of-service problem for an API).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Sql } from '../../adapters/postgres/client.ts';

export const ROLES = ['reader', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** admin ⊇ operator ⊇ reader. */
export const roleAtLeast = (role: Role, needed: Role): boolean =>
  ROLES.indexOf(role) >= ROLES.indexOf(needed);

export interface Principal {
  keyId: string;
  tenantId: string;
  role: Role;
  name: string;
  rateLimitPerMinute: number;
}

const KEY_PATTERN = /^wnm_([a-z0-9]{8,16})_([A-Za-z0-9_-]{43})$/;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface ParsedKey {
  id: string;
  secret: string;
}

export function parseKey(token: string): ParsedKey | null {
  const m = KEY_PATTERN.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** Constant-time comparison of a secret with a stored hash (hex, or its bytes). */
export function secretMatches(secret: string, storedHash: string | Buffer): boolean {
  const a = createHash('sha256').update(secret).digest();
  const b = typeof storedHash === 'string' ? Buffer.from(storedHash, 'hex') : storedHash;
  return a.length === b.length && timingSafeEqual(a, b);
}

export function generateKey(): { id: string; secret: string; token: string } {
  const bytes = randomBytes(10);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b % ID_ALPHABET.length];
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, token: `wnm_${id}_${secret}` };
}

export interface KeyRecord {
  id: string;
  tenantId: string;
  role: Role;
  name: string;
  rateLimitPerMinute: number;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface KeyRow {
  id: string;
  tenant_id: string;
  role: Role;
  name: string;
  secret_hash: string;
  rate_limit_per_minute: number;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const toRecord = (r: KeyRow): KeyRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  role: r.role,
  name: r.name,
  rateLimitPerMinute: r.rate_limit_per_minute,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
  revokedAt: r.revoked_at?.toISOString() ?? null,
});

export interface NewKey {
  tenantId: string;
  role: Role;
  name: string;
  rateLimitPerMinute: number;
}

/** Creates a key (and its tenant if new); the token is returned once and never stored. */
export async function createKey(sql: Sql, key: NewKey): Promise<{ record: KeyRecord; token: string }> {
  const { id, secret, token } = generateKey();
  await sql`insert into tenants (id, name) values (${key.tenantId}, ${key.tenantId}) on conflict (id) do nothing`;
  const rows = await sql<KeyRow[]>`
    insert into api_keys (id, tenant_id, role, name, secret_hash, rate_limit_per_minute)
    values (${id}, ${key.tenantId}, ${key.role}, ${key.name}, ${hashSecret(secret)}, ${key.rateLimitPerMinute})
    returning *`;
  return { record: toRecord(rows[0]!), token };
}

export async function listKeys(
  sql: Sql,
  options: { tenantId?: string; includeRevoked?: boolean } = {},
): Promise<KeyRecord[]> {
  const rows = await sql<KeyRow[]>`
    select * from api_keys
    where true
      ${options.tenantId ? sql`and tenant_id = ${options.tenantId}` : sql``}
      ${options.includeRevoked ? sql`` : sql`and revoked_at is null`}
    order by tenant_id, created_at, id`;
  return rows.map(toRecord);
}

/** Revokes a key (of the tenant, when given). The record, or null when there is no such key. */
export async function revokeKey(sql: Sql, id: string, tenantId?: string): Promise<KeyRecord | null> {
  const rows = await sql<KeyRow[]>`
    update api_keys set revoked_at = coalesce(revoked_at, now())
    where id = ${id} ${tenantId ? sql`and tenant_id = ${tenantId}` : sql``}
    returning *`;
  return rows[0] ? toRecord(rows[0]) : null;
}

export interface StoredKey {
  principal: Principal;
  secretHash: string;
}

/** A live key by id (marking it used), or null when it does not exist or is revoked. */
export async function findLiveKey(sql: Sql, id: string): Promise<StoredKey | null> {
  const rows = await sql<KeyRow[]>`
    update api_keys set last_used_at = now()
    where id = ${id} and revoked_at is null
    returning *`;
  const r = rows[0];
  if (!r) return null;
  return {
    principal: {
      keyId: r.id,
      tenantId: r.tenant_id,
      role: r.role,
      name: r.name,
      rateLimitPerMinute: r.rate_limit_per_minute,
    },
    secretHash: r.secret_hash,
  };
}
