/**
 * The analytics inside real cycles (simulator → dispatcher → in-process bus → aggregator → PostgreSQL
 * and Redis through the Upstash protocol): three weeks of history, then a day of 30-minute cycles (in
 * 6-hour runs) in which the simulator injects a stuck pressure sensor and a main burst (seed 815 was
 * picked for that: both fall inside the day, nothing else disturbs the meters). The simulator is the
 * ground truth for everything checked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from '@upstash/redis';
import { createLocalStack, type LocalStack } from '../../dev/local-stack.ts';
import {
  createTestDatabase,
  deleteKeysWithPrefix,
  peerGate,
  type TestDatabase,
  uniquePrefix,
  upstashPeer,
} from '../../dev/peers/index.ts';
import type { Bus, OutgoingMessage } from '../../shared/adapters/bus/bus.ts';
import { toCloudEvent } from '../../shared/adapters/bus/bus.ts';
import type { MemoryBus } from '../../shared/adapters/bus/memory.ts';
import { insertBilled } from '../../shared/adapters/postgres/efficiency.ts';
import { loadConfig } from '../../shared/config.ts';
import { dispatchCycle } from '../../shared/cycle/dispatch/index.ts';
import { handleAggregatorEvent } from '../../shared/cycle/handlers.ts';
import { updateEfficiency } from '../../shared/cycle/rollup/efficiency.ts';
import { keys } from '../../shared/domain/keys.ts';
import { createLogger } from '../../shared/log.ts';
import { createSimulator, createSimulatorSource, type EventRates } from '../../shared/simulator/index.ts';
import { seedHistory } from './seed-history.ts';

const H = 3_600_000;
const D = 24 * H;
const SEED = 815;
const NODES = 8;
const RATES: EventRates = {
  leak: 0.5,
  burst: 2,
  flatline: 0.5,
  gap: 0,
  silent: 0,
  spike: 0,
  outOfRange: 0,
  negativeFlow: 0.8,
  lowChlorine: 0,
  highTurbidity: 0,
};
const T0 = Date.UTC(2026, 2, 2); // a Monday
const LIVE = T0 + 21 * D;
const END = LIVE + D + 2 * H;
/** The local day (Europe/Rome) inside the live cycles: 2026-03-23. */
const DAY = { label: '2026-03-23', start: Date.UTC(2026, 2, 22, 23), end: Date.UTC(2026, 2, 23, 23) };

/** Keeps what the last cycle published, so the test can deliver it again. */
class RecordingBus implements Bus {
  readonly name = 'memory' as const;
  readonly published: { topic: string; message: OutgoingMessage }[] = [];
  async publish(topic: string, messages: OutgoingMessage[]) {
    for (const message of messages) this.published.push({ topic, message });
    return messages.map((_, i) => String(i));
  }
  async close() {}
}

interface LogEntry {
  event?: string;
  anomalyId?: string;
  anomalySeverity?: string;
  anomalyType?: string;
}

