/**
 * The BigQuery source against the real @google-cloud/bigquery client, pointed at a loopback server
 * that speaks the REST calls it makes (jobs.insert, jobs.getQueryResults, jobs.get). No emulator
 * exists, so the assertions are on what the client sent: one job per cycle, the SQL, the typed
 * named parameters, the location, and paging through a multi-page result. What the SQL means is
 * mirrored by the CSV source's tests (shared/sources/csv.test.ts).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { MemoryBus } from '../shared/adapters/bus/memory.ts';
import { MemoryCoordinator } from '../shared/adapters/coordination/memory.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { upsertNetwork } from '../shared/adapters/postgres/registry.ts';
import { loadConfig } from '../shared/config.ts';
import { dispatchCycle } from '../shared/cycle/dispatch/index.ts';
import { METRICS, type Metric, type Network, type Reading } from '../shared/domain/readings.ts';
import { silentLogger } from '../shared/log.ts';
import { createBigQuerySource, readingsQuery } from '../shared/sources/bigquery.ts';
import { cycleSettings, cycleStores } from '../shared/wiring/cycle.ts';

const PROJECT = 'test-project';
const LOCATION = 'europe-west1';
const PAGE_SIZE = 1000;
const TOTAL_BYTES = '987654321';

interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

interface JobBody {
  jobReference: { projectId: string; jobId: string; location: string };
  configuration: {
    query: {
      query: string;
      useLegacySql: boolean;
      parameterMode: string;
      queryParameters: { name: string; parameterType: { type: string }; parameterValue: { value: string } }[];
    };
  };
}

/** The rows the fake table returns for a cycle, and how the server behaves. */
const fake = {
  readings: [] as Reading[],
  /** Extra microseconds on every TIMESTAMP cell: BigQuery keeps µs, a Reading keeps ms. */
  extraMicros: 456,
  /** Polls answered "not complete yet" before the results. */
  pendingPolls: 1,
  bytesInResults: true,
  failInsert: false,
  received: [] as Received[],
};

const cell = (v: string | null) => ({ v });
const micros = (ms: number) => String(BigInt(ms) * 1000n + BigInt(fake.extraMicros));
const SCHEMA = {
  fields: [
    { name: 'node_id', type: 'STRING', mode: 'NULLABLE' },
    { name: 'reading_time', type: 'TIMESTAMP', mode: 'NULLABLE' },
    { name: 'ingestion_time', type: 'TIMESTAMP', mode: 'NULLABLE' },
    ...METRICS.map((name) => ({ name, type: 'FLOAT', mode: 'NULLABLE' })),
  ],
};
const toRow = (r: Reading) => ({
  f: [
    cell(r.nodeId),
    cell(micros(r.ts)),
    cell(micros(r.ingestedAt)),
    ...METRICS.map((m) => cell(r.values[m] === undefined ? null : String(r.values[m]))),
  ],
});

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://loopback');
  let text = '';
  for await (const chunk of req) text += chunk;
  fake.received.push({
    method: req.method ?? '',
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body: text ? JSON.parse(text) : undefined,
  });
  const base = `/bigquery/v2/projects/${PROJECT}`;
  if (req.method === 'POST' && url.pathname === `${base}/jobs`) {
    if (fake.failInsert) {
      send(res, 400, {
        error: { code: 400, message: 'Unrecognized name: flwo', errors: [{ reason: 'invalidQuery' }] },
      });
      return;
    }
    const body = JSON.parse(text) as JobBody;
    send(res, 200, {
      kind: 'bigquery#job',
      id: `${PROJECT}:${LOCATION}.${body.jobReference.jobId}`,
      jobReference: body.jobReference,
      configuration: body.configuration,
      status: { state: 'RUNNING' },
      statistics: { creationTime: String(Date.now()) },
    });
    return;
  }
  const results = url.pathname.match(new RegExp(`^${base}/queries/([^/]+)$`));
  if (req.method === 'GET' && results) {
    const jobReference = { projectId: PROJECT, jobId: results[1], location: LOCATION };
    if (fake.pendingPolls > 0) {
      fake.pendingPolls -= 1;
      send(res, 200, { kind: 'bigquery#getQueryResultsResponse', jobReference, jobComplete: false });
      return;
    }
    const offset = Number(url.searchParams.get('pageToken') ?? 0);
    const size = Number(url.searchParams.get('maxResults') ?? 100_000);
    const page = fake.readings.slice(offset, offset + size);
    const more = offset + size < fake.readings.length;
    send(res, 200, {
      kind: 'bigquery#getQueryResultsResponse',
      jobReference,
      schema: SCHEMA,
      totalRows: String(fake.readings.length),
      ...(page.length > 0 ? { rows: page.map(toRow) } : {}),
      ...(more ? { pageToken: String(offset + size) } : {}),
      ...(fake.bytesInResults ? { totalBytesProcessed: TOTAL_BYTES } : {}),
      jobComplete: true,
      cacheHit: false,
    });
    return;
  }
  const job = url.pathname.match(new RegExp(`^${base}/jobs/([^/]+)$`));
  if (req.method === 'GET' && job) {
    send(res, 200, {
      kind: 'bigquery#job',
      jobReference: { projectId: PROJECT, jobId: job[1], location: LOCATION },
      status: { state: 'DONE' },
      statistics: { totalBytesProcessed: TOTAL_BYTES, query: { totalBytesProcessed: TOTAL_BYTES } },
    });
    return;
  }
  send(res, 404, { error: { code: 404, message: `not served by the fake: ${req.method} ${url.pathname}` } });
}

