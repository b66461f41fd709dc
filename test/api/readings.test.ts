/**
 * POST /api/v1/readings against the real app over a database processed by real cycles: per-row
 * validation with a per-row error report (JSON and CSV), tenant scoping, limits (rows, bytes, batches
 * per minute), roles; the local sink feeds the next cycle through the dispatcher's one read (the
 * pushed value shows up in the node's history); the BigQuery sink streams rows with insert ids through
 * the real @google-cloud/bigquery client to a loopback server, and rows BigQuery refuses are reported.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { peerGate } from '../../dev/peers/index.ts';
import { createBigQuerySink } from '../../shared/sources/bigquery-sink.ts';
import { LocalReadingSink } from '../../shared/sources/pushed.ts';
import { insertIdOf } from '../../shared/sources/sink.ts';
import { type ApiWorld, createApiWorld, END, withKey } from './fixtures.ts';

type Report = {
  received: number;
  accepted: number;
  rejected: number;
  errors: { row: number; field: string; reason: string }[];
};
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('readings pushed in: POST /api/v1/readings', await peerGate('postgres'), () => {
  let w: ApiWorld;
  const now = END + 20 * MIN;
  let node: string;
  let other: string;

  const post = (
    body: string,
    contentType = 'application/json',
    token?: string,
    app: ReturnType<ApiWorld['app']> = w.app(),
  ) =>
    app.request(
      '/api/v1/readings',
      withKey(token ?? w.tokens.operator, { method: 'POST', body, headers: { 'content-type': contentType } }),
    );

  before(async () => {
    w = await createApiWorld({ redis: 'none', ingestClock: () => now });
    node = w.mainNodes.find((n) => n.includes('inlet')) ?? w.mainNodes[0]!;
    other = w.otherNodes[0]!;
  });
  after(() => w?.close());

  test('a JSON batch: good rows accepted, each bad row reported with its field and reason', async () => {
    const rows = [
      // Between the simulator's one-minute readings (a reading at the same time would be a duplicate).
      { nodeId: node, ts: iso(END + 5.5 * MIN), flow: 4321.5, pressure: 3.2 },
      { nodeId: node, ts: iso(END + 5.5 * MIN), flow: 1 }, // duplicate of row 0's flow
      { nodeId: other, ts: iso(END), flow: 1 }, // another tenant's node
      { nodeId: 'no-such-node', ts: iso(END), flow: 1 },
      { nodeId: node, ts: 'yesterday', flow: 1 },
      { nodeId: node, ts: iso(END - 100 * 3_600_000), flow: 1 }, // beyond the lateness horizon
      { nodeId: node, ts: iso(END + 2 * 3_600_000), flow: 1 }, // hours ahead of the clock
      { nodeId: node, ts: iso(END), flow: 'lots' },
      { nodeId: node, ts: iso(END) },
      { nodeId: node, ts: iso(END), flow: 2, colour: 'blue' },
      'not an object',
      { node_id: w.mainNodes[1]!, reading_time: Math.floor(END / 1000), pressure: 2.5 },
    ];
    const res = await post(JSON.stringify(rows));
    assert.equal(res.status, 200);
    const report = (await res.json()) as Report;
    assert.equal(report.received, 12);
    assert.equal(report.accepted, 2);
    assert.equal(report.rejected, 10);
    const byRow = new Map(report.errors.map((e) => [e.row, e]));
    assert.deepEqual([...byRow.keys()], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.match(byRow.get(1)!.reason, /duplicate of row 0/);
    assert.equal(byRow.get(1)!.field, 'flow');
    assert.match(byRow.get(2)!.reason, /no node .* in your tenant/);
    assert.equal(byRow.get(3)!.field, 'nodeId');
    assert.equal(byRow.get(4)!.field, 'ts');
    assert.match(byRow.get(5)!.reason, /older than 72 h/);
    assert.match(byRow.get(6)!.reason, /future/);
    assert.deepEqual([byRow.get(7)!.field, byRow.get(7)!.reason], ['flow', 'a finite number']);
    assert.match(byRow.get(8)!.reason, /no metric/);
    assert.equal(byRow.get(9)!.field, 'colour');
    assert.match(byRow.get(10)!.reason, /object/);
  });

  test('the next cycle reads the accepted readings through its one read: the value is in the node’s history', async () => {
    const result = await w.main.cycle(END + 30 * MIN);
    assert.ok(result.readings > 0);
    const from = iso(END);
    const to = iso(END + 30 * MIN);
    const res = await w
      .app()
      .request(`/api/v1/nodes/${node}/history?resolution=5m&from=${from}&to=${to}`, withKey(w.tokens.reader));
    assert.equal(res.status, 200);
    const { points } = (await res.json()) as {
      points: { t: string; metric: string; max: number; count: number }[];
    };
    const bucket = points.find((p) => p.metric === 'flow' && p.t === iso(END + 5 * MIN));
    assert.equal(bucket?.max, 4321.5, JSON.stringify(points.filter((p) => p.metric === 'flow')));
    assert.equal(bucket?.count, 6, 'five simulated readings and the pushed one');
  });

  test('a CSV batch: a malformed line and a bad cell are row errors, the rest is accepted', async () => {
    const csv = [
      'node_id,ts,flow,pressure',
      `${node},${iso(END + 6 * MIN)},12.5,3.1`,
      `${node},${iso(END + 7 * MIN)},12.5`,
      `${node},${iso(END + 8 * MIN)},abc,3.0`,
      `${node},${iso(END + 9 * MIN)},,2.9`,
    ].join('\n');
    const res = await post(csv, 'text/csv; charset=utf-8');
    assert.equal(res.status, 200);
    const report = (await res.json()) as Report;
    assert.deepEqual([report.received, report.accepted, report.rejected], [4, 2, 2]);
    assert.deepEqual(
      report.errors.map((e) => [e.row, e.field]),
      [
        [1, ''],
        [2, 'flow'],
      ],
    );
  });

  test('a retried batch is stored once (insert ids)', async () => {
    const sink = new LocalReadingSink({ now: () => now });
    const app = w.app({}, { readingSink: sink });
    const body = JSON.stringify([{ nodeId: node, ts: iso(END + 10 * MIN), flow: 7 }]);
    for (let i = 0; i < 2; i++)
      assert.equal((await post(body, 'application/json', undefined, app)).status, 200);
    assert.equal(sink.read({ fromIngestMs: 0, toIngestMs: now, minTsMs: 0 }).length, 1);
  });

  test('every row refused: 422 with the report', async () => {
    const res = await post(JSON.stringify([{ nodeId: 'nope', ts: iso(END), flow: 1 }]));
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as Report).rejected, 1);
  });

  test('limits, media types and roles: clear problems, never a 5xx', async () => {
    const problem = async (res: Response, status: number, type: string) => {
      assert.equal(res.status, status, await res.clone().text());
      assert.equal(((await res.json()) as { type: string }).type, `/docs/problems#${type}`);
    };
    await problem(await post('{"readings": 5}'), 400, 'invalid-request');
    await problem(await post('[1,'), 400, 'invalid-request');
    await problem(await post('node_id,ts\n', 'text/plain'), 415, 'unsupported-media-type');
    await problem(await post('[]', 'application/json', w.tokens.reader), 403, 'forbidden');
    const rows = JSON.stringify(Array.from({ length: 3 }, () => ({ nodeId: node, ts: iso(END), flow: 1 })));
    await problem(
      await post(rows, 'application/json', undefined, w.app({ ingestMaxRows: 2 })),
      400,
      'invalid-request',
    );
    const big = w.app({ ingestMaxBytes: 2048 });
    await problem(
      await post(`[${'{"nodeId":"x","ts":1,"flow":1},'.repeat(100)}{}]`, 'application/json', undefined, big),
      413,
      'content-too-large',
    );
    const limited = w.app({ ingestBatchesPerMinute: 1 });
    assert.equal((await post('[]', 'application/json', undefined, limited)).status, 200);
    const over = await post('[]', 'application/json', undefined, limited);
    await problem(over, 429, 'rate-limited');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    await problem(
      await post('[]', 'application/json', undefined, w.app({}, { readingSink: undefined })),
      503,
      'unavailable',
    );
  });

  test('the BigQuery sink streams rows with insert ids; rows BigQuery refuses are reported, the others stored', async () => {
    const received: {
      path: string;
      body: { rows: { insertId: string; json: Record<string, unknown> }[]; skipInvalidRows?: boolean };
    }[] = [];
    const server = createServer(async (req: IncomingMessage, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      const body = JSON.parse(text || '{}');
      received.push({ path: req.url ?? '', body });
      // BigQuery refuses the second row of every batch.
      const insertErrors =
        body.rows?.length > 1
          ? [{ index: 1, errors: [{ reason: 'invalid', message: 'no such field: flow_x' }] }]
          : [];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'bigquery#tableDataInsertAllResponse', insertErrors }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const authClient = new OAuth2Client();
      authClient.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 3_600_000 });
      const sink = createBigQuerySink({
        projectId: 'test-project',
        dataset: 'telemetry',
        table: 'readings',
        location: 'EU',
        apiEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        authClient,
        now: () => now,
      });
      const app = w.app({}, { readingSink: sink });
      const rows = [
        { nodeId: node, ts: iso(END + 11 * MIN), flow: 5, pressure: 3 },
        { nodeId: node, ts: iso(END + 12 * MIN), flow: 6 },
        { nodeId: 'no-such-node', ts: iso(END), flow: 1 },
      ];
      const res = await post(JSON.stringify(rows), 'application/json', undefined, app);
      const report = (await res.json()) as Report;
      assert.equal(res.status, 200);
      assert.deepEqual([report.accepted, report.rejected], [1, 2]);
      assert.deepEqual(
        report.errors.map((e) => [e.row, e.field]),
        [
          [1, ''],
          [2, 'nodeId'],
        ],
      );
      assert.match(report.errors[0]!.reason, /BigQuery refused the row: no such field: flow_x/);

      // What the client sent: one insertAll to the table, with insert ids and the row's columns.
      assert.equal(received.length, 1, 'no partial retries: a refused row is reported, not resent');
      assert.equal(
        received[0]!.path.split('?')[0],
        '/bigquery/v2/projects/test-project/datasets/telemetry/tables/readings/insertAll',
      );
      const sent = received[0]!.body;
      assert.equal(sent.skipInvalidRows, true);
      assert.deepEqual(sent.rows[0], {
        insertId: insertIdOf({ nodeId: node, ts: END + 11 * MIN, values: { flow: 5, pressure: 3 } }),
        json: {
          node_id: node,
          reading_time: iso(END + 11 * MIN),
          ingestion_time: iso(now),
          flow: 5,
          pressure: 3,
        },
      });
      // A retry sends the same insert ids, so BigQuery keeps one copy.
      await post(JSON.stringify(rows), 'application/json', undefined, app);
      assert.deepEqual(
        received[1]!.body.rows.map((r) => r.insertId),
        sent.rows.map((r) => r.insertId),
      );
    } finally {
      server.close();
    }
  });
});
