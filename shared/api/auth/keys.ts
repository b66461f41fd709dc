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
  /** How the caller signed in: an API key (the default) or an OpenID Connect bearer token (tokens.ts). */
  via?: 'token';
}

/** Who did something, for audit fields: `key:<id> (<name>)` or `token:<id> (<email or sub>)`. */
export const principalLabel = (p: Principal): string =>
  `${p.via === 'token' ? 'token' : 'key'}:${p.keyId} (${p.name})`;

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

export interface NewKey {
  tenantId: string;
  role: Role;
  name: string;
  rateLimitPerMinute: number;
}

/** What is stored of a new key: its id and the hash of its secret, never the secret. */
export interface StoredKeyInput extends NewKey {
  id: string;
  /** SHA-256 of the secret, hex. */
  secretHash: string;
}

/** Creates a key (and its tenant if new); the token is returned once and never stored. */
export async function createKey(
  keys: { insert(key: StoredKeyInput): Promise<KeyRecord> },
  key: NewKey,
): Promise<{ record: KeyRecord; token: string }> {
  const { id, secret, token } = generateKey();
  const record = await keys.insert({ id, ...key, secretHash: hashSecret(secret) });
  return { record, token };
}
