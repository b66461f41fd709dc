/**
 * Small consistencies of the API (issue 19): one answer to an inverted span, decimal page sizes only,
 * 405 with Allow on every known path, and the water balance's figures in one flat object (with the
 * OpenAPI document saying so).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { peerGate } from '../../dev/peers/index.ts';
import { type ApiWorld, createApiWorld, MAIN, withKey } from './fixtures.ts';

type App = ReturnType<ApiWorld['app']>;
type ProblemBody = { status: number; errors?: { parameter: string; reason: string }[] };

describe('API consistencies', await peerGate('postgres'), () => {
  let w: ApiWorld;
  let app: App;
  const get = (path: string, init: RequestInit = {}) => app.request(path, withKey(w.tokens.reader, init));

  before(async () => {
    w = await createApiWorld({ redis: 'none' });
    app = w.app();
  });
  after(() => w?.close());

  const assertBadParameter = async (res: Response, parameter: string) => {
    assert.equal(res.status, 400, await res.clone().text());
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const body = (await res.json()) as ProblemBody;
    assert.equal(body.status, 400);
    assert.ok(
      body.errors?.some((e) => e.parameter === parameter),
      JSON.stringify(body),
    );
  };

  test('from after (or at) to is a 400 on /anomalies, as on /nodes/{id}/history', async () => {
    const from = '2026-03-03T00:00:00Z';
    const to = '2026-03-02T00:00:00Z';
    await assertBadParameter(await get(`/api/v1/anomalies?from=${from}&to=${to}`), 'from');
    await assertBadParameter(await get(`/api/v1/anomalies?from=${from}&to=${from}`), 'from');
    await assertBadParameter(
      await get(`/api/v1/nodes/${w.mainNodes[0]}/history?from=${from}&to=${to}`),
      'from',
    );
    // The right way round still answers.
    assert.equal((await get(`/api/v1/anomalies?from=${to}&to=${from}`)).status, 200);
  });

  test('limit takes decimal integers only', async () => {
    for (const limit of ['0x10', '1e2', '%2016', '16.0', '-1', '0', '1001', '']) {
      await assertBadParameter(await get(`/api/v1/anomalies?limit=${limit}`), 'limit');
      await assertBadParameter(await get(`/api/v1/nodes?limit=${limit}`), 'limit');
    }
    const page = await get('/api/v1/nodes?limit=2');
    assert.equal(page.status, 200);
    assert.equal(((await page.json()) as { data: unknown[] }).data.length, 2);
    const whole = await get('/api/v1/nodes');
    assert.equal(((await whole.json()) as { data: unknown[] }).data.length, w.mainNodes.length);
    // The document still says what a client may send: an integer 1–1000, 100 by default.
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, { get: { parameters: { name: string; schema: Record<string, unknown> }[] } }>;
    };
    const limit = doc.paths['/api/v1/anomalies']!.get.parameters.find((p) => p.name === 'limit')!;
    assert.equal(limit.schema.type, 'integer', JSON.stringify(limit));
    assert.equal(limit.schema.minimum, 1);
    assert.equal(limit.schema.maximum, 1000);
    assert.equal(limit.schema.default, 100);
  });

  test('a wrong method on /health, /docs and /openapi.json is a 405 with Allow, as on the API', async () => {
    for (const [path, method] of [
      ['/health', 'POST'],
      ['/docs', 'DELETE'],
      ['/openapi.json', 'PUT'],
      ['/api/v1/nodes', 'DELETE'],
    ] as const) {
      const res = await app.request(path, withKey(w.tokens.admin, { method }));
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), 'GET, HEAD', `${method} ${path}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
    assert.equal((await app.request('/health')).status, 200);
    assert.equal((await app.request('/nowhere', { method: 'POST' })).status, 404);
    assert.equal((await app.request('/healthz')).status, 404);
  });

  test('the water balance serves its figures flat, network-wide as per district', async () => {
    // The cycle's own network-wide rows (the fixture adds flat ones): their stored body nests `figures`.
    const stored = await w.db.sql<{ kind: string; label: string }[]>`
      select period_kind as kind, period_label as label from network_efficiency
      where tenant_id = ${MAIN} and district_id = '*' and body ? 'figures'`;
    assert.ok(stored.length > 0, 'the cycle stored no network-wide balance');
    for (const { kind, label } of stored) {
      const res = await get(`/api/v1/network/efficiency?period=${kind}&label=${label}`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        network: { figures: Record<string, unknown> } | null;
        districts: { figures: Record<string, unknown> }[];
      };
      const network = body.network!.figures;
      assert.equal(network.figures, undefined, JSON.stringify(network));
      assert.ok('systemInputM3' in network && 'nrwPercent' in network, JSON.stringify(network));
      assert.equal(typeof network.districts, 'number');
      for (const d of body.districts) {
        assert.equal(d.figures.figures, undefined);
        assert.equal(d.figures.inputs, undefined, 'meter inputs are internal');
        assert.ok('systemInputM3' in d.figures, JSON.stringify(d.figures));
      }
    }
    const doc = (await (await app.request('/openapi.json')).json()) as {
      components: { schemas: Record<string, { properties: Record<string, { type?: string }> }> };
    };
    assert.equal(doc.components.schemas.WaterBalance!.properties.figures!.type, 'object');
  });
});