/** Readings with every shape a cell can take: values, NULLs, a late reading, ms and µs in times. */
function makeReadings(count: number, window: { fromIngestMs: number; toIngestMs: number }): Reading[] {
  return Array.from({ length: count }, (_, i) => {
    const ingestedAt = window.fromIngestMs + 1 + (i % 1000) * 1000 + 7;
    const late = i % 97 === 0;
    const values: Partial<Record<Metric, number>> = {};
    METRICS.forEach((m, k) => {
      if ((i + k) % 3 !== 0) values[m] = Number(((i * 7 + k) / 8).toFixed(3)) - 50;
    });
    return {
      nodeId: `node-${String(i % 37).padStart(3, '0')}`,
      ts: late ? ingestedAt - 26 * 3_600_000 : ingestedAt - 90_123,
      ingestedAt,
      values,
    };
  });
}

const WINDOW = {
  fromIngestMs: Date.parse('2024-03-01T10:00:00Z'),
  toIngestMs: Date.parse('2024-03-01T10:30:00Z'),
  minTsMs: Date.parse('2024-02-27T10:30:00Z'),
};

const server = createServer((req, res) => {
  handle(req, res).catch((err: Error) => send(res, 500, { error: { code: 500, message: err.message } }));
});
let endpoint = '';
const network: Network = { tenantId: 'default', districts: [], nodes: [] };

function source() {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 3_600_000 });
  return createBigQuerySource({
    projectId: PROJECT,
    dataset: 'telemetry',
    table: 'readings',
    location: LOCATION,
    apiEndpoint: endpoint,
    registry: async () => network,
    pageSize: PAGE_SIZE,
    authClient,
  });
}

const inserts = () => fake.received.filter((r) => r.method === 'POST');
const resultCalls = () => fake.received.filter((r) => r.method === 'GET' && r.path.includes('/queries/'));

before(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((ok) => server.close(() => ok())));
beforeEach(() => {
  fake.readings = makeReadings(2_345, WINDOW);
  fake.pendingPolls = 1;
  fake.bytesInResults = true;
  fake.failInsert = false;
  fake.received = [];
});

