/**
 * A local OpenID Connect issuer for tests and benchmarks: a real HTTP server on a loopback port that
 * serves a JWKS document of keys it makes, and signs tokens with them (jose). Keys can be rotated
 * (a new kid replaces the served set) and the server stopped and started again on the same port, so
 * tests exercise the verifier's real fetching, caching and refusal paths.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

export async function makeSigningKey(kid = `k-${randomUUID().slice(0, 8)}`): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const spki = Buffer.from(await crypto.subtle.exportKey('spki', publicKey)).toString('base64');
  const publicPem = `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)?.join('\n')}\n-----END PUBLIC KEY-----\n`;
  return { kid, privateKey, publicJwk, publicPem };
}

export interface JwksIssuer {
  /** The issuer URL (`iss`), which is also the server's base URL. */
  issuer: string;
  jwksUri: string;
  /** The keys served now. */
  keys: SigningKey[];
  /** How many times the JWKS document was fetched. */
  fetches(): number;
  /** Signs a token (RS256) with `key` (the first served key by default); `exp` one hour ahead unless given. */
  sign(
    claims: JWTPayload,
    options?: { key?: SigningKey; kid?: string; expiresIn?: string | number },
  ): Promise<string>;
  /** Serves `keys` from now on (rotation). */
  serve(keys: SigningKey[]): void;
  /** Stops listening (the port refuses connections until `start`). */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startJwksIssuer(): Promise<JwksIssuer> {
  let keys = [await makeSigningKey()];
  let count = 0;
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((req, res) => {
        if (req.url === '/.well-known/jwks.json') {
          count += 1;
          res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
          res.end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
          return;
        }
        res.writeHead(404).end();
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
      server = undefined;
    });
  await listen();
  const issuer = `http://127.0.0.1:${port}`;
  return {
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    get keys() {
      return keys;
    },
    fetches: () => count,
    async sign(claims, options = {}) {
      const key = options.key ?? keys[0]!;
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? key.kid, typ: 'JWT' })
        .setIssuer(claims.iss ?? issuer)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '1h')
        .sign(key.privateKey);
    },
    serve(next) {
      keys = next;
    },
    stop,
    start: listen,
    close: stop,
  };
}
