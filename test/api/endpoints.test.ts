/**
 * Every endpoint of the API over data a real cycle produced (PostgreSQL + Redis through the Upstash
 * protocol): shapes, filters, paging invariants, CSV, ETag/304, compression, problem+json errors,
 * anomaly transitions, key management, rate limits and the keys CLI.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { peerGate } from '../../dev/peers/index.ts';
import { MemoryCache } from '../../shared/adapters/cache/memory.ts';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import { createKey } from '../../shared/api/auth/keys.ts';
import { createLogger } from '../../shared/log.ts';
import { createRateLimiter } from '../../shared/wiring/api.ts';
import { type ApiWorld, createApiWorld, MAIN, withKey } from './fixtures.ts';

const run = promisify(execFile);
type App = ReturnType<ApiWorld['app']>;

describe('API endpoints', await peerGate('postgres', 'redis'), () => {
  let w: ApiWorld;
  let app: App;
  const get = (path: string, init: RequestInit = {}) => app.request(path, withKey(w.tokens.reader, init));
  const json = async <T = Record<string, unknown>>(path: string) => {
    const res = await get(path);
    assert.equal(res.status, 200, `${path}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as T;
  };

  before(async () => {
    w = await createApiWorld({ redis: 'peer' });
    app = w.app();
  });
  after(() => w?.close());

  test('/health answers without a key and touches nothing', async () => {
    const res = await app.request('/health');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');
  });

  test('a cached read says which tier answered, how long it took, and carries an ETag and Cache-Control', async () => {
    const node = w.mainNodes[0]!;
    const first = await get(`/api/v1/nodes/${node}/metrics?range=24h`);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-cache-tier'), 'redis', 'the cycle wrote it to Redis');
    assert.match(first.headers.get('server-timing') ?? '', /redis;desc="hit";dur=\d/);
    assert.match(first.headers.get('cache-control') ?? '', /max-age=\d+/);
    assert.equal(first.headers.get('x-content-type-options'), 'nosniff');
    assert.match(first.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const etag = first.headers.get('etag')!;
    assert.ok(etag);
    const second = await get(`/api/v1/nodes/${node}/metrics?range=24h`);
    assert.equal(second.headers.get('x-cache-tier'), 'memory');
    assert.equal(second.headers.get('etag'), etag);
    const body = (await second.json()) as { nodeId: string; range: string; metrics: Record<string, unknown> };
    assert.equal(body.nodeId, node);
    assert.equal(body.range, '24h');
    const notModified = await get(`/api/v1/nodes/${node}/metrics?range=24h`, {
      headers: { 'if-none-match': `W/${etag}, "other"` },
    });
    assert.equal(notModified.status, 304);
    assert.equal(await notModified.text(), '');
    assert.equal(notModified.headers.get('etag'), etag);
  });

  test('a miss in Redis is read from PostgreSQL and fills the tiers above', async () => {
    const node = w.mainNodes[1]!;
    await w.main.api.cache.del([`t:${MAIN}:node:${node}:metrics:7d`]);
    const fresh = w.app();
    const a = await fresh.request(`/api/v1/nodes/${node}/metrics?range=7d`, withKey(w.tokens.reader));
    assert.equal(a.headers.get('x-cache-tier'), 'postgres');
    const stored = await w.db.sql<{ body: unknown }[]>`
      select body -> '7d' as body from node_windows where node_id = ${node}`;
    assert.deepEqual(await a.json(), stored[0]!.body);
    const b = await w.app().request(`/api/v1/nodes/${node}/metrics?range=7d`, withKey(w.tokens.reader));
    assert.equal(b.headers.get('x-cache-tier'), 'redis', 'the PostgreSQL answer was written back to Redis');
  });

  test('bodies above 1 KB are gzipped when the client accepts it', async () => {
    const res = await get(`/api/v1/nodes/${w.mainNodes[0]}/history?resolution=1h`, {
      headers: { 'accept-encoding': 'gzip, br' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    const text = gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8');
    assert.ok(text.length > 1024);
    assert.ok(JSON.parse(text).points.length > 0);
    const plain = await get(`/api/v1/nodes/${w.mainNodes[0]}/history?resolution=1h`);
    assert.equal(plain.headers.get('content-encoding'), null);
  });

  test('a problem under 1 KB goes out as it is, with its length, even when the client accepts gzip', async () => {
    const res = await get('/api/v1/predictions/nothing-here', { headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-encoding'), null);
    const body = Buffer.from(await res.arrayBuffer());
    assert.ok(body.length < 1024);
    assert.equal(res.headers.get('content-length'), String(body.length));
    assert.equal((JSON.parse(body.toString('utf8')) as { status: number }).status, 404);
  });

  test('/nodes pages partition the registry: no duplicates, stable order, Link to the next page', async () => {
    const expected = w.mainNodes;
    for (const limit of [1, 3, 5, 100]) {
      const seen: string[] = [];
      let url: string | null = `/api/v1/nodes?limit=${limit}`;
      let pages = 0;
      while (url) {
        const res = await get(url);
        assert.equal(res.status, 200);
        const page = (await res.json()) as { data: { id: string }[]; next: string | null };
        assert.ok(page.data.length <= limit);
        seen.push(...page.data.map((n) => n.id));
        const link = res.headers.get('link');
        if (page.next) assert.match(link ?? '', /^<\/api\/v1\/nodes\?.*cursor=.*>; rel="next"$/);
        else assert.equal(link, null);
        url = link ? link.slice(1, link.indexOf('>')) : null;
        pages += 1;
      }
      assert.deepEqual(seen, expected, `limit ${limit}`);
      assert.equal(pages, Math.max(1, Math.ceil(expected.length / limit)));
    }
    const inlets = await json<{ data: { kind: string; districtId: string }[] }>('/api/v1/nodes?kind=inlet');
    assert.ok(inlets.data.length > 0 && inlets.data.every((n) => n.kind === 'inlet'));
    const d = await json<{ data: { districtId: string }[] }>('/api/v1/nodes?district=d01');
    assert.ok(d.data.every((n) => n.districtId === 'd01'));
  });

  test('paging parameters are validated: limit 1–1000, cursors only from this list', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'cursor=bm90LWEtY3Vyc29y']) {
      const res = await get(`/api/v1/nodes?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const problem = (await res.json()) as { errors: { parameter: string; reason: string }[] };
      assert.equal(problem.errors[0]!.parameter, q.split('=')[0]);
      assert.ok(problem.errors[0]!.reason.length > 0);
    }
    const max = await json<{ data: unknown[] }>('/api/v1/nodes?limit=1000');
    assert.equal(max.data.length, w.mainNodes.length);
  });

  test('one node, its latest readings, and 404 for an unknown one', async () => {
    const node = w.mainNodes[2]!;
    const meta = await json<{ id: string; metrics: string[] }>(`/api/v1/nodes/${node}`);
    assert.equal(meta.id, node);
    const readings = await json<{ nodeId: string; values: Record<string, { value: number }> }>(
      `/api/v1/nodes/${node}/readings`,
    );
    assert.equal(readings.nodeId, node);
    const [latest] = await w.db.sql<{ body: Record<string, { value: number }> }[]>`
      select body from node_latest where node_id = ${node}`;
    for (const [metric, v] of Object.entries(latest!.body))
      assert.equal(readings.values[metric]!.value, v.value);
    const missing = await get('/api/v1/nodes/no-such-node');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
  });

  test('history: JSON and CSV of the same points, bounded spans with a clear 400', async () => {
    const node = w.mainNodes.find((n) => n.includes('inlet'))!;
    const from = '2026-03-02T06:00:00Z';
    const to = '2026-03-02T12:00:00Z';
    const body = await json<{ points: { t: string; metric: string; count: number; mean: number }[] }>(
      `/api/v1/nodes/${node}/history?resolution=1h&from=${from}&to=${to}`,
    );
    const rows = await w.db.sql<{ n: number }[]>`
      select count(*)::int4 as n from agg_1h where node_id = ${node} and bucket >= ${from} and bucket < ${to}`;
    assert.equal(body.points.length, rows[0]!.n);
    assert.ok(body.points.every((p) => p.t >= '2026-03-02T06:00' && p.t < '2026-03-02T12:00'));
    const csvRes = await get(`/api/v1/nodes/${node}/history?resolution=1h&from=${from}&to=${to}`, {
      headers: { accept: 'text/csv' },
    });
    assert.equal(csvRes.status, 200);
    assert.match(csvRes.headers.get('content-type') ?? '', /^text\/csv/);
    const lines = (await csvRes.text()).trim().split('\r\n');
    assert.equal(lines[0], 't,metric,count,mean,min,max,stddev,p05,p50,p95,first,last');
    assert.equal(lines.length - 1, body.points.length);
    const [t, metric, count, mean] = lines[1]!.split(',');
    assert.equal(t, body.points[0]!.t);
    assert.equal(metric, body.points[0]!.metric);
    assert.equal(Number(count), body.points[0]!.count);
    assert.equal(Number(mean), body.points[0]!.mean);
    const viaQuery = await get(
      `/api/v1/nodes/${node}/history?resolution=1h&from=${from}&to=${to}&format=csv`,
    );
    assert.match(viaQuery.headers.get('content-type') ?? '', /^text\/csv/);
    const fiveMin = await json<{ points: { t: string }[] }>(`/api/v1/nodes/${node}/history?resolution=5m`);
    assert.ok(fiveMin.points.length > 0, 'the default span ends with the latest reading');

    const tooLong = await get(
      `/api/v1/nodes/${node}/history?resolution=5m&from=2026-03-01T00:00:00Z&to=2026-03-05T00:00:00Z`,
    );
    assert.equal(tooLong.status, 400);
    assert.match(
      ((await tooLong.json()) as { detail: string }).detail,
      /to: the span may be at most 2 days at resolution 5m/,
    );
    const backwards = await get(`/api/v1/nodes/${node}/history?from=${to}&to=${from}`);
    assert.equal(backwards.status, 400);
    const badDate = await get(`/api/v1/nodes/${node}/history?from=yesterday`);
    assert.equal(badDate.status, 400);
    assert.equal(
      ((await badDate.json()) as { errors: { parameter: string }[] }).errors[0]!.parameter,
      'from',
    );
  });

  test('network metrics per range, and the dashboard, as the fan-in stored them', async () => {
    for (const range of ['1h', '24h', '7d']) {
      const body = await json<{ range: string }>(`/api/v1/network/metrics?range=${range}`);
      const [stored] = await w.db.sql<{ body: unknown }[]>`
        select body from network_snapshots where tenant_id = ${MAIN} and kind = ${`network:${range}`}`;
      const value = typeof stored!.body === 'string' ? JSON.parse(stored!.body) : stored!.body;
      assert.deepEqual(body, value);
      const fromPostgres = await w
        .app({}, { cache: new MemoryCache() })
        .request(`/api/v1/network/metrics?range=${range}`, withKey(w.tokens.reader));
      assert.equal(fromPostgres.headers.get('x-cache-tier'), 'postgres');
      assert.deepEqual(await fromPostgres.json(), value);
    }
    const summary = await json<{ tenantId: string; nodes: { total: number } }>('/api/v1/dashboard/summary');
    assert.equal(summary.tenantId, MAIN);
    assert.equal(summary.nodes.total, w.mainNodes.length);
  });

  test('network efficiency: latest period per district and network-wide, filters by district, period and label', async () => {
    const day = await json<{
      network: { periodLabel: string } | null;
      districts: { districtId: string; periodLabel: string }[];
    }>('/api/v1/network/efficiency');
    const [latest] = await w.db.sql<{ label: string }[]>`
      select max(period_label) as label from network_efficiency where tenant_id = ${MAIN} and period_kind = 'day' and district_id = '*'`;
    assert.equal(day.network?.periodLabel, latest!.label);
    assert.ok(day.districts.length > 0);
    const month = await json<{ districts: { periodKind: string }[] }>(
      '/api/v1/network/efficiency?period=month',
    );
    assert.ok(month.districts.every((d) => d.periodKind === 'month'));
    const one = await json<{ network: unknown; districts: { districtId: string }[] }>(
      '/api/v1/network/efficiency?district=d01&label=2026-03-01',
    );
    assert.deepEqual(
      one.districts.map((d) => d.districtId),
      ['d01'],
    );
    assert.equal(one.network, null);
    assert.equal((await get('/api/v1/network/efficiency?district=nope')).status, 404);
    assert.equal((await get('/api/v1/network/efficiency?label=March')).status, 400);
  });

  test('predictions of a node and of a district, hourly with 80 % and 95 % intervals', async () => {
    const [target] = await w.db.sql<{ target_id: string }[]>`
      select target_id from predictions where tenant_id = ${MAIN} and target_kind = 'district' limit 1`;
    const body = await json<{
      targetKind: string;
      points: { t: string; mean: number; lo80: number; hi80: number; lo95: number; hi95: number }[];
    }>(`/api/v1/predictions/${target!.target_id}`);
    assert.equal(body.targetKind, 'district');
    assert.ok(body.points.length > 0);
    for (const p of body.points)
      assert.ok(p.lo95 <= p.lo80 && p.lo80 <= p.mean && p.mean <= p.hi80 && p.hi80 <= p.hi95);
    assert.equal(Date.parse(body.points[1]!.t) - Date.parse(body.points[0]!.t), 3_600_000);
    assert.equal((await get('/api/v1/predictions/nothing-here')).status, 404);
  });

  test('quality of a node and of a district over a window', async () => {
    const [row] = await w.db.sql<{ node_id: string }[]>`
      select q.node_id from quality_5m q join nodes n on n.id = q.node_id where n.tenant_id = ${MAIN} limit 1`;
    const node = await json<{ targetKind: string; report: { score: number; received: number } }>(
      `/api/v1/quality/${row!.node_id}?range=24h`,
    );
    assert.equal(node.targetKind, 'node');
    assert.ok(node.report.received > 0);
    assert.ok(node.report.score >= 0 && node.report.score <= 100);
    const district = await json<{ targetKind: string; district: { nodes: number } }>('/api/v1/quality/d01');
    assert.equal(district.targetKind, 'district');
    assert.ok(district.district.nodes > 0);
    assert.equal((await get('/api/v1/quality/d01?range=1y')).status, 400);
  });

  test('anomalies: filters, newest first, pages partition the set', async () => {
    const all = await w.db.sql<{ id: string; status: string; started_at: Date }[]>`
      select id, status, started_at from anomalies where tenant_id = ${MAIN} and status <> 'pending'
      order by started_at desc, id desc`;
    for (const limit of [1, 7, 100]) {
      const ids: string[] = [];
      let url: string | null = `/api/v1/anomalies?limit=${limit}`;
      while (url) {
        const res = await get(url);
        assert.equal(res.status, 200);
        const page = (await res.json()) as { data: { id: string }[]; next: string | null };
        assert.ok(page.data.length <= limit);
        ids.push(...page.data.map((a) => a.id));
        url = page.next ? `/api/v1/anomalies?limit=${limit}&cursor=${page.next}` : null;
      }
      assert.equal(new Set(ids).size, ids.length, 'no duplicates');
      assert.deepEqual(
        ids,
        all.map((a) => a.id),
        `limit ${limit}: every anomaly once, newest first`,
      );
    }
    const open = await json<{ data: { status: string; severity: string }[] }>(
      '/api/v1/anomalies?status=open&severity=major,critical&limit=1000',
    );
    assert.ok(open.data.length > 0);
    assert.ok(open.data.every((a) => a.status === 'open' && ['major', 'critical'].includes(a.severity)));
    const pending = await json<{ data: { status: string }[] }>('/api/v1/anomalies?status=pending');
    assert.ok(pending.data.every((a) => a.status === 'pending'));
    const node = w.mainNodes[0]!;
    const byNode = await json<{ data: { nodeId: string }[] }>(
      `/api/v1/anomalies?node=${node}&status=open,acknowledged,resolved,pending`,
    );
    const [count] = await w.db.sql<
      { n: number }[]
    >`select count(*)::int4 as n from anomalies where node_id = ${node}`;
    assert.equal(byNode.data.length, count!.n);
    const byType = await json<{ data: { type: string }[] }>('/api/v1/anomalies?type=burst');
    assert.ok(byType.data.every((a) => a.type === 'burst'));
    const window = await json<{ data: { startedAt: string }[] }>(
      '/api/v1/anomalies?from=2026-03-02T20:00:00Z&to=2026-03-02T22:00:00Z&limit=1000',
    );
    assert.ok(window.data.every((a) => a.startedAt < '2026-03-02T22:00:00'));
    for (const bad of ['status=closed', 'severity=huge', 'type=alien', 'from=soon', 'limit=5000']) {
      const res = await get(`/api/v1/anomalies?${bad}`);
      assert.equal(res.status, 400, bad);
    }
  });

  test('acknowledge and resolve: operator role, idempotent repeats, 409 for impossible transitions', async () => {
    const [open] = await w.db.sql<{ id: string }[]>`
      select id from anomalies where tenant_id = ${MAIN} and status = 'open' order by id limit 1`;
    const [pending] = await w.db.sql<{ id: string }[]>`
      select id from anomalies where tenant_id = ${MAIN} and status = 'pending' order by id limit 1`;
    const post = (token: string, path: string, body?: unknown) =>
      app.request(
        path,
        withKey(token, {
          method: 'POST',
          ...(body === undefined
            ? {}
            : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        }),
      );
    const id = open!.id;
    assert.equal((await post(w.tokens.reader, `/api/v1/anomalies/${id}/acknowledge`)).status, 403);
    const list = await get(`/api/v1/anomalies/${id}`);
    assert.equal(((await list.json()) as { status: string }).status, 'open');

    const ack = await post(w.tokens.operator, `/api/v1/anomalies/${id}/acknowledge`, { note: 'crew sent' });
    assert.equal(ack.status, 200);
    const acked = (await ack.json()) as { status: string; acknowledgedBy: string; note: string };
    assert.equal(acked.status, 'acknowledged');
    assert.match(acked.acknowledgedBy, /^key:/);
    assert.equal(acked.note, 'crew sent');
    assert.equal(
      ((await (await get(`/api/v1/anomalies/${id}`)).json()) as { status: string }).status,
      'acknowledged',
    );
    assert.equal(
      (await post(w.tokens.operator, `/api/v1/anomalies/${id}/acknowledge`)).status,
      200,
      'repeat',
    );

    const resolved = await post(w.tokens.operator, `/api/v1/anomalies/${id}/resolve`, {});
    assert.equal(resolved.status, 200);
    assert.equal(((await resolved.json()) as { status: string }).status, 'resolved');
    assert.equal((await post(w.tokens.operator, `/api/v1/anomalies/${id}/resolve`)).status, 200, 'repeat');
    const again = await post(w.tokens.operator, `/api/v1/anomalies/${id}/acknowledge`);
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { currentStatus: string }).currentStatus, 'resolved');
    assert.equal((await post(w.tokens.operator, `/api/v1/anomalies/${pending!.id}/resolve`)).status, 409);
    assert.equal((await post(w.tokens.operator, '/api/v1/anomalies/not-there/resolve')).status, 404);
    const badBody = await post(w.tokens.operator, `/api/v1/anomalies/${pending!.id}/acknowledge`, {
      note: 5,
    });
    assert.equal(badBody.status, 400);
    const unknownField = await post(w.tokens.operator, `/api/v1/anomalies/${pending!.id}/acknowledge`, {
      by: 'me',
    });
    assert.equal(unknownField.status, 400);
    const malformed = await app.request(
      `/api/v1/anomalies/${pending!.id}/acknowledge`,
      withKey(w.tokens.operator, {
        method: 'POST',
        body: '{not json',
        headers: { 'content-type': 'application/json' },
      }),
    );
    assert.equal(malformed.status, 400);
    assert.equal(malformed.headers.get('content-type'), 'application/problem+json');
  });

  test('/status: runs, freshness, tiers, models and bytes processed', async () => {
    const s = await json<{
      status: string;
      tiers: { hot: { ok: boolean; kind: string }; postgres: { ok: boolean } };
      runs: { status: string }[];
      freshness: { latestReadingAt: string; stale: boolean };
      stale: boolean;
      models: { role: string; models: number }[];
      bytesProcessed: { lastRun: number; last24h: number };
    }>('/api/v1/status');
    // Every tier is up, but the world's readings end on 2026-03-03: stale data, said in one voice.
    assert.equal(s.freshness.stale, true);
    assert.equal(s.stale, true);
    assert.equal(s.status, 'degraded');
    assert.equal(s.tiers.hot.kind, 'upstash');
    assert.ok(s.tiers.postgres.ok);
    const [runs] = await w.db.sql<
      { n: number }[]
    >`select count(*)::int4 as n from runs where tenant_id = ${MAIN}`;
    assert.equal(s.runs.length, Math.min(10, runs!.n));
    const [latest] = await w.db.sql<{ ts: Date }[]>`
      select max(l.ts) as ts from node_latest l join nodes n on n.id = l.node_id where n.tenant_id = ${MAIN}`;
    assert.equal(s.freshness.latestReadingAt, latest!.ts.toISOString());
    assert.ok(s.models.some((m) => m.role === 'champion' && m.models > 0));
    assert.ok(s.bytesProcessed.last24h >= s.bytesProcessed.lastRun);
  });

  test('errors are problem+json without stack traces: 404, 405, 413, 401', async () => {
    const notFound = await get('/api/v1/nowhere');
    assert.equal(notFound.status, 404);
    const wrongMethod = await app.request(
      `/api/v1/nodes/${w.mainNodes[0]}`,
      withKey(w.tokens.admin, { method: 'DELETE' }),
    );
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET, HEAD');
    const big = await app.request(
      '/api/v1/admin/keys',
      withKey(w.tokens.admin, {
        method: 'POST',
        body: JSON.stringify({ role: 'reader', name: 'x'.repeat(40_000) }),
        headers: { 'content-type': 'application/json' },
      }),
    );
    assert.equal(big.status, 413);
    const noKey = await app.request('/api/v1/nodes');
    assert.equal(noKey.status, 401);
    assert.match(noKey.headers.get('www-authenticate') ?? '', /^Bearer/);
    for (const res of [notFound, wrongMethod, big, noKey]) {
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const text = await res.text();
      assert.doesNotMatch(text, /\n\s+at /);
      const body = JSON.parse(text) as { status: number; title: string };
      assert.equal(body.status, res.status);
    }
  });

  test('admins manage their tenant’s keys; a revoked key stops working', async () => {
    const admin = (init: RequestInit = {}) => withKey(w.tokens.admin, init);
    const created = await app.request(
      '/api/v1/admin/keys',
      admin({
        method: 'POST',
        body: JSON.stringify({ role: 'reader', name: 'tmp' }),
        headers: { 'content-type': 'application/json' },
      }),
    );
    assert.equal(created.status, 201);
    const { key, token } = (await created.json()) as { key: { id: string; tenantId: string }; token: string };
    assert.equal(key.tenantId, MAIN);
    assert.match(token, /^wnm_[a-z0-9]+_[A-Za-z0-9_-]{43}$/);
    const [row] = await w.db.sql<
      { secret_hash: string }[]
    >`select secret_hash from api_keys where id = ${key.id}`;
    assert.ok(!token.includes(row!.secret_hash), 'only a hash is stored');
    assert.equal((await app.request('/api/v1/nodes', withKey(token))).status, 200);
    const listed = (await (await app.request('/api/v1/admin/keys', admin())).json()) as {
      data: { id: string }[];
    };
    assert.ok(listed.data.some((k) => k.id === key.id));
    assert.equal(
      (await app.request(`/api/v1/admin/keys/${key.id}`, admin({ method: 'DELETE' }))).status,
      200,
    );
    assert.equal(
      (await app.request('/api/v1/nodes', withKey(token))).status,
      401,
      'revoked at once on this instance',
    );
    const otherTenantKey = await createKey(postgresKeyStore(w.db.sql), {
      tenantId: 'acme',
      role: 'reader',
      name: 'x',
      rateLimitPerMinute: 10,
    });
    assert.equal(
      (await app.request(`/api/v1/admin/keys/${otherTenantKey.record.id}`, admin({ method: 'DELETE' })))
        .status,
      404,
      'another tenant’s key is not found',
    );
  });

  test('rate limits per key: 429 with RateLimit headers and Retry-After', async () => {
    const { token } = await createKey(postgresKeyStore(w.db.sql), {
      tenantId: MAIN,
      role: 'reader',
      name: 'slow',
      rateLimitPerMinute: 3,
    });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await app.request('/api/v1/dashboard/summary', withKey(token));
      statuses.push(last.status);
      if (i === 0) {
        assert.equal(last.headers.get('ratelimit-limit'), '3');
        assert.equal(last.headers.get('ratelimit-remaining'), '2');
      }
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.ok(Number(last!.headers.get('retry-after')) >= 1);
    assert.equal(last!.headers.get('ratelimit-remaining'), '0');
    assert.equal(last!.headers.get('content-type'), 'application/problem+json');
    assert.equal(
      (await app.request('/api/v1/dashboard/summary', withKey(w.tokens.reader))).status,
      200,
      'per key',
    );
  });

  test('rate limits across instances with leases on Redis (Upstash protocol)', async () => {
    const limiter = await createRateLimiter(w.main.config, createLogger({ level: 'error' }));
    assert.equal(limiter.name, 'upstash');
    const { token } = await createKey(postgresKeyStore(w.db.sql), {
      tenantId: MAIN,
      role: 'reader',
      name: 'shared',
      rateLimitPerMinute: 4,
    });
    // Two instances share the key's budget through Redis.
    const a = w.app({}, { rateLimiter: limiter });
    const b = w.app(
      {},
      { rateLimiter: await createRateLimiter(w.main.config, createLogger({ level: 'error' })) },
    );
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await (i % 2 ? b : a).request('/api/v1/nodes', withKey(token))).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
  });

  test('CORS: the allow-list is honoured, preflights answered, other origins get no CORS headers', async () => {
    const cors = w.app({ corsOrigins: ['https://ops.example'] });
    const preflight = await cors.request('/api/v1/nodes', {
      method: 'OPTIONS',
      headers: { origin: 'https://ops.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://ops.example');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    const allowed = await cors.request(
      `/api/v1/nodes/${w.mainNodes[0]}/metrics`,
      withKey(w.tokens.reader, { headers: { origin: 'https://ops.example' } }),
    );
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://ops.example');
    assert.match(allowed.headers.get('access-control-expose-headers') ?? '', /X-Cache-Tier/);
    const other = await cors.request(
      '/api/v1/nodes',
      withKey(w.tokens.reader, { headers: { origin: 'https://evil.example' } }),
    );
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const none = await app.request(
      '/api/v1/nodes',
      withKey(w.tokens.reader, { headers: { origin: 'https://ops.example' } }),
    );
    assert.equal(none.headers.get('access-control-allow-origin'), null, 'no CORS_ORIGINS: no origin allowed');
  });

  test('the keys CLI creates, lists and revokes keys', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, ['scripts/keys.ts', ...args, '--json'], {
        env: { ...process.env, DATABASE_URL: w.db.url },
      });
    const created = JSON.parse(
      (await cli('create', '--tenant', MAIN, '--role', 'operator', '--name', 'cli test')).stdout,
    ) as { key: { id: string; role: string }; token: string };
    assert.equal(created.key.role, 'operator');
    assert.equal((await app.request('/api/v1/nodes', withKey(created.token))).status, 200);
    const listed = JSON.parse((await cli('list', '--tenant', MAIN)).stdout) as { id: string }[];
    assert.ok(listed.some((k) => k.id === created.key.id));
    const revoked = JSON.parse((await cli('revoke', created.key.id)).stdout) as { revokedAt: string };
    assert.ok(revoked.revokedAt);
    const afterRevoke = JSON.parse((await cli('list', '--tenant', MAIN)).stdout) as { id: string }[];
    assert.ok(!afterRevoke.some((k) => k.id === created.key.id));
    await assert.rejects(cli('create', '--tenant', MAIN, '--role', 'root', '--name', 'x'), /--role/);
  });

  test('/openapi.json documents every endpoint, and /docs serves the reference without a CDN', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const path of [
      '/api/v1/status',
      '/api/v1/nodes',
      '/api/v1/nodes/{id}',
      '/api/v1/nodes/{id}/metrics',
      '/api/v1/nodes/{id}/history',
      '/api/v1/nodes/{id}/readings',
      '/api/v1/network/metrics',
      '/api/v1/network/efficiency',
      '/api/v1/predictions/{id}',
      '/api/v1/quality/{id}',
      '/api/v1/anomalies',
      '/api/v1/anomalies/{id}/acknowledge',
      '/api/v1/anomalies/{id}/resolve',
      '/api/v1/dashboard/summary',
      '/api/v1/admin/keys',
    ]) {
      const key = Object.keys(doc.paths).find((p) => p.replace(/\/$/, '') === path);
      assert.ok(key, `${path} is documented`);
    }
    const page = await (await app.request('/docs')).text();
    assert.match(page, /<script src="\/docs\/scalar\.js"/);
    assert.doesNotMatch(page, /cdn\.jsdelivr|https:\/\//);
    const bundle = await app.request('/docs/scalar.js');
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
  });
});
