/**
 * Bearer tokens from OpenID Connect issuers (Google identity tokens, Identity Platform, any issuer by
 * configuration), beside the hashed API keys: verified with `jose` against each issuer's JWKS
 * (createRemoteJWKSet caches the key set, refetches it for an unknown key id at most once per
 * cooldown, and after `cacheMaxAge`), with the issuer, audience, expiry and an asymmetric algorithm
 * required. The claims map to a tenant and a role by configuration (API_TOKEN_ISSUERS).
 *
 * A verified token is remembered (by its text) until it expires or for `cacheMs`, whichever comes
 * first: a request with a token seen before costs a map lookup, as a key does, not a signature check.
 *
 * While an issuer's JWKS endpoint is down, the key set fetched before keeps verifying tokens until it
 * is `cacheMaxAge` old; a token signed by a key not in it then gets a fast 503 (the fetch fails), never
 * a 401 that would tell a client its valid token is bad.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, errors, type JWTPayload, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { ApiProblem, RETRY_AFTER_SECONDS } from '../problem.ts';
import { type Principal, ROLES, type Role, roleAtLeast } from './keys.ts';
import type { IssuerConfig } from './token-config.ts';

/** Three base64url parts: a JWS in compact form (what a bearer JWT is); API keys never have dots. */
export const looksLikeJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);

export const TOKEN_CHALLENGE = 'Bearer realm="water-network-api"';

/** A 401 with the RFC 6750 error code in the challenge. */
const invalidToken = (detail: string, cause?: unknown) =>
  new ApiProblem(401, 'Unauthorized', detail, {
    type: 'invalid-token',
    headers: { 'WWW-Authenticate': `${TOKEN_CHALLENGE}, error="invalid_token"` },
    cause,
  });

const forbiddenToken = (detail: string) =>
  new ApiProblem(403, 'Forbidden', detail, {
    type: 'token-not-allowed',
    headers: { 'WWW-Authenticate': `${TOKEN_CHALLENGE}, error="insufficient_scope"` },
  });

const claimAt = (payload: JWTPayload, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      payload,
    );

/** Asymmetric algorithms only: `none` and HMAC (a public key used as a shared secret) are refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

interface Cached {
  principal: Principal;
  expiresAt: number;
}

export interface TokenVerifierOptions {
  issuers: IssuerConfig[];
  /** A verified token is remembered this long at most (and never past its expiry). */
  cacheMs: number;
  /** jose's JWKS options: how long a fetched key set is used, the refetch cooldown, the fetch timeout. */
  jwksCacheMaxAgeMs?: number;
  jwksCooldownMs?: number;
  jwksTimeoutMs?: number;
  /** Clock skew allowed on exp/nbf/iat, seconds. */
  clockToleranceSeconds?: number;
  defaultRateLimitPerMinute: number;
}

export class TokenVerifier {
  private readonly issuers = new Map<
    string,
    { config: IssuerConfig; jwks: ReturnType<typeof createRemoteJWKSet> }
  >();
  private readonly cache = new LRUCache<string, Cached>({ max: 10_000 });
  private readonly options: TokenVerifierOptions;

  constructor(options: TokenVerifierOptions) {
    this.options = options;
    for (const config of options.issuers) {
      this.issuers.set(config.issuer, {
        config,
        jwks: createRemoteJWKSet(new URL(config.jwksUri), {
          cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
          cooldownDuration: options.jwksCooldownMs ?? 30_000,
          timeoutDuration: options.jwksTimeoutMs ?? 2000,
        }),
      });
    }
  }

  get enabled(): boolean {
    return this.issuers.size > 0;
  }

  /** The principal of a token verified before and not yet expired, without waiting; else undefined. */
  verifyCached(token: string): Principal | undefined {
    const hit = this.cache.get(token);
    if (!hit) return undefined;
    if (Date.now() >= hit.expiresAt) {
      this.cache.delete(token);
      return undefined;
    }
    return hit.principal;
  }