describe('BigQuery source through the real client', () => {
  test('one cycle is one parameterized, partition-pruned query', async () => {
    await source().readIngested(WINDOW);

    assert.equal(inserts().length, 1, 'exactly one job for the cycle');
    assert.ok(!fake.received.some((r) => r.path.endsWith('/queries')), 'no second query through jobs.query');
    const insert = inserts()[0]!;
    assert.equal(insert.path, `/bigquery/v2/projects/${PROJECT}/jobs`);
    assert.equal(insert.headers.authorization, 'Bearer test-token');
    const body = insert.body as JobBody;
    assert.equal(body.jobReference.location, LOCATION);
    assert.equal(body.jobReference.projectId, PROJECT);
    assert.match(body.jobReference.jobId, /^wnm-readings-/);

    const { query } = body.configuration;
    assert.equal(query.useLegacySql, false);
    assert.equal(query.parameterMode.toUpperCase(), 'NAMED');
    const sql = query.query.replace(/\s+/g, ' ');
    assert.match(
      sql,
      /^SELECT node_id, reading_time, ingestion_time, flow, pressure, temperature, volume, chlorine, turbidity, ph /,
    );
    assert.match(sql, /FROM `test-project\.telemetry\.readings`/);
    assert.match(sql, /reading_time >= @min_ts/, 'the partition filter');
    assert.match(
      sql,
      /ingestion_time > @from_ingest AND ingestion_time <= @to_ingest/,
      'the ingestion window',
    );
    assert.doesNotMatch(sql, /node_id\s*(=|IN)/i, 'never one query per node');

    const params = Object.fromEntries(
      query.queryParameters.map((p) => [p.name, [p.parameterType.type, Date.parse(p.parameterValue.value)]]),
    );
    assert.deepEqual(params, {
      min_ts: ['TIMESTAMP', WINDOW.minTsMs],
      from_ingest: ['TIMESTAMP', WINDOW.fromIngestMs],
      to_ingest: ['TIMESTAMP', WINDOW.toIngestMs],
    });
  });

  test("the bulk backfill's chunk read is one query for the chunk's nodes, as columns", async () => {
    const ids = ['node-003', 'node-011'];
    const columns = await source().readColumns!(WINDOW, ids);

    assert.equal(inserts().length, 1);
    const { query } = (inserts()[0]!.body as JobBody).configuration;
    const sql = query.query.replace(/\s+/g, ' ');
    assert.match(
      sql,
      /reading_time >= @min_ts AND ingestion_time > @from_ingest AND ingestion_time <= @to_ingest/,
    );
    assert.match(sql, /AND node_id IN UNNEST\(@node_ids\)$/);
    const nodeIds = query.queryParameters.find((p) => p.name === 'node_ids') as unknown as {
      parameterType: { type: string; arrayType: { type: string } };
      parameterValue: { arrayValues: { value: string }[] };
    };
    assert.deepEqual(nodeIds.parameterType, { type: 'ARRAY', arrayType: { type: 'STRING' } });
    assert.deepEqual(
      nodeIds.parameterValue.arrayValues.map((v) => v.value),
      ids,
    );
    // The rows of those nodes, as time-ordered columns (the fake answers every node: only these are kept).
    assert.deepEqual(columns.map((c) => c.nodeId).sort(), ids);
    const expected = fake.readings.filter((r) => r.nodeId === 'node-003').length;
    assert.equal(columns.find((c) => c.nodeId === 'node-003')!.length, expected);
    assert.deepEqual(await source().readColumns!(WINDOW, []), []);
  });

  test('reads every page of a large result and converts values, NULLs and times', async () => {
    const batch = await source().readIngested(WINDOW);

    assert.deepEqual(batch.readings, fake.readings);
    assert.ok(batch.readings.some((r) => r.values.flow === undefined && r.values.pressure !== undefined));
    assert.equal(batch.bytesProcessed, Number(TOTAL_BYTES));

    const calls = resultCalls();
    // One poll while the job runs, then ceil(2345 / 1000) = 3 pages.
    assert.deepEqual(
      calls.map((c) => c.query.get('pageToken')),
      [null, null, '1000', '2000'],
    );
    for (const call of calls) {
      assert.equal(call.query.get('location'), LOCATION);
      assert.equal(call.query.get('maxResults'), String(PAGE_SIZE));
      assert.equal(call.query.get('formatOptions.useInt64Timestamp'), 'true');
    }
  });

  test('each cycle is one job, however many pages', async () => {
    const bigquery = source();
    await bigquery.readIngested(WINDOW);
    fake.pendingPolls = 0;
    const next = { ...WINDOW, fromIngestMs: WINDOW.toIngestMs, toIngestMs: WINDOW.toIngestMs + 1_800_000 };
    await bigquery.readIngested(next);
    assert.equal(inserts().length, 2);
    const second = (inserts()[1]!.body as JobBody).configuration.query.queryParameters;
    assert.equal(
      Date.parse(second.find((p) => p.name === 'from_ingest')!.parameterValue.value),
      WINDOW.toIngestMs,
    );
  });

  test('an empty cycle returns no readings', async () => {
    fake.readings = [];
    const batch = await source().readIngested(WINDOW);
    assert.deepEqual(batch.readings, []);
    assert.equal(inserts().length, 1);
  });

  test("bytes processed come from the job's statistics when the results omit them", async () => {
    fake.bytesInResults = false;
    const batch = await source().readIngested(WINDOW);
    assert.equal(batch.bytesProcessed, Number(TOTAL_BYTES));
    assert.ok(fake.received.some((r) => r.method === 'GET' && /\/jobs\/wnm-readings-/.test(r.path)));
  });

  test('a failed query fails the read', async () => {
    fake.failInsert = true;
    await assert.rejects(source().readIngested(WINDOW), /Unrecognized name: flwo/);
  });

  test('the network comes from the registry, not from the readings', async () => {
    assert.equal(await source().network(), network);
    assert.equal(inserts().length, 0);
  });

  test('identifiers that could change the SQL are refused', () => {
    assert.throws(
      () =>
        createBigQuerySource({
          projectId: PROJECT,
          dataset: 'telemetry',
          table: 'readings` WHERE true --',
          location: LOCATION,
          registry: async () => network,
        }),
      /invalid BigQuery table/,
    );
  });
});

