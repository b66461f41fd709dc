/**
 * The OpenAPI document as a contract a client generator can rely on, walked from /openapi.json (so
 * routes added later are checked too): every operation has a unique operationId; every cached read
 * declares If-None-Match and the ETag / X-Cache-Tier / RateLimit-* headers it sends, and honours
 * If-None-Match with a 304; CSV answers carry Content-Disposition; problem `type`s are URIs of the
 * catalogue at /docs/problems, listed in the API description.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { peerGate } from '../../dev/peers/index.ts';
import { PROBLEM_TYPES } from '../../shared/api/problem.ts';
import { type ApiWorld, createApiWorld, MAIN, withKey } from './fixtures.ts';

type App = ReturnType<ApiWorld['app']>;
interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string }[];
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }>;
}
interface Doc {
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
}

describe('the OpenAPI document as a contract', await peerGate('postgres'), () => {
  let w: ApiWorld;
  let app: App;
  let doc: Doc;
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ path, method, op })),
    );

  before(async () => {
    w = await createApiWorld({ redis: 'none' });
    app = w.app();
    doc = (await (await app.request('/openapi.json')).json()) as Doc;
  });
  after(() => w?.close());

  test('every route compiles into one RegExpRouter (the TrieRouter fallback cost every request ~5 µs)', async () => {
    await app.request('/health');
    assert.equal(app.router.name, 'SmartRouter + RegExpRouter');
  });

  test('every operation has an operationId, unique and camelCase', () => {
    const ops = operations();
    assert.ok(ops.length >= 18, `only ${ops.length} operations`);
    const missing = ops.filter((o) => !o.op.operationId).map((o) => `${o.method.toUpperCase()} ${o.path}`);
    assert.deepEqual(missing, [], 'operations without an operationId');
    const ids = ops.map((o) => o.op.operationId!);
    assert.equal(new Set(ids).size, ids.length, `duplicate operationIds: ${ids}`);
    for (const id of ids) assert.match(id, /^[a-z][A-Za-z0-9]*$/);
  });

  test('every error response of an authenticated route documents its headers (Retry-After on 429 and 503)', () => {
    const missing: string[] = [];
    for (const { path, method, op } of operations()) {
      if (!path.startsWith('/api/')) continue;
      const where = `${method.toUpperCase()} ${path}`;
      if (!op.responses['429']?.headers?.['Retry-After']) missing.push(`${where}: 429 without Retry-After`);
      if (!op.responses['503']?.headers?.['Retry-After']) missing.push(`${where}: 503 without Retry-After`);
      if (!op.responses['401']?.headers?.['WWW-Authenticate'])
        missing.push(`${where}: 401 without WWW-Authenticate`);
      const success = Object.keys(op.responses).find((code) => code.startsWith('2'));
      if (!success || !op.responses[success]?.headers?.['RateLimit-Limit'])
        missing.push(`${where}: success without RateLimit-* headers`);
    }
    assert.deepEqual(missing, []);
  });

  test('each GET that declares If-None-Match sends the headers it declares and answers 304 to its ETag', async () => {
    const [anomaly] = await w.db.sql<{ id: string }[]>`
      select id from anomalies where tenant_id = ${MAIN} order by id limit 1`;
    const node = w.mainNodes[0]!;
    const concrete = (path: string) =>
      path.startsWith('/api/v1/anomalies/') ? path.replace('{id}', anomaly!.id) : path.replace('{id}', node);
    let checked = 0;
    for (const { path, method, op } of operations()) {
      if (method !== 'get' || !op.parameters?.some((p) => p.in === 'header' && p.name === 'If-None-Match'))
        continue;
      const declared = Object.keys(op.responses['200']?.headers ?? {});
      for (const h of ['ETag', 'X-Cache-Tier', 'RateLimit-Remaining'])
        assert.ok(declared.includes(h), `${path}: ${h}`);
      const url = concrete(path);
      const res = await app.request(url, withKey(w.tokens.reader));
      assert.equal(res.status, 200, `${url}: ${await res.clone().text()}`);
      for (const h of ['ETag', 'X-Cache-Tier', 'RateLimit-Remaining', 'Cache-Control']) {
        assert.ok(res.headers.get(h), `${url} sent no ${h}`);
      }
      if (res.headers.get('link'))
        assert.ok(declared.includes('Link'), `${path} sends Link without declaring it`);
      const again = await app.request(
        url,
        withKey(w.tokens.reader, { headers: { 'if-none-match': res.headers.get('etag')! } }),
      );
      assert.equal(again.status, 304, url);
      checked += 1;
    }
    assert.ok(checked >= 10, `only ${checked} conditional GETs`);
  });

  test('CSV answers carry Content-Disposition, declared in the document', async () => {
    const op = doc.paths['/api/v1/nodes/{id}/history']!.get!;
    assert.ok(op.responses['200']!.content!['text/csv']);
    assert.ok(op.responses['200']!.headers!['Content-Disposition']);
    const node = w.mainNodes[0]!;
    const res = await app.request(`/api/v1/nodes/${node}/history?format=csv`, withKey(w.tokens.reader));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="${node}-history-1h.csv"`);
  });

  test('problem types are URIs of the catalogue, each documented there and in the API description', async () => {
    const page = await (await app.request('/docs/problems')).text();
    for (const slug of Object.keys(PROBLEM_TYPES)) {
      assert.ok(page.includes(`id="${slug}"`), `/docs/problems has no #${slug}`);
      assert.ok(doc.info.description.includes(`/docs/problems#${slug}`), `description lacks ${slug}`);
    }
    const problems: [string, Response][] = [
      ['unauthorized', await app.request('/api/v1/nodes')],
      ['not-found', await app.request('/api/v1/nodes/no-such-node', withKey(w.tokens.reader))],
      ['invalid-request', await app.request('/api/v1/nodes?limit=0', withKey(w.tokens.reader))],
      [
        'method-not-allowed',
        await app.request('/api/v1/nodes', withKey(w.tokens.reader, { method: 'DELETE' })),
      ],
      ['forbidden', await app.request('/api/v1/admin/keys', withKey(w.tokens.reader))],
    ];
    for (const [slug, res] of problems) {
      const body = (await res.json()) as { type: string };
      assert.equal(body.type, `/docs/problems#${slug}`);
    }
  });
});
