/**
 * Forecasts a new user gets, through real cycles (simulator → dispatcher → in-process bus → aggregator
 * and rollup → PostgreSQL → API): every district inlet and every district has a forecast with 80 % and
 * 95 % intervals after the first cycles, whatever the history behind them. Two days of history: a
 * fallback model serves and says so (prediction and /status); three weeks and more: the trained champion.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalStack } from '../../dev/local-stack.ts';
import { createTestDatabase, peerGate } from '../../dev/peers/index.ts';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import { createApp } from '../../shared/api/app.ts';
import { createKey } from '../../shared/api/auth/keys.ts';
import { loadConfig } from '../../shared/config.ts';
import { silentLogger } from '../../shared/log.ts';
import { createSimulator, createSimulatorSource } from '../../shared/simulator/index.ts';
import { seedHistory } from './seed-history.ts';

const H = 3_600_000;
const D = 24 * H;
const SEED = 21;
const T0 = Date.UTC(2026, 4, 4); // a Monday

interface Point {
  mean: number | null;
  lo80: number | null;
  hi80: number | null;
  lo95: number | null;
  hi95: number | null;
}
interface Prediction {
  targetId: string;
  modelId: string;
  servedBy: string;
  historyHours: number | null;
  note: string | null;
  points: Point[];
}
interface StatusForecasts {
  targets: number;
  champion: number;
  fallback: number;
  items: {
    targetId: string;
    modelId: string;
    servedBy: string;
    historyHours: number | null;
    note: string | null;
  }[];
}

async function startedWith(historyDays: number, NODES: number) {
  const db = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: db.url,
    SIMULATOR_NODES: String(NODES),
    SIMULATOR_SEED: String(SEED),
    BUS_BACKEND: 'memory',
    COORDINATION_BACKEND: 'memory',
    LOG_LEVEL: 'error',
  });
  const live = createSimulator({ seed: SEED, nodes: NODES });
  const stack = await createLocalStack(config, silentLogger, { source: createSimulatorSource(live) });
  const liveFrom = T0 + historyDays * D;
  await seedHistory(
    stack.storage,
    createSimulator({ seed: SEED, nodes: NODES, stepMs: 5 * 60_000 }),
    T0,
    liveFrom,
  );
  // The first cycles after the history, as `npm start` runs them.
  for (const m of [30, 60]) await stack.cycle(liveFrom + m * 60_000);
  const { token } = await createKey(postgresKeyStore(db.sql), {
    tenantId: 'default',
    role: 'reader',
    name: 't',
    rateLimitPerMinute: 100_000,
  });
  const app = createApp(stack.api);
  const get = async <T>(path: string) => {
    const res = await app.request(path, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, body: (res.status === 200 ? await res.json() : null) as T };
  };
  const network = await live.network();
  const targets = [
    ...network.nodes.filter((n) => n.kind === 'inlet').map((n) => n.id),
    ...network.districts.map((d) => d.id),
  ];
  return { db, stack, get, targets };
}

function assertIntervals(p: Prediction) {
  assert.equal(p.points.length, 168, `${p.targetId}: a week ahead`);
  for (const pt of p.points) {
    for (const k of ['mean', 'lo80', 'hi80', 'lo95', 'hi95'] as const) {
      assert.ok(Number.isFinite(pt[k]), `${p.targetId}: ${k} is a number`);
    }
    assert.ok(
      pt.lo95! <= pt.lo80! && pt.lo80! <= pt.hi80! && pt.hi80! <= pt.hi95!,
      `${p.targetId}: nested intervals`,
    );
  }
  assert.ok(
    p.points.some((pt) => pt.hi95! > pt.lo95!),
    `${p.targetId}: intervals with a width`,
  );
}

describe('forecasts from the first run: two days of history', await peerGate('postgres'), () => {
  let short: Awaited<ReturnType<typeof startedWith>>;
  before(
    async () => {
      short = await startedWith(2, 24);
    },
    { timeout: 400_000 },
  );
  after(async () => {
    await short?.stack.close();
    await short?.db.drop();
  });

  test('a fallback serves every inlet and district, and says so', async () => {
    assert.ok(short.targets.length >= 4, `${short.targets.length} targets`);
    for (const id of short.targets) {
      const { status, body } = await short.get<Prediction>(`/api/v1/predictions/${id}`);
      assert.equal(status, 200, `forecast of ${id}`);
      assert.equal(body.servedBy, 'fallback', id);
      assert.equal(body.modelId, 'daily-naive', id);
      assert.ok(body.historyHours! >= 48 && body.historyHours! <= 50, `${id}: ${body.historyHours} h`);
      assert.match(body.note ?? '', /needs 21 days/);
      assertIntervals(body);
    }
    const { body } = await short.get<{ forecasts: StatusForecasts }>('/api/v1/status');
    assert.equal(body.forecasts.targets, short.targets.length);
    assert.equal(body.forecasts.fallback, short.targets.length);
    assert.deepEqual(body.forecasts.items.map((i) => i.targetId).sort(), [...short.targets].sort());
    for (const item of body.forecasts.items) {
      assert.equal(item.modelId, 'daily-naive');
      assert.match(item.note ?? '', /fallback/);
    }
  });
});

// Seeding three weeks and training every target takes most of a minute on a quiet machine: a longer hang guard.
describe('forecasts from the first run: three weeks of history', {
  ...(await peerGate('postgres')),
  timeout: 400_000,
}, () => {
  let long: Awaited<ReturnType<typeof startedWith>>;
  before(
    async () => {
      long = await startedWith(22, 6);
    },
    { timeout: 400_000 },
  );
  after(async () => {
    await long?.stack.close();
    await long?.db.drop();
  });

  test('the trained champion serves every inlet and district', async () => {
    assert.ok(long.targets.length >= 2, `${long.targets.length} targets`);
    for (const id of long.targets) {
      const { status, body } = await long.get<Prediction>(`/api/v1/predictions/${id}`);
      assert.equal(status, 200, `forecast of ${id}`);
      assert.equal(body.servedBy, 'champion', id);
      assert.ok(['seasonal-naive', 'ensemble'].includes(body.modelId), `${id}: ${body.modelId}`);
      assert.ok(body.historyHours! >= 14 * 24, `${id}: ${body.historyHours} h`);
      assert.equal(body.note, null);
      assertIntervals(body);
    }
    const { body } = await long.get<{ forecasts: StatusForecasts }>('/api/v1/status');
    assert.equal(body.forecasts.champion, long.targets.length);
    assert.equal(body.forecasts.fallback, 0);
  });
});