describe('the dispatcher on BigQuery', await peerGate('postgres'), () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  test('a cycle over 37 nodes is ONE query, one message per node, bytes processed on the run', async () => {
    const sql = connect(db.url, { max: 2 });
    const partitions = new PartitionManager(sql, (await migrate(sql)).timescale);
    const nodeIds = [...new Set(fake.readings.map((r) => r.nodeId))].sort();
    await upsertNetwork(sql, {
      tenantId: 'default',
      districts: [],
      nodes: nodeIds.map((id) => ({
        id,
        tenantId: 'default',
        districtId: null,
        kind: 'inlet' as const,
        name: id,
        latitude: null,
        longitude: null,
        metrics: [...METRICS],
      })),
    });
    const bus = new MemoryBus();
    const published: { nodeId: string; readings: number }[] = [];
    bus.subscribe('wnm-node-work', async (event) => {
      type Batch = { node: { id: string }; ts: number[] };
      const m = JSON.parse(Buffer.from(event.data!.message.data!, 'base64').toString()) as
        | (Batch & { kind: 'node' })
        | { kind: 'nodes'; batches: Batch[] };
      for (const b of m.kind === 'nodes' ? m.batches : [m])
        published.push({ nodeId: b.node.id, readings: b.ts.length });
    });
    const settings = cycleSettings(loadConfig({}));
    const result = await dispatchCycle(
      {
        stores: cycleStores(sql, partitions),
        source: source(),
        bus,
        coordinator: new MemoryCoordinator(),
        logger: silentLogger,
        settings,
      },
      { nowMs: WINDOW.toIngestMs, initialWatermarkMs: WINDOW.fromIngestMs },
    );
    await bus.drain();
    assert.equal(inserts().length, 1, 'one query job for the whole cycle');
    assert.equal(published.length, nodeIds.length, 'one batch per node');
    assert.equal(
      published.reduce((n, p) => n + p.readings, 0),
      fake.readings.length,
    );
    const [run] = await sql<
      { bytes: string }[]
    >`select bytes_processed::text as bytes from runs where id = ${result.runId}`;
    assert.equal(run!.bytes, TOTAL_BYTES);
    await sql.end();
  });
});

test('the readings table schema Terraform creates has exactly the columns the query selects', async () => {
  const { readFile } = await import('node:fs/promises');
  const schema = JSON.parse(
    await readFile(new URL('../terraform/schemas/readings.json', import.meta.url), 'utf8'),
  ) as {
    name: string;
  }[];
  const sqlText = readingsQuery('p-1', 'telemetry', 'readings');
  const selected = ['node_id', 'reading_time', 'ingestion_time', ...METRICS];
  assert.deepEqual(
    schema.map((f) => f.name),
    selected,
  );
  for (const column of selected) assert.match(sqlText, new RegExp(`\\b${column}\\b`));
});
