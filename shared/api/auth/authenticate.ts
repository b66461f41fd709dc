/**
 * Authentication: `Authorization: Bearer wnm_…` (or `X-API-Key: wnm_…`). Verified keys are kept in
 * process for `keyCacheMs`, so a request costs a map lookup and a constant-time comparison (a SHA-256
 * the first time a secret is seen), not a PostgreSQL query;
 * a revoked key therefore stops working within that time on every instance (at once on the instance
 * that revoked it). Unknown key ids are remembered as unknown for the same time, so random keys
 * cannot make every request reach PostgreSQL. While PostgreSQL is down (its breaker open: the key
 * store is not even asked), keys verified before keep working for `staleIfErrorMs` after their last
 * verification (stale-if-error; nothing can be revoked meanwhile anyway), and other keys get a 503.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../log.ts';
import type { TierBreaker } from '../breakers.ts';
import type { ApiEnv } from '../env.ts';
import { requestHeader } from '../headers.ts';
import { ApiProblem, RETRY_AFTER_SECONDS } from '../problem.ts';
import type { KeyStore } from '../stores.ts';
import { type Principal, parseKey, type Role, roleAtLeast, secretMatches } from './keys.ts';
import { looksLikeJwt, type TokenVerifier } from './tokens.ts';

interface CachedKey {
  /** null: no live key with this id. */
  stored: { principal: Principal; hash: Buffer; verified?: Buffer } | null;
  checkedAt: number;
}

export class KeyVerifier {
  private readonly keys: Pick<KeyStore, 'findLive'>;
  private readonly ttlMs: number;
  private readonly logger: Logger;
  private readonly staleIfErrorMs: number;
  private readonly breaker: TierBreaker | undefined;
  // Kept through an outage (ttlMs + staleIfErrorMs); freshness is checked against ttlMs.
  private readonly cache: LRUCache<string, CachedKey>;
  private readonly inFlight = new Map<string, Promise<CachedKey>>();

  constructor(options: {
    keys: Pick<KeyStore, 'findLive'>;
    ttlMs: number;
    logger: Logger;
    /** How long after its last verification a key still works while the store cannot be asked. */
    staleIfErrorMs?: number;
    /** PostgreSQL's breaker: while it is open the store is not asked. */
    breaker?: TierBreaker;
  }) {
    this.keys = options.keys;
    this.ttlMs = options.ttlMs;
    this.logger = options.logger;
    this.staleIfErrorMs = options.staleIfErrorMs ?? 3_600_000;
    this.breaker = options.breaker;
    this.cache = new LRUCache<string, CachedKey>({ max: 10_000, ttl: this.ttlMs + this.staleIfErrorMs });
  }

  /**
   * The principal of a token from what this instance already verified, without waiting: a
   * Principal, null (not a live key), or undefined when PostgreSQL must be asked (`verify`).
   */
  verifyCached(token: string): Principal | null | undefined {
    const parsed = parseKey(token);
    if (!parsed) return null;
    const entry = this.cache.get(parsed.id);
    if (!entry || Date.now() - entry.checkedAt >= this.ttlMs) return undefined;
    return this.match(entry, parsed.secret);
  }

  /** The principal of a token, or null when it is not a live key. Throws 503 when it cannot tell. */
  async verify(token: string): Promise<Principal | null> {
    const parsed = parseKey(token);
    if (!parsed) return null;
    let entry = this.cache.get(parsed.id);
    if (!entry || Date.now() - entry.checkedAt >= this.ttlMs) entry = await this.refresh(parsed.id, entry);
    return this.match(entry, parsed.secret);
  }

  private match(entry: CachedKey, secretText: string): Principal | null {
    const stored = entry.stored;
    if (!stored) return null;
    // The secret that matched the hash once is compared directly (constant time) from then on.
    const secret = Buffer.from(secretText);
    if (
      stored.verified &&
      stored.verified.length === secret.length &&
      timingSafeEqual(stored.verified, secret)
    ) {
      return stored.principal;
    }
    if (!secretMatches(secretText, stored.hash)) return null;
    stored.verified = secret;
    return stored.principal;
  }

