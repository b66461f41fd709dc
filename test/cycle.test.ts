/**
 * The walking skeleton end to end against real peers: simulator → dispatcher → in-process bus
 * (real CloudEvents) → aggregator → PostgreSQL + Redis (through the Upstash REST protocol) → API.
 * The stored aggregates are checked against a straightforward computation over the raw readings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from '@upstash/redis';
import { createLocalStack, type LocalStack } from '../dev/local-stack.ts';
import {
  createTestDatabase,
  deleteKeysWithPrefix,
  peerGate,
  type TestDatabase,
  uniquePrefix,
  upstashPeer,
} from '../dev/peers/index.ts';
import { postgresKeyStore } from '../shared/adapters/postgres/api-stores.ts';
import { createApp } from '../shared/api/app.ts';
import { createKey } from '../shared/api/auth/keys.ts';
import { loadConfig } from '../shared/config.ts';
import { HOUR_MS } from '../shared/domain/aggregate.ts';
import { keys } from '../shared/domain/keys.ts';
import { METRICS, type Metric, PHYSICAL_LIMITS, type Reading } from '../shared/domain/readings.ts';
import { createSimulator } from '../shared/simulator/index.ts';

const SEED = 7;
const NODES = 14;
const T0 = Date.UTC(2026, 2, 2); // a Monday
const BACKFILL_END = T0 + 24 * HOUR_MS;
const END = BACKFILL_END + 2 * 30 * 60_000;

/** The independent computation: dedupe by (node, time), drop invalid values, group by hour. */
function expectedHourly(readings: Reading[], endMs: number) {
  const seen = new Map<string, Reading>();
  for (const r of readings) {
    if (r.ts > endMs + 5 * 60_000) continue;
    const k = `${r.nodeId}|${r.ts}`;
    const prev = seen.get(k);
    if (!prev || r.ingestedAt < prev.ingestedAt) seen.set(k, r);
  }
  const groups = new Map<string, number[]>();
  for (const r of seen.values()) {
    for (const m of METRICS) {
      const v = r.values[m];
      if (v === undefined || v === null || !Number.isFinite(v)) continue;
      const [lo, hi] = PHYSICAL_LIMITS[m];
      if (v < lo || v > hi) continue;
      const k = `${r.nodeId}|${m}|${Math.floor(r.ts / HOUR_MS) * HOUR_MS}`;
      const list = groups.get(k) ?? [];
      list.push(v);
      groups.set(k, list);
    }
  }
  return groups;
}

const stats = (vals: number[]) => {
  const n = vals.length;
  const mean = vals.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return {
    n,
    sum: vals.reduce((a, b) => a + b, 0),
    mean,
    min: Math.min(...vals),
    max: Math.max(...vals),
    sd,
  };
};
const near = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

