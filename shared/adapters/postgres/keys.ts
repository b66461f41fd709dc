/**
 * API keys in PostgreSQL (api_keys). Only a SHA-256 hash of each secret is stored; generating keys,
 * hashing and verifying secrets are the API's (shared/api/auth/keys.ts), so this module only reads and
 * writes rows.
 */
import type { KeyListOptions, KeyRecord, LiveKey, Role, StoredKeyInput } from '../../api/stores.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

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

/** Inserts a key (its tenant must exist: see registry.ts `ensureTenant`). */
export async function insertKey(db: Db, key: StoredKeyInput): Promise<KeyRecord> {
  const rows = await db<KeyRow[]>`
    insert into api_keys (id, tenant_id, role, name, secret_hash, rate_limit_per_minute)
    values (${key.id}, ${key.tenantId}, ${key.role}, ${key.name}, ${key.secretHash}, ${key.rateLimitPerMinute})
    returning *`;
  return toRecord(rows[0]!);
}

export async function listKeys(db: Db, options: KeyListOptions = {}): Promise<KeyRecord[]> {
  const rows = await db<KeyRow[]>`
    select * from api_keys
    where true
      ${options.tenantId ? db`and tenant_id = ${options.tenantId}` : db``}
      ${options.includeRevoked ? db`` : db`and revoked_at is null`}
    order by tenant_id, created_at, id`;
  return rows.map(toRecord);
}

/** Revokes a key (of the tenant, when given). The record, or null when there is no such key. */
export async function revokeKey(db: Db, id: string, tenantId?: string): Promise<KeyRecord | null> {
  const rows = await db<KeyRow[]>`
    update api_keys set revoked_at = coalesce(revoked_at, now())
    where id = ${id} ${tenantId ? db`and tenant_id = ${tenantId}` : db``}
    returning *`;
  return rows[0] ? toRecord(rows[0]) : null;
}

/** A live key by id (marking it used), or null when it does not exist or is revoked. */
export async function findLiveKey(db: Db, id: string): Promise<LiveKey | null> {
  const rows = await db<KeyRow[]>`
    update api_keys set last_used_at = now()
    where id = ${id} and revoked_at is null
    returning *`;
  const r = rows[0];
  if (!r) return null;
  return {
    keyId: r.id,
    tenantId: r.tenant_id,
    role: r.role,
    name: r.name,
    rateLimitPerMinute: r.rate_limit_per_minute,
    secretHash: r.secret_hash,
  };
}

/** The secret hash of a live admin key of the tenant (the development key), or null. */
export async function liveAdminKeyHash(db: Db, id: string, tenantId: string): Promise<string | null> {
  const rows = await db<{ secret_hash: string }[]>`
    select secret_hash from api_keys
    where id = ${id} and tenant_id = ${tenantId} and role = 'admin' and revoked_at is null`;
  return rows[0]?.secret_hash ?? null;
}