  /** Forgets a key at once (this instance revoked it). */
  forget(id: string): void {
    this.cache.delete(id);
  }

  private refresh(id: string, previous: CachedKey | undefined): Promise<CachedKey> {
    let pending = this.inFlight.get(id);
    if (!pending) {
      const find = () => this.keys.findLive(id);
      pending = (this.breaker ? this.breaker.execute(find) : find())
        .then((found) => {
          const stored = found && {
            principal: {
              keyId: found.keyId,
              tenantId: found.tenantId,
              role: found.role,
              name: found.name,
              rateLimitPerMinute: found.rateLimitPerMinute,
            },
            hash: Buffer.from(found.secretHash, 'hex'),
          };
          const entry = { stored, checkedAt: Date.now() };
          this.cache.set(id, entry);
          return entry;
        })
        .catch((err: unknown) => {
          if (previous?.stored && Date.now() - previous.checkedAt < this.ttlMs + this.staleIfErrorMs) {
            // Debug only: the outage is logged once, by PostgreSQL's breaker.
            this.logger.debug('key store unavailable; trusting the key verified before', {
              event: 'api.key_store_down',
              keyId: id,
              err,
            });
            return previous;
          }
          throw new ApiProblem(503, 'Service Unavailable', 'API keys cannot be verified right now.', {
            headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
            cause: err,
          });
        })
        .finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    return pending;
  }
}

const unauthorized = (detail: string) =>
  new ApiProblem(401, 'Unauthorized', detail, {
    headers: { 'WWW-Authenticate': 'Bearer realm="water-network-api"' },
  });

/** The API key a request carries (Authorization: Bearer, or X-API-Key); a 401 when there is none. */
export function requestToken(c: Context): string {
  const header = requestHeader(c, 'authorization');
  let token: string | undefined;
  if (header !== undefined) {
    if (header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') {
      throw unauthorized('Send the API key as "Authorization: Bearer wnm_…".');
    }
    token = header.slice(7).trim();
  } else {
    token = requestHeader(c, 'x-api-key');
  }
  if (!token) throw unauthorized('An API key is required ("Authorization: Bearer wnm_…").');
  return token;
}

/**
 * The caller's principal: from the in-process key cache when it can, else after asking PostgreSQL.
 * A bearer JWT (three dot-separated parts; keys have none) goes to the token verifier when issuers
 * are configured; a key costs exactly what it cost before tokens existed (one character test more).
 */
export function authenticateRequest(
  c: Context<ApiEnv>,
  verifier: KeyVerifier,
  tokens?: TokenVerifier,
): Principal | Promise<Principal> {
  const token = requestToken(c);
  const accept = (principal: Principal | null): Principal => {
    if (!principal) throw unauthorized('The API key is not valid (unknown, revoked or malformed).');
    c.set('principal', principal);
    c.set('tenantId', principal.tenantId);
    return principal;
  };
  if (tokens?.enabled && !token.startsWith('wnm_') && looksLikeJwt(token)) {
    const seen = tokens.verifyCached(token);
    return seen ? accept(seen) : tokens.verify(token).then(accept);
  }
  const known = verifier.verifyCached(token);
  return known === undefined ? verifier.verify(token).then(accept) : accept(known);
}

/** Requires at least `role` (admin ⊇ operator ⊇ reader). */
export function requireRole(role: Role): MiddlewareHandler<ApiEnv> {
  return async function requireRoleMiddleware(c, next) {
    const principal = c.get('principal');
    if (!roleAtLeast(principal.role, role)) {
      throw new ApiProblem(
        403,
        'Forbidden',
        `This needs the ${role} role; the ${principal.via ?? 'key'} has the ${principal.role} role.`,
      );
    }
    await next();
  };
}
