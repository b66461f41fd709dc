/**
 * The configuration of token sign-in (API_TOKEN_ISSUERS): which OpenID Connect issuers are trusted,
 * for which audiences, and how their claims map to a tenant and a role. Only zod here, so that the
 * configuration can be validated at start-up without loading the verifier (tokens.ts).
 */
import { z } from 'zod';
import { ROLES } from './keys.ts';

const TENANT = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Well-known issuers: their issuer and JWKS addresses filled in. */
export const ISSUER_PRESETS = {
  /** Google-signed identity tokens (service accounts, `gcloud auth print-identity-token`, Cloud Run callers). */
  google: { issuer: 'https://accounts.google.com', jwksUri: 'https://www.googleapis.com/oauth2/v3/certs' },
  /** Identity Platform / Firebase Auth users of `project` (the issuer ends with the project id). */
  'identity-platform': {
    issuer: 'https://securetoken.google.com/',
    jwksUri: 'https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com',
  },
} as const;

/**
 * One trusted issuer, as configured (one element of the API_TOKEN_ISSUERS JSON array). Built on the
 * first non-empty API_TOKEN_ISSUERS: without issuers the function's start builds no schema for it
 * (issue 14, bench:cold-start).
 */
const issuerConfigSchema = () => {
  const RoleName = z.enum(ROLES);
  return z
    .object({
      preset: z.enum(['google', 'identity-platform']).optional(),
      /** identity-platform: the Google Cloud project whose users sign in. */
      project: z.string().min(1).optional(),
      issuer: z.url().optional(),
      jwksUri: z.url().optional(),
      /** Accepted `aud` values (at least one). */
      audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
      /** Dot path of the claim naming the tenant (e.g. `tenant`, `firebase.tenant`). */
      tenantClaim: z.string().min(1).optional(),
      /** The tenant of tokens without a tenant claim (or of every token when there is no claim). */
      tenant: z.string().regex(TENANT).optional(),
      /** Tenants this issuer may name; by default only `tenant`. A token naming another is refused (403). */
      tenants: z.array(z.string().regex(TENANT)).min(1).optional(),
      /** Dot path of the claim holding the role (a string or an array: the highest known role wins). */
      roleClaim: z.string().min(1).default('role'),
      /** Claim values mapped to roles (e.g. `{"wnm.operators": "operator"}`); role names map to themselves. */
      roleMap: z.record(z.string(), RoleName).default({}),
      defaultRole: RoleName.default('reader'),
      /** The highest role a token of this issuer may get. */
      maxRole: RoleName.default('admin'),
      /**
       * Subjects allowed, by `email` or `sub` (service accounts), each with its tenant and role. When set,
       * any other subject is refused: required for the google preset, whose tokens anyone can mint.
       */
      principals: z
        .record(z.string(), z.object({ tenant: z.string().regex(TENANT), role: RoleName }))
        .optional(),
      rateLimitPerMinute: z.number().int().min(1).max(1_000_000).optional(),
    })
    .strict()
    .transform((c, ctx) => {
      const preset = c.preset ? ISSUER_PRESETS[c.preset] : undefined;
      const issuer =
        c.issuer ??
        (c.preset === 'identity-platform' && c.project ? `${preset?.issuer}${c.project}` : preset?.issuer);
      const jwksUri = c.jwksUri ?? preset?.jwksUri;
      if (!issuer) ctx.addIssue({ code: 'custom', message: 'issuer (or a preset) is required' });
      if (!jwksUri) ctx.addIssue({ code: 'custom', message: 'jwksUri (or a preset) is required' });
      if (c.preset === 'google' && !c.principals) {
        ctx.addIssue({
          code: 'custom',
          message: 'the google preset needs principals (anyone can mint its tokens)',
        });
      }
      if (!c.principals && !c.tenant && !c.tenantClaim) {
        ctx.addIssue({ code: 'custom', message: 'one of tenant, tenantClaim or principals is required' });
      }
      return {
        ...c,
        issuer: issuer ?? '',
        jwksUri: jwksUri ?? '',
        audience: Array.isArray(c.audience) ? c.audience : [c.audience],
        tenants: c.tenants ?? (c.tenant ? [c.tenant] : []),
      };
    });
};
let issuerConfigs: ReturnType<typeof issuersSchema> | undefined;
const issuersSchema = () => z.array(issuerConfigSchema());
export type IssuerConfig = z.output<ReturnType<typeof issuerConfigSchema>>;

/** Parses API_TOKEN_ISSUERS (a JSON array); throws a message naming what is wrong. */
export function parseIssuers(text: string | undefined): IssuerConfig[] {
  if (!text?.trim()) return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('API_TOKEN_ISSUERS: not valid JSON (an array of issuer objects)');
  }
  issuerConfigs ??= issuersSchema();
  const parsed = issuerConfigs.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `[${i.path.join('.')}] ${i.message}`);
    throw new Error(`API_TOKEN_ISSUERS: ${problems.join('; ')}`);
  }
  return parsed.data;
}