describe('one cycle end to end on real PostgreSQL and Redis', await peerGate('postgres', 'redis'), () => {
  let db: TestDatabase;
  let stack: LocalStack;
  const prefix = uniquePrefix();

  let auth: { headers: { authorization: string } };

  before(async () => {
    db = await createTestDatabase();
    const { url, token } = upstashPeer();
    const config = loadConfig({
      DATABASE_URL: db.url,
      UPSTASH_REDIS_REST_URL: url,
      UPSTASH_REDIS_REST_TOKEN: token,
      REDIS_KEY_PREFIX: prefix,
      SIMULATOR_SEED: String(SEED),
      SIMULATOR_NODES: String(NODES),
      LOG_LEVEL: 'error',
      BUS_BACKEND: 'memory',
      COORDINATION_BACKEND: 'memory',
    });
    stack = await createLocalStack(config);
    const key = await createKey(postgresKeyStore(stack.storage.sql), {
      tenantId: 'default',
      role: 'reader',
      name: 'cycle test',
      rateLimitPerMinute: 10_000,
    });
    auth = { headers: { authorization: `Bearer ${key.token}` } };
    for (let t = T0 + 6 * HOUR_MS; t <= BACKFILL_END; t += 6 * HOUR_MS) await stack.cycle(t, T0);
    await stack.cycle(BACKFILL_END + 30 * 60_000);
    await stack.cycle(END);
  });

  after(async () => {
    await stack?.close();
    await db?.drop();
    await deleteKeysWithPrefix(prefix);
  });

  test('every run is recorded done, with its readings', async () => {
    const runs = await db.sql<{ status: string; nodes_total: number; readings: string }[]>`
      select status, nodes_total, readings from runs order by started_at`;
    assert.equal(runs.length, 6);
    for (const r of runs) {
      assert.equal(r.status, 'done');
      assert.ok(r.nodes_total >= NODES - 2, `nodes ${r.nodes_total}`);
    }
    assert.ok(runs.every((r) => Number(r.readings) > 0));
  });

  test('hourly aggregates equal a direct computation over the raw readings', async () => {
    const sim = createSimulator({ seed: SEED, nodes: NODES });
    const raw = sim.readIngested({ fromIngestMs: T0, toIngestMs: END, minTsMs: END - 72 * HOUR_MS });
    const expected = expectedHourly(raw.readings, END);
    const rows = await db.sql<
      {
        node_id: string;
        metric: number;
        ms: number;
        count: number;
        sum: number;
        min: number;
        max: number;
        m2: number;
      }[]
    >`select node_id, metric, (extract(epoch from bucket) * 1000)::float8 as ms, count, sum, min, max, m2 from agg_1h`;
    assert.equal(rows.length, expected.size, 'one hourly row per (node, metric, hour) with data');
    let checked = 0;
    for (const row of rows) {
      const vals = expected.get(`${row.node_id}|${METRICS[row.metric] as Metric}|${row.ms}`);
      assert.ok(vals, `unexpected row ${row.node_id} ${row.metric} ${row.ms}`);
      const s = stats(vals);
      assert.equal(row.count, s.n);
      assert.ok(near(row.sum, s.sum, 1e-9), `sum ${row.sum} vs ${s.sum}`);
      assert.equal(row.min, s.min);
      assert.equal(row.max, s.max);
      const sd = row.count > 1 ? Math.sqrt(row.m2 / (row.count - 1)) : 0;
      assert.ok(Math.abs(sd - s.sd) <= 1e-6 * Math.max(1, s.sd), `stddev ${sd} vs ${s.sd}`);
      checked += 1;
    }
    assert.ok(checked > NODES * 20, `checked ${checked} rows`);
  });

  test('the API serves a node 24 h window equal to the direct computation, from Redis', async () => {
    const app = createApp(stack.api);
    const sim = createSimulator({ seed: SEED, nodes: NODES });
    const inlet = sim.network().nodes.find((n) => n.kind === 'inlet')!;
    const res = await app.request(`/api/v1/nodes/${inlet.id}/metrics?range=24h`, auth);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache-tier'), 'redis');
    const body = (await res.json()) as {
      from: string;
      to: string;
      metrics: Record<string, { count: number; mean: number; max: number }>;
    };
    const fromMs = Date.parse(body.from);
    const toMs = Date.parse(body.to);
    assert.equal(toMs - fromMs, 24 * HOUR_MS);
    const raw = sim.readIngested({ fromIngestMs: T0, toIngestMs: END, minTsMs: END - 72 * HOUR_MS });
    const groups = expectedHourly(
      raw.readings.filter((r) => r.nodeId === inlet.id),
      END,
    );
    const flows: number[] = [];
    for (const [k, vals] of groups) {
      const [, metric, ms] = k.split('|');
      if (metric === 'flow' && Number(ms) >= fromMs && Number(ms) < toMs) flows.push(...vals);
    }
    const s = stats(flows);
    assert.equal(body.metrics.flow!.count, s.n);
    assert.ok(near(body.metrics.flow!.mean, s.mean, 1e-9));
    assert.equal(body.metrics.flow!.max, s.max);
  });

  test('network metrics sum the inlets less the outlets and take the extremes of every node window', async () => {
    type Body = {
      metrics: Record<string, { count: number; mean: number | null; min: number | null; max: number | null }>;
    };
    const windows = await db.sql<{ kind: string; body: Body }[]>`
      select n.kind, w.body -> '24h' as body from node_windows w join nodes n on n.id = w.node_id`;
    const [snap] = await db.sql<{ body: Record<string, unknown> }[]>`
      select body from network_snapshots where kind = 'network:24h'`;
    const mean = (kind: string) =>
      windows.filter((w) => w.kind === kind).reduce((n, w) => n + (w.body.metrics.flow?.mean ?? 0), 0);
    const pressures = windows.flatMap((w) => (w.body.metrics.pressure ? [w.body.metrics.pressure] : []));
    const close = (a: unknown, b: number) => assert.ok(Math.abs(Number(a) - b) < 1e-3, `${a} vs ${b}`);
    assert.ok(mean('inlet') > 0, 'the network has inflow');
    close(snap!.body.grossInflowLps, mean('inlet'));
    close(snap!.body.systemInflowLps, mean('inlet') - mean('outlet'));
    const pressure = snap!.body.pressureBar as { mean: number; min: number };
    close(pressure.min, Math.min(...pressures.map((p) => p.min!)));
    close(pressure.mean, pressures.reduce((n, p) => n + p.mean!, 0) / pressures.length);
    assert.equal(
      snap!.body.nodesReporting,
      windows.filter((w) => Object.values(w.body.metrics).some((m) => m.count > 0)).length,
    );
  });

  test('hot keys are in Redis with TTLs, written through the Upstash protocol', async () => {
    const { url, token } = upstashPeer();
    const redis = new Redis({ url, token });
    const sim = createSimulator({ seed: SEED, nodes: NODES });
    const node = sim.network().nodes[0]!;
    const latest = await redis.get<{ nodeId: string; values: Record<string, unknown> }>(
      prefix + keys.nodeLatest('default', node.id),
    );
    assert.equal(latest?.nodeId, node.id);
    const ttl = await redis.ttl(prefix + keys.nodeMetrics('default', node.id, '7d'));
    assert.ok(ttl > 0 && ttl <= 86_400, `ttl ${ttl}`);
    const dashboard = await redis.get<{ nodes: { total: number } }>(
      prefix + keys.dashboardSummary('default'),
    );
    assert.equal(dashboard?.nodes.total, sim.network().nodes.length);
  });

  test('nodes are listed with paging and the registry matches the simulator', async () => {
    const app = createApp(stack.api);
    const sim = createSimulator({ seed: SEED, nodes: NODES });
    const ids: string[] = [];
    let url: string | null = '/api/v1/nodes?limit=5';
    while (url) {
      const res = await app.request(url, auth);
      assert.equal(res.status, 200);
      const page = (await res.json()) as { data: { id: string }[]; next: string | null };
      assert.ok(page.data.length <= 5);
      ids.push(...page.data.map((n) => n.id));
      url = page.next ? `/api/v1/nodes?limit=5&cursor=${encodeURIComponent(page.next)}` : null;
    }
    assert.deepEqual(
      ids,
      sim
        .network()
        .nodes.map((n) => n.id)
        .sort(),
    );
  });
});
