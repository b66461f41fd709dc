/**
 * The typed client (packages/client, @wnm/client) against the real app over a database processed by
 * real cycles: its generated types match the live OpenAPI document (so it cannot drift from the API),
 * and an integrator's walk goes through it with typed answers: key → nodes → metrics → anomalies →
 * acknowledge, a problem as a typed error, and a conditional GET.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { OpenAPI3 } from 'openapi-typescript';
import { peerGate } from '../../dev/peers/index.ts';
import { createWnmClient, type WnmClient } from '../../packages/client/src/index.ts';
import { clientSchema, SCHEMA_FILE } from '../../scripts/client-generate.ts';
import { type ApiWorld, createApiWorld } from './fixtures.ts';

describe('the typed client @wnm/client', await peerGate('postgres'), () => {
  let w: ApiWorld;
  let app: ReturnType<ApiWorld['app']>;
  let api: WnmClient;

  before(async () => {
    w = await createApiWorld({ redis: 'none' });
    app = w.app();
    api = createWnmClient({
      baseUrl: 'http://api.test',
      token: w.tokens.operator,
      fetch: async (request) => app.fetch(request),
    });
  });
  after(() => w?.close());

  test('its generated types are what the live OpenAPI document declares (npm run client:generate)', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as OpenAPI3;
    assert.equal(
      readFileSync(SCHEMA_FILE, 'utf8'),
      await clientSchema(doc),
      'packages/client/src/schema.ts is out of date: run npm run client:generate',
    );
  });

  test('an integrator walks the API through it: nodes → metrics → anomalies → acknowledge', async () => {
    const nodes = await api.GET('/api/v1/nodes', { params: { query: { limit: 3 } } });
    assert.equal(nodes.response.status, 200);
    assert.equal(nodes.data?.data.length, 3);
    assert.ok(nodes.data?.next, 'a next cursor on a partial page');
    const id = nodes.data!.data[0]!.id;

    const metrics = await api.GET('/api/v1/nodes/{id}/metrics', {
      params: { path: { id }, query: { range: '24h' } },
    });
    assert.equal(metrics.response.status, 200);
    assert.ok(metrics.data);
    assert.ok(metrics.response.headers.get('x-cache-tier'));
    const etag = metrics.response.headers.get('etag')!;
    const again = await api.GET('/api/v1/nodes/{id}/metrics', {
      params: { path: { id }, query: { range: '24h' }, header: { 'If-None-Match': etag } },
    });
    assert.equal(again.response.status, 304);

    const open = await api.GET('/api/v1/anomalies', { params: { query: { status: 'open', limit: 1 } } });
    assert.equal(open.response.status, 200);
    const anomaly = open.data!.data[0]!;
    assert.equal(anomaly.status, 'open');

    const ack = await api.POST('/api/v1/anomalies/{id}/acknowledge', {
      params: { path: { id: anomaly.id } },
      body: { note: 'crew dispatched' },
    });
    assert.equal(ack.response.status, 200);
    assert.equal(ack.data?.status, 'acknowledged');
    assert.equal(ack.data?.note, 'crew dispatched');
  });

  test('a problem comes back as a typed error, not a throw', async () => {
    const missing = await api.GET('/api/v1/nodes/{id}', { params: { path: { id: 'no-such-node' } } });
    assert.equal(missing.response.status, 404);
    assert.equal(missing.data, undefined);
    assert.equal(missing.error?.type, '/docs/problems#not-found');
  });
});
