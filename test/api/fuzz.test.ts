/**
 * Property: whatever the path, query string, method and key, the API never answers 5xx (the peers
 * are up) and never shows a stack trace; every error is application/problem+json.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { peerGate } from '../../dev/peers/index.ts';
import { type ApiWorld, createApiWorld } from './fixtures.ts';

const SEGMENTS = [
  'api',
  'v1',
  'nodes',
  'metrics',
  'history',
  'readings',
  'network',
  'efficiency',
  'predictions',
  'quality',
  'anomalies',
  'acknowledge',
  'resolve',
  'dashboard',
  'summary',
  'status',
  'admin',
  'keys',
  'docs',
  'openapi.json',
  'health',
  'd01',
  'd01-inlet-1',
  'acme-d01-inlet-1',
  '..',
  '.',
  '',
  '%00',
  '%E0%A4%A',
  '%2F',
  '%',
  '😀',
];
const KEYS = [
  'range',
  'limit',
  'cursor',
  'from',
  'to',
  'resolution',
  'format',
  'status',
  'severity',
  'type',
  'node',
  'district',
  'period',
  'label',
  'kind',
  'revoked',
];
const VALUES = [
  '24h',
  '1h',
  '30d',
  '5m',
  '1d',
  'csv',
  'json',
  '0',
  '-1',
  '1000',
  '1001',
  '1e9',
  'NaN',
  'open,major',
  'open,',
  '2026-03-02',
  '2026-13-45T99:99:99Z',
  'eyJhIjoxfQ',
  'WyIxIl0',
  '%',
  '%ZZ',
  '[]',
  '{}',
  'null',
  'true',
];

const segment = fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 12 }).map(encodeURIComponent));
const path = fc.array(segment, { minLength: 0, maxLength: 6 }).map((parts) => `/${parts.join('/')}`);
const pair = fc.tuple(
  fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 }).map(encodeURIComponent)),
  fc.oneof(
    fc.constantFrom(...VALUES),
    fc.string({ maxLength: 20 }).map(encodeURIComponent),
    fc.string({ maxLength: 8 }),
  ),
);
const query = fc
  .array(pair, { maxLength: 5 })
  .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));
const prefixed = fc.oneof(
  path,
  path.map((p) => `/api/v1${p}`),
  fc
    .constantFrom('/api/v1/nodes/d01-inlet-1', '/api/v1/anomalies', '/api/v1/nodes/d01-inlet-1/history')
    .chain((p) => fc.constant(p)),
);

describe('any request', await peerGate('postgres', 'redis'), () => {
  let w: ApiWorld;
  before(async () => {
    w = await createApiWorld({ redis: 'none' });
  });
  after(() => w?.close());

  test('never a 5xx, never a stack trace, errors always problem+json', async () => {
    const app = w.app();
    const key = fc.constantFrom<string | null>(
      null,
      w.tokens.reader,
      w.tokens.operator,
      w.tokens.admin,
      'wnm_zzzzzzzz_x',
    );
    const method = fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS');
    const body = fc.option(fc.oneof(fc.json(), fc.string({ maxLength: 50 })), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(prefixed, query, method, key, body, async (p, q, m, token, b) => {
        const headers: Record<string, string> = {};
        if (token) headers.authorization = `Bearer ${token}`;
        if (b !== undefined) headers['content-type'] = 'application/json';
        const init: RequestInit = { method: m, headers };
        if (b !== undefined && m !== 'GET' && m !== 'HEAD') init.body = b;
        const res = await app.request(`http://api.test${p}${q}`, init);
        const text = await res.text();
        assert.ok(res.status < 500, `${m} ${p}${q} → ${res.status} ${text.slice(0, 300)}`);
        assert.doesNotMatch(
          text,
          /\n\s+at [\w.<]+ \(|node:internal|file:\/\//,
          `${m} ${p}${q} shows a stack trace`,
        );
        if (res.status >= 400 && m !== 'HEAD') {
          assert.equal(
            res.headers.get('content-type'),
            'application/problem+json',
            `${m} ${p}${q} → ${res.status}`,
          );
          const problem = JSON.parse(text) as { status: number; title: string };
          assert.equal(problem.status, res.status);
        }
      }),
      { numRuns: 400 },
    );
  });
});