  /** Verifies a token: its principal, or a 401 (not valid), 403 (valid, but not for this API) or 503. */
  async verify(token: string): Promise<Principal> {
    const cached = this.verifyCached(token);
    if (cached) return cached;
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch (err) {
      throw invalidToken('The bearer token is not a well-formed JWT.', err);
    }
    const issuer = typeof unverified.iss === 'string' ? this.issuers.get(unverified.iss) : undefined;
    if (!issuer)
      throw invalidToken(`Tokens of issuer ${JSON.stringify(unverified.iss ?? null)} are not accepted.`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, issuer.jwks, {
        issuer: issuer.config.issuer,
        audience: issuer.config.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.options.clockToleranceSeconds ?? 30,
      }));
    } catch (err) {
      throw tokenProblem(err);
    }
    const principal = this.principalOf(issuer.config, payload);
    const expiresAt = Math.min((payload.exp ?? 0) * 1000, Date.now() + this.options.cacheMs);
    this.cache.set(token, { principal, expiresAt });
    return principal;
  }

  private principalOf(config: IssuerConfig, payload: JWTPayload): Principal {
    const sub = payload.sub ?? '';
    const email = typeof payload.email === 'string' ? payload.email : undefined;
    let tenant: string | undefined;
    let role: Role;
    if (config.principals) {
      const allowed = (email && config.principals[email]) || config.principals[sub];
      if (!allowed)
        throw forbiddenToken(`The token's subject ${email ?? sub} is not allowed to use this API.`);
      tenant = allowed.tenant;
      role = allowed.role;
    } else {
      const claimed = config.tenantClaim ? claimAt(payload, config.tenantClaim) : undefined;
      if (claimed !== undefined && typeof claimed !== 'string') {
        throw forbiddenToken(`The token's ${config.tenantClaim} claim is not a tenant id.`);
      }
      tenant = claimed ?? config.tenant;
      if (!tenant) throw forbiddenToken(`The token names no tenant (claim ${config.tenantClaim}).`);
      if (!config.tenants.includes(tenant)) {
        throw forbiddenToken(`Tokens of this issuer may not act for tenant ${JSON.stringify(tenant)}.`);
      }
      role = roleFromClaim(config, claimAt(payload, config.roleClaim));
    }
    if (!roleAtLeast(config.maxRole, role)) role = config.maxRole;
    const subject = createHash('sha256').update(`${config.issuer}\n${sub}`).digest('hex').slice(0, 16);
    return {
      keyId: `jwt_${subject}`,
      tenantId: tenant,
      role,
      name: (email ?? sub).slice(0, 200),
      rateLimitPerMinute: config.rateLimitPerMinute ?? this.options.defaultRateLimitPerMinute,
      via: 'token',
    };
  }
}

function roleFromClaim(config: IssuerConfig, value: unknown): Role {
  const values = Array.isArray(value) ? value : [value];
  let best: Role | undefined;
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const role = config.roleMap[v] ?? ((ROLES as readonly string[]).includes(v) ? (v as Role) : undefined);
    if (role && (!best || roleAtLeast(role, best))) best = role;
  }
  return best ?? config.defaultRole;
}

/** jose's errors as problems: what the client did wrong (401), or what we cannot check now (503). */
export function tokenProblem(err: unknown): ApiProblem {
  if (err instanceof errors.JWTExpired) return invalidToken('The token has expired.', err);
  if (err instanceof errors.JWTClaimValidationFailed) {
    return invalidToken(`The token's "${err.claim}" claim is not accepted (${err.reason}).`, err);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return invalidToken(
      'The token is not signed with an accepted algorithm (asymmetric only; never "none").',
      err,
    );
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return invalidToken("The token's signing key (kid) is not one of the issuer's keys.", err);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return invalidToken("The token's signature does not verify.", err);
  }
  if (err instanceof errors.JWKSMultipleMatchingKeys) {
    return invalidToken("The token's key id matches more than one key; send a token with a kid.", err);
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return invalidToken('The bearer token is not a well-formed JWT.', err);
  }
  const fetchFailed =
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC') ||
    !(err instanceof errors.JOSEError);
  if (!fetchFailed) return invalidToken('The token cannot be verified.', err);
  // The key set could not be fetched (down, timed out, not JSON, not a key set): not the client's fault.
  return new ApiProblem(503, 'Service Unavailable', "The token issuer's keys cannot be fetched right now.", {
    type: 'token-keys-unavailable',
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    cause: err,
  });
}
