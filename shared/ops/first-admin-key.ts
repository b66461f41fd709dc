/**
 * The first admin API key of a fresh deployment, made by a Cloud Run job inside the VPC (the database
 * has a private IP only, so no laptop can reach it). The key must be shown once to the person deploying
 * and stored nowhere in plain text — not even in the job's logs. So the deploy command makes a
 * throw-away RSA key pair, hands the job the public half, the job logs the API key sealed to it
 * (RSA-OAEP, SHA-256), and only the deploy command, holding the private half in memory, can open it.
 *
 * Idempotent: when the tenant already has a live key of this name, nothing is created.
 */
import { constants, createPublicKey, generateKeyPairSync, privateDecrypt, publicEncrypt } from 'node:crypto';
import { createKey, type KeyRecord, type StoredKeyInput } from '../api/auth/keys.ts';

export const FIRST_ADMIN_KEY_NAME = 'first-admin (npm run deploy)';

export interface FirstAdminKeyStore {
  insert(key: StoredKeyInput): Promise<KeyRecord>;
  list(options: { tenantId?: string; includeRevoked?: boolean }): Promise<KeyRecord[]>;
}

export type FirstAdminKeyResult =
  | { created: false; keyId: string }
  | { created: true; keyId: string; sealedToken: string };

/** Seals a short secret to a public key given as base64url DER (SPKI). */
export function sealTo(publicKeyDer: string, secret: string): string {
  const key = createPublicKey({ key: Buffer.from(publicKeyDer, 'base64url'), format: 'der', type: 'spki' });
  return publicEncrypt(
    { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    Buffer.from(secret),
  ).toString('base64url');
}

/** A throw-away key pair: the public half as base64url DER for the job, `open` for what it sealed. */
export function sealingKeyPair(): { publicKeyDer: string; open(sealed: string): string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  return {
    publicKeyDer: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'),
    open: (sealed) =>
      privateDecrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        Buffer.from(sealed, 'base64url'),
      ).toString(),
  };
}

export async function ensureFirstAdminKey(
  store: FirstAdminKeyStore,
  options: { tenantId: string; publicKeyDer: string; rateLimitPerMinute: number },
): Promise<FirstAdminKeyResult> {
  const existing = (await store.list({ tenantId: options.tenantId })).find(
    (k) => k.name === FIRST_ADMIN_KEY_NAME && k.role === 'admin' && k.revokedAt === null,
  );
  if (existing) return { created: false, keyId: existing.id };
  // Check the public key before anything is stored, so a bad argument leaves no orphan key behind.
  sealTo(options.publicKeyDer, 'probe');
  const { record, token } = await createKey(store, {
    tenantId: options.tenantId,
    role: 'admin',
    name: FIRST_ADMIN_KEY_NAME,
    rateLimitPerMinute: options.rateLimitPerMinute,
  });
  return { created: true, keyId: record.id, sealedToken: sealTo(options.publicKeyDer, token) };
}
