/**
 * The variants of the cached read that bench:api measures beside plain API keys (issue 18: "token
 * verification and the stream cost the cached read path nothing measurable"):
 * - **token**: the same read authenticated by an OpenID Connect bearer token (a JWT signed by a local
 *   JWKS issuer, dev/peers/jwks-issuer.ts, trusted through API_TOKEN_ISSUERS), on the same server;
 * - **streams**: the same read while N `/api/v1/anomalies/stream` subscribers hold their streams open
 *   on that server (opened before the run, closed after it).
 */
import { type ClientRequest, request } from 'node:http';
import { type JwksIssuer, startJwksIssuer } from '../../dev/peers/jwks-issuer.ts';

export interface TokenIssuer {
  /** API_TOKEN_ISSUERS for the server: this issuer, mapping every token to `tenant`. */
  env: Record<string, string>;
  /** A bearer token valid for the whole run. */
  token: string;
  idp: JwksIssuer;
  close(): Promise<void>;
}

const AUDIENCE = 'bench-api';

export async function startTokenIssuer(tenant: string): Promise<TokenIssuer> {
  const idp = await startJwksIssuer();
  // The limit as high as configuration allows (like the keys' in the bench): never refused under load.
  const issuers = [
    {
      issuer: idp.issuer,
      jwksUri: idp.jwksUri,
      audience: AUDIENCE,
      tenant,
      defaultRole: 'reader',
      rateLimitPerMinute: 1_000_000,
    },
  ];
  const token = await idp.sign({ sub: 'bench-client', aud: AUDIENCE }, { expiresIn: '6h' });
  return { env: { API_TOKEN_ISSUERS: JSON.stringify(issuers) }, token, idp, close: () => idp.close() };
}

export interface OpenStreams {
  /** Streams that answered 200 and sent their first comment. */
  open: number;
  /** Bytes the streams received so far (connect comments, heartbeats, events). */
  bytes(): number;
  /** Streams that ended while they should have been open. */
  ended(): number;
  close(): void;
}

/**
 * Opens `n` SSE subscriptions to the anomaly stream (one socket each, as browsers and integrators
 * hold them) and resolves once every one has answered 200 and written its `: connected` comment.
 */
export async function openStreams(
  port: number,
  n: number,
  headers: Record<string, string>,
): Promise<OpenStreams> {
  const requests: ClientRequest[] = [];
  let bytes = 0;
  let ended = 0;
  let closing = false;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/v1/anomalies/stream',
          headers: { ...headers, accept: 'text/event-stream' },
          agent: false,
        },
        (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`stream answered ${res.statusCode}`));
            res.resume();
            return;
          }
          let first = true;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (first) {
              first = false;
              resolve();
            }
          });
          res.on('end', () => {
            if (!closing) ended++;
          });
          res.on('error', () => {});
        },
      );
      req.on('error', (err) => {
        if (!closing) reject(err);
      });
      req.end();
      requests.push(req);
    });
  // A few at a time: the server reads each tenant's log position when a stream opens.
  for (let i = 0; i < n; i += 32) await Promise.all(Array.from({ length: Math.min(32, n - i) }, one));
  return {
    open: n,
    bytes: () => bytes,
    ended: () => ended,
    close() {
      closing = true;
      for (const req of requests) req.destroy();
    },
  };
}
