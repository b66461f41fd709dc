/**
 * Token sign-in against a real local issuer (dev/peers/jwks-issuer.ts: an HTTP server serving a JWKS
 * of keys the test makes) and the real app over a database processed by real cycles: a valid token
 * reads its tenant's data only and gets its role; every bad token is refused with a clear
 * problem+json 401/403, never a 5xx; while the JWKS server is down, keys fetched before keep
 * verifying and a token needing a new key gets a fast 503.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { peerGate } from '../../dev/peers/index.ts';
import { type JwksIssuer, makeSigningKey, startJwksIssuer } from '../../dev/peers/jwks-issuer.ts';
import type { IssuerConfig } from '../../shared/api/auth/token-config.ts';
import { parseIssuers } from '../../shared/api/auth/token-config.ts';
import { type ApiWorld, createApiWorld, MAIN, OTHER, withKey } from './fixtures.ts';

const AUDIENCE = 'https://wnm.test/api';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('OpenID Connect bearer tokens', await peerGate('postgres'), () => {
  let w: ApiWorld;
  let idp: JwksIssuer;
  let issuers: IssuerConfig[];
  let app: ReturnType<ApiWorld['app']>;

  const appWith = () =>
    w.app({ tokenIssuers: issuers, jwksCooldownMs: 0, keyCacheMs: 30_000 }) as ReturnType<ApiWorld['app']>;
  const get = (path: string, token: string, target = app) => target.request(path, withKey(token));
  const claims = (over: Record<string, unknown> = {}) => ({
    sub: 'user-1',
    aud: AUDIENCE,
    tenant: MAIN,
    role: 'reader',
    ...over,
  });

  /** A refusal: the status, a problem+json body of the given type, and never a 5xx. */
  async function refused(res: Response, status: 401 | 403, type: string, detail: RegExp) {
    const body = (await res.json()) as { type: string; status: number; detail: string };
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(body.type, `/docs/problems#${type}`);
    assert.match(body.detail, detail);
    if (status === 401)
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm=.*error="invalid_token"/);
  }

  before(async () => {
    w = await createApiWorld({ redis: 'none' });
    idp = await startJwksIssuer();
    issuers = parseIssuers(
      JSON.stringify([
        {
          issuer: idp.issuer,
          jwksUri: idp.jwksUri,
          audience: AUDIENCE,
          tenantClaim: 'tenant',
          tenants: [MAIN],
          roleClaim: 'roles',
          roleMap: { 'wnm-operators': 'operator' },
          maxRole: 'operator',
        },
      ]),
    );
    app = appWith();
  });
  after(async () => {
    await idp?.close();
    await w?.close();
  });

  test("a valid token reads its own tenant's data, and nothing of another tenant", async () => {
    const token = await idp.sign(claims());
    const res = await get('/api/v1/nodes?limit=1000', token);
    assert.equal(res.status, 200);
    const ids = ((await res.json()) as { data: { id: string }[] }).data.map((n) => n.id);
    assert.deepEqual(ids.sort(), [...w.mainNodes].sort());
    const foreign = await get(`/api/v1/nodes/${w.otherNodes[0]}`, token);
    assert.equal(foreign.status, 404);
    assert.ok(res.headers.get('ratelimit-limit'), 'a token is rate limited like a key');
  });

  test('the role comes from the claims: a reader cannot acknowledge, a mapped operator can', async () => {
    const [anomaly] = await w.db.sql<{ id: string }[]>`
      select id from anomalies where tenant_id = ${MAIN} and status = 'open' order by id limit 1`;
    const path = `/api/v1/anomalies/${anomaly!.id}/acknowledge`;
    const post = (token: string) => app.request(path, withKey(token, { method: 'POST' }));
    const reader = await post(await idp.sign(claims({ roles: ['something-else'] })));
    assert.equal(reader.status, 403);
    assert.match(
      ((await reader.json()) as { detail: string }).detail,
      /operator role; the token has the reader role/,
    );
    const operator = await post(
      await idp.sign(claims({ roles: ['wnm-operators'], email: 'op@utility.test' })),
    );
    assert.equal(operator.status, 200);
    assert.match(
      ((await operator.json()) as { acknowledgedBy: string }).acknowledgedBy,
      /^token:jwt_[0-9a-f]{16} \(op@utility.test\)$/,
    );
    // admin is above this issuer's maxRole: capped to operator.
    const admin = await get('/api/v1/admin/keys', await idp.sign(claims({ roles: ['admin'] })));
    assert.equal(admin.status, 403);
  });

  test('an expired token: 401', async () => {
    const token = await idp.sign(claims(), { expiresIn: Math.floor(Date.now() / 1000) - 3600 });
    await refused(await get('/api/v1/nodes', token), 401, 'invalid-token', /expired/);
  });

  test('a token for another audience: 401', async () => {
    const token = await idp.sign(claims({ aud: 'https://someone-else.test' }));
    await refused(await get('/api/v1/nodes', token), 401, 'invalid-token', /"aud" claim/);
  });

  test('a token of an issuer not configured: 401, and its keys are never fetched', async () => {
    const before = idp.fetches();
    const token = await idp.sign(claims({ iss: 'https://evil.test' }));
    await refused(
      await get('/api/v1/nodes', token),
      401,
      'invalid-token',
      /issuer "https:\/\/evil.test" are not accepted/,
    );
    assert.equal(idp.fetches(), before);
  });

  test('a token signed by a key the issuer does not publish (unknown kid): 401', async () => {
    const stranger = await makeSigningKey('k-stranger');
    const token = await idp.sign(claims(), { key: stranger });
    await refused(await get('/api/v1/nodes', token), 401, 'invalid-token', /signing key \(kid\)/);
  });

  test('a known kid with a signature of another key: 401', async () => {
    const stranger = await makeSigningKey();
    const token = await idp.sign(claims(), { key: stranger, kid: idp.keys[0]!.kid });
    await refused(await get('/api/v1/nodes', token), 401, 'invalid-token', /signature does not verify/);
  });

  test('alg "none": 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims(), iss: idp.issuer, exp: now + 600 })}.`;
    await refused(await get('/api/v1/nodes', token), 401, 'invalid-token', /algorithm|well-formed/);
  });

  test('HS256 signed with the public key as the secret: 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = b64({ alg: 'HS256', typ: 'JWT', kid: idp.keys[0]!.kid });
    const payload = b64({ ...claims(), iss: idp.issuer, exp: now + 600 });
    const mac = createHmac('sha256', idp.keys[0]!.publicPem)
      .update(`${header}.${payload}`)
      .digest('base64url');
    await refused(
      await get('/api/v1/nodes', `${header}.${payload}.${mac}`),
      401,
      'invalid-token',
      /accepted algorithm/,
    );
  });

  test('a tenant claim naming a tenant this issuer may not act for: 403', async () => {
    const token = await idp.sign(claims({ tenant: OTHER }));
    await refused(
      await get('/api/v1/nodes', token),
      403,
      'token-not-allowed',
      /may not act for tenant "acme"/,
    );
    const none = await idp.sign(claims({ tenant: undefined }));
    await refused(await get('/api/v1/nodes', none), 403, 'token-not-allowed', /names no tenant/);
  });

  test('a malformed JWT-shaped bearer: 401', async () => {
    await refused(await get('/api/v1/nodes', 'abc.def.ghi'), 401, 'invalid-token', /well-formed/);
  });

  test('API keys keep working beside tokens', async () => {
    const res = await get('/api/v1/nodes', w.tokens.reader);
    assert.equal(res.status, 200);
  });

  test('after a key rotation a token with the new kid works and one of the retired key is refused', async () => {
    const local = appWith();
    const old = idp.keys[0]!;
    assert.equal((await get('/api/v1/nodes', await idp.sign(claims()), local)).status, 200);
    const next = await makeSigningKey();
    idp.serve([next]);
    try {
      const fetched = idp.fetches();
      const fresh = await idp.sign(claims({ jti: 'after-rotation' }), { key: next });
      assert.equal((await get('/api/v1/nodes', fresh, local)).status, 200);
      assert.ok(idp.fetches() > fetched, 'the new kid made the verifier fetch the key set again');
      const retired = await idp.sign(claims({ jti: 'retired' }), { key: old });
      await refused(await get('/api/v1/nodes', retired, local), 401, 'invalid-token', /signing key \(kid\)/);
    } finally {
      idp.serve([old]);
    }
  });

  test('JWKS server down: keys fetched before keep verifying; a token needing a new key gets a fast 503', async () => {
    const local = appWith();
    assert.equal((await get('/api/v1/nodes', await idp.sign(claims({ jti: 'warm' })), local)).status, 200);
    await idp.stop();
    try {
      // The fault took effect: the JWKS port refuses connections.
      await assert.rejects(fetch(idp.jwksUri));
      const known = await idp.sign(claims({ jti: 'while-down' }));
      assert.equal((await get('/api/v1/nodes', known, local)).status, 200);
      const rotated = await makeSigningKey();
      const res = await get('/api/v1/nodes', await idp.sign(claims(), { key: rotated }), local);
      const body = (await res.json()) as { type: string };
      assert.equal(res.status, 503);
      assert.equal(body.type, '/docs/problems#token-keys-unavailable');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
    } finally {
      await idp.start();
    }
  });

  test('principals by subject (as for Google service-account tokens): listed ones get their tenant and role', async () => {
    const byEmail = parseIssuers(
      JSON.stringify([
        {
          issuer: idp.issuer,
          jwksUri: idp.jwksUri,
          audience: AUDIENCE,
          principals: { 'scada@p.iam.gserviceaccount.com': { tenant: OTHER, role: 'reader' } },
        },
      ]),
    );
    const local = w.app({ tokenIssuers: byEmail });
    const ok = await get(
      '/api/v1/nodes',
      await idp.sign({ sub: '1', aud: AUDIENCE, email: 'scada@p.iam.gserviceaccount.com' }),
      local,
    );
    assert.equal(ok.status, 200);
    const ids = ((await ok.json()) as { data: { id: string }[] }).data.map((n) => n.id);
    assert.ok(ids.length > 0 && ids.every((id) => w.otherNodes.includes(id)));
    const stranger = await idp.sign({ sub: '2', aud: AUDIENCE, email: 'someone@gmail.test' });
    await refused(await get('/api/v1/nodes', stranger, local), 403, 'token-not-allowed', /not allowed/);
  });

  test('the configuration is validated: the google preset needs principals; bad JSON names the variable', () => {
    assert.throws(
      () => parseIssuers('[{"preset":"google","audience":"x"}]'),
      /google preset needs principals/,
    );
    assert.throws(() => parseIssuers('{'), /^Error: API_TOKEN_ISSUERS: not valid JSON/);
    const [google] = parseIssuers(
      '[{"preset":"google","audience":"x","principals":{"a@b.iam.gserviceaccount.com":{"tenant":"default","role":"reader"}}}]',
    );
    assert.equal(google?.issuer, 'https://accounts.google.com');
    const [ip] = parseIssuers(
      '[{"preset":"identity-platform","project":"p1","audience":"p1","tenantClaim":"firebase.tenant","tenants":["default"]}]',
    );
    assert.equal(ip?.issuer, 'https://securetoken.google.com/p1');
  });
});