describe('analytics in real cycles', await peerGate('postgres', 'redis'), () => {
  let db: TestDatabase;
  let stack: LocalStack;
  const prefix = uniquePrefix();
  const logs: LogEntry[] = [];
  const live = createSimulator({ seed: SEED, nodes: NODES, eventRates: RATES });
  const lastRun: OutgoingMessage[] = [];
  const redis = () => new Redis(upstashPeer());

  before(async () => {
    db = await createTestDatabase();
    const logger = createLogger({ level: 'info', sink: (line) => logs.push(JSON.parse(line) as LogEntry) });
    const config = loadConfig({
      DATABASE_URL: db.url,
      ...(({ url, token }) => ({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token }))(
        upstashPeer(),
      ),
      REDIS_KEY_PREFIX: prefix,
      SIMULATOR_NODES: String(NODES),
      SIMULATOR_SEED: String(SEED),
      BUS_BACKEND: 'memory',
      COORDINATION_BACKEND: 'memory',
    });
    stack = await createLocalStack(config, logger, { source: createSimulatorSource(live) });
    const history = createSimulator({ seed: SEED, nodes: NODES, eventRates: RATES, stepMs: 5 * 60_000 });
    await seedHistory(stack.storage, history, T0, LIVE);
    for (let h = 6; h <= 24; h += 6) await stack.cycle(LIVE + h * H);
    for (let m = 30; m < 120; m += 30) await stack.cycle(LIVE + D + m * 60_000);
    // The last cycle by hand, keeping its messages for the replay test.
    const bus = new RecordingBus();
    await dispatchCycle({ ...stack.dispatcher, bus }, { nowMs: END });
    for (const p of bus.published) lastRun.push(p.message);
    await deliver(lastRun);
  });

  after(async () => {
    await stack?.close();
    await db?.drop();
    await deleteKeysWithPrefix(prefix);
  });

  async function deliver(messages: OutgoingMessage[]) {
    for (const [i, m] of messages.entries()) {
      await handleAggregatorEvent(
        stack.aggregator,
        toCloudEvent('local', 'wnm-node-work', m, `r${i}`, new Date(), 1),
      );
    }
    // The rollup the last node published goes through the stack's own bus.
    await (stack.aggregator.bus as MemoryBus).drain();
  }

  test('data quality: every raw reading of the live cycles is counted once, scores are stored and cached', async () => {
    // What the dispatcher delivered: every reading ingested after the history, duplicates included.
    const raw = live.readIngested({ fromIngestMs: LIVE, toIngestMs: END, minTsMs: LIVE - 3 * D }).readings;
    const before = createSimulator({ seed: SEED, nodes: NODES, eventRates: RATES, stepMs: 5 * 60_000 });
    const seen = new Set(
      before
        .readIngested({ fromIngestMs: LIVE - D, toIngestMs: LIVE, minTsMs: LIVE - 2 * D })
        .readings.map((r) => `${r.nodeId}|${r.ts}`),
    );
    const expected = new Map<string, { received: number; duplicates: number }>();
    for (const r of [...raw].sort((a, b) => a.ingestedAt - b.ingestedAt)) {
      const e = expected.get(r.nodeId) ?? { received: 0, duplicates: 0 };
      e.received += 1;
      const key = `${r.nodeId}|${r.ts}`;
      if (seen.has(key)) e.duplicates += 1;
      seen.add(key);
      expected.set(r.nodeId, e);
    }
    const rows = await db.sql<{ node_id: string; received: number; duplicates: number }[]>`
      select node_id, sum(received)::int4 as received, sum(duplicates)::int4 as duplicates
      from quality_5m group by node_id order by node_id`;
    assert.equal(rows.length, NODES);
    for (const row of rows) {
      assert.equal(row.received, expected.get(row.node_id)?.received, `${row.node_id} received`);
      assert.equal(row.duplicates, expected.get(row.node_id)?.duplicates, `${row.node_id} duplicates`);
    }
    const hourly = await db.sql<{ n: number }[]>`
      select sum(received)::int4 as n from quality_1h`;
    assert.equal(hourly[0]!.n, raw.length, 'the hourly roll-up counts the same readings');

    const inlet = 'd01-inlet-1';
    const cached = await redis().get<{
      nodeId: string;
      windows: Record<
        'cycle' | '24h' | '7d',
        { score: number; completeness: number | null; timeliness: number }
      >;
    }>(prefix + keys.nodeQuality('default', inlet));
    assert.equal(cached?.nodeId, inlet);
    for (const w of ['cycle', '24h', '7d'] as const) {
      assert.ok(cached!.windows[w].score >= 0 && cached!.windows[w].score <= 100, `${w} score`);
    }
    assert.ok(cached!.windows['24h'].completeness! > 0.95, 'a healthy inlet reported its readings');
    const stored = await db.sql<{ n: number }[]>`select count(*)::int4 as n from node_quality`;
    assert.equal(stored[0]!.n, NODES);
    const network = await redis().get<{ score: number; nodes: number }>(
      prefix + keys.networkQuality('default'),
    );
    assert.equal(network?.nodes, NODES);
    assert.ok(network!.score > 50 && network!.score <= 100, `network score ${network?.score}`);
  });

  test('a stuck pressure sensor opens a flatline anomaly on its node, which resolves once it moves again', async () => {
    const [event] = live.events(LIVE, END, { types: ['flatline'], nodeIds: ['d01-pressure-2'] });
    assert.ok(event, 'the scenario has its flatline');
    const rows = await db.sql<
      {
        status: string;
        resolved_by: string;
        started_at: Date;
        opened_at: Date;
        ended_at: Date;
        evidence: { value: number; minutes: number };
      }[]
    >`select status, resolved_by, started_at, opened_at, ended_at, evidence from anomalies
      where node_id = 'd01-pressure-2' and type = 'flatline' and metric = 'pressure'`;
    assert.equal(rows.length, 1, 'one anomaly, updated cycle after cycle, not one per cycle');
    const a = rows[0]!;
    assert.ok(
      Math.abs(a.started_at.getTime() - event.startMs) <= 10 * 60_000,
      'starts when the sensor froze',
    );
    assert.ok(a.opened_at.getTime() - event.startMs <= 2 * H, 'opens within two hours');
    assert.equal(a.evidence.value, event.magnitude, 'the evidence holds the stuck value');
    assert.equal(a.status, 'resolved');
    assert.equal(a.resolved_by, 'auto');
    assert.ok(Math.abs(a.ended_at.getTime() - event.endMs) <= H, 'ended when the sensor moved again');
  });

  test('a main burst opens a critical district anomaly with the step as evidence, and resolves after', async () => {
    const [burst] = live.events(LIVE, END, { types: ['burst'] });
    assert.ok(burst);
    const rows = await db.sql<
      {
        status: string;
        severity: string;
        node_id: string;
        opened_at: Date;
        evidence: { stepLps: number; pressureDropBar: number };
      }[]
    >`select status, severity, node_id, opened_at, evidence from anomalies
      where subject = 'district' and district_id = 'd01' and type = 'burst'`;
    assert.equal(rows.length, 1);
    const a = rows[0]!;
    assert.ok(
      a.opened_at.getTime() >= burst.startMs && a.opened_at.getTime() - burst.startMs <= H,
      'within the hour',
    );
    assert.ok(
      Math.abs(a.evidence.stepLps - burst.magnitude) / burst.magnitude < 0.2,
      `step ${a.evidence.stepLps}`,
    );
    assert.ok(a.evidence.pressureDropBar > 0);
    assert.ok(burst.affectedNodeIds.includes(a.node_id), 'seen at a node of the district');
    assert.equal(a.status, 'resolved');
  });

  test('each night’s minimum flow is kept per district; no leak is claimed where the simulator has none', async () => {
    const nights = await db.sql<{ night: string; mnf_lps: number }[]>`
      select night, mnf_lps from district_nights where district_id = 'd01' order by night`;
    // The first rollup computed the reference weeks from the history; each later one adds its night.
    assert.ok(nights.length >= 21, `${nights.length} nights`);
    assert.equal(nights.at(-1)?.night, '2026-03-23', 'the last night over before the end (05:00 Rome time)');
    assert.ok(nights.every((n) => n.mnf_lps > 0));
    assert.equal(live.events(T0 - 14 * D, END, { types: ['leak'] }).filter((e) => e.endMs > T0).length, 0);
    const leaks = await db.sql`select id from anomalies where type = 'night_flow_leak'`;
    assert.equal(leaks.length, 0);
  });

  test('anomaly.opened is logged exactly once per anomaly that opened, and recent anomalies are cached', async () => {
    const opened = await db.sql<{ id: string; severity: string; type: string }[]>`
      select id, severity, type from anomalies where opened_at is not null`;
    assert.ok(opened.length >= 2);
    const lines = logs.filter((l) => l.event === 'anomaly.opened');
    for (const a of opened) {
      const mine = lines.filter((l) => l.anomalyId === a.id);
      assert.equal(mine.length, 1, `one log line for ${a.type}`);
      assert.equal(mine[0]!.anomalyType, a.type);
    }
    assert.equal(lines.length, opened.length);
    const recent = await redis().get<{ anomalies: { id: string; type: string }[] }>(
      prefix + keys.anomaliesRecent('default'),
    );
    assert.ok(recent?.anomalies.some((a) => a.type === 'burst'));
    const summary = await redis().get<{ openAnomalies: number }>(prefix + keys.dashboardSummary('default'));
    assert.equal(typeof summary?.openAnomalies, 'number');
  });

  test('replaying a cycle changes nothing: no duplicate anomalies, no second log line, same counters', async () => {
    const snapshot = async () => ({
      anomalies: await db.sql`
        select id, status, severity, last_seen_at, evidence from anomalies order by id`,
      quality: await db.sql`select * from quality_5m order by node_id, bucket`,
      predictions:
        await db.sql`select target_id, issued_at, body from predictions order by target_id, issued_at`,
    });
    const before = await snapshot();
    const linesBefore = logs.filter((l) => l.event === 'anomaly.opened').length;
    await deliver(lastRun);
    await deliver(lastRun);
    assert.deepEqual(await snapshot(), before);
    assert.equal(logs.filter((l) => l.event === 'anomaly.opened').length, linesBefore);
  });

  test('forecasts: 168 hourly points with ordered 80 % and 95 % intervals, for an inlet and its district', async () => {
    for (const target of ['d01-inlet-1', 'd01']) {
      const [row] = await db.sql<
        { model_id: string; horizon_start: Date; body: Record<string, (number | null)[]> }[]
      >`
        select model_id, horizon_start, body from predictions where target_id = ${target}
        order by issued_at desc limit 1`;
      assert.ok(row, `a forecast for ${target}`);
      const { mean, lo80, hi80, lo95, hi95 } = row.body as Record<string, number[]>;
      assert.equal(mean!.length, 168);
      for (let i = 0; i < 168; i++) {
        assert.ok(
          lo95![i]! <= lo80![i]! &&
            lo80![i]! <= mean![i]! &&
            mean![i]! <= hi80![i]! &&
            hi80![i]! <= hi95![i]!,
        );
      }
      // The next day's demand as it happens — the simulator's true inflow less what leaks and bursts
      // lose (no forecast foresees a burst), not what a faulty meter reads; one inlet, no outlet in this
      // district — within 15 % of the flow by day-1 mean absolute error.
      const fromMs = row.horizon_start.getTime();
      const actual = Array.from({ length: 24 }, (_, h) => {
        const t = live.waterBalance('d01', fromMs + h * H, fromMs + (h + 1) * H);
        return (t.systemInputM3 - t.eventLossM3) / 3.6;
      });
      const mae = actual.reduce((sum, a, i) => sum + Math.abs(a - mean![i]!), 0) / 24;
      const level = actual.reduce((a, b) => a + b, 0) / 24;
      assert.ok(mae < 0.15 * level, `${target}: day-1 MAE ${mae.toFixed(2)} L/s on ${level.toFixed(1)} L/s`);
      const cached = await redis().get<{ points: unknown[]; modelId: string }>(
        prefix + keys.predictions('default', target),
      );
      assert.equal(cached?.points.length, 168);
      assert.equal(cached?.modelId, row.model_id);
    }
    const scored = await db.sql<{ target_id: string; role: string; kind: string }[]>`
      select target_id, role, kind from model_performance order by target_id, role`;
    for (const target of ['d01-inlet-1', 'd01']) {
      assert.ok(scored.some((s) => s.target_id === target && s.role === 'champion' && s.kind === 'backtest'));
      assert.ok(
        scored.some((s) => s.target_id === target && s.role === 'challenger' && s.kind === 'backtest'),
      );
    }
    const record = await stack.aggregator.models!.get('default', 'd01');
    assert.ok(record?.state.champion.modelId, 'the district has a champion in the registry');
  });

  test('water balance of a local day matches the simulator’s ground truth within 1 %', async () => {
    const truth = live.waterBalance('d01', DAY.start, DAY.end);
    const [row] = await db.sql<{ body: Record<string, number | null | string[] | boolean> }[]>`
      select body from network_efficiency where district_id = 'd01' and period_kind = 'day' and period_label = ${DAY.label}`;
    assert.ok(row);
    const b = row.body;
    assert.equal(b.partial, false);
    const near = (a: unknown, e: number, what: string) =>
      assert.ok(typeof a === 'number' && Math.abs(a - e) <= 0.01 * Math.abs(e), `${what}: ${a} vs ${e}`);
    near(b.systemInputM3, truth.systemInputM3, 'system input volume');
    near(b.authorisedConsumptionM3, truth.authorisedM3, 'authorised consumption');
    assert.ok(
      Math.abs((b.waterLossesM3 as number) - truth.realLossesM3) <= 0.01 * truth.systemInputM3,
      `water losses ${b.waterLossesM3} vs ${truth.realLossesM3}`,
    );
    near(b.nrwPercent, (100 * (truth.systemInputM3 - truth.authorisedM3)) / truth.systemInputM3, 'NRW %');
    assert.equal(typeof b.ili, 'number');
    assert.deepEqual(b.missing, []);
    const [network] = await db.sql<{ body: { figures: { systemInputM3: number } } }[]>`
      select body from network_efficiency where district_id = '*' and period_kind = 'day' and period_label = ${DAY.label}`;
    near(network?.body.figures.systemInputM3, b.systemInputM3 as number, 'network-wide SIV (one district)');
    const cached = await redis().get<{ network: { periodLabel: string } | null }>(
      prefix + keys.networkEfficiency('default', 'day'),
    );
    assert.ok(cached?.network?.periodLabel, 'the latest complete day is cached');
  });

  test('a district without consumption data reports what it can and lists what is missing; billing fills it', async () => {
    // The utility's real case: no customer meters. Their rows go, and the day is recomputed.
    await db.sql`delete from nodes where kind = 'customer'`;
    const span = [{ districtId: 'd01', minMs: DAY.start, maxMs: DAY.end - 1 }];
    await updateEfficiency(stack.storage.stores.rollup, 'default', span, END);
    const read = async () =>
      (
        await db.sql<{ body: Record<string, unknown> }[]>`
          select body from network_efficiency where district_id = 'd01' and period_kind = 'day' and period_label = ${DAY.label}`
      )[0]!.body;
    const b = await read();
    assert.equal(b.authorisedConsumptionM3, null);
    assert.equal(b.nrwPercent, null);
    assert.ok((b.missing as string[]).includes('authorisedConsumption'));
    assert.ok((b.notComputed as string[]).includes('nrwPercent'));
    assert.equal(typeof b.systemInputM3, 'number', 'the system input volume is still there');
    assert.equal(typeof b.minNightFlowM3h, 'number', 'and the night flow');

    const truth = live.waterBalance('d01', DAY.start, DAY.end);
    await insertBilled(stack.storage.sql, {
      tenantId: 'default',
      districtId: 'd01',
      fromMs: DAY.start,
      toMs: DAY.end,
      volumeM3: truth.authorisedM3,
      source: 'test',
    });
    await updateEfficiency(stack.storage.stores.rollup, 'default', span, END);
    const billed = await read();
    assert.equal(billed.consumptionSource, 'billed');
    assert.ok(Math.abs((billed.authorisedConsumptionM3 as number) - truth.authorisedM3) < 1e-6);
    assert.deepEqual(billed.missing, []);
  });
});
