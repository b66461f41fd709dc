/**
 * The rollup's district detectors against real PostgreSQL: an open pressure-residual anomaly whose frozen
 * reference (the two weeks before it started) lies before the three weeks of hourly pressure the rollup
 * reads, and an open night-flow leak whose reference nights lie before the five weeks of nights it reads.
 * Each reference is read apart, so the anomaly stays open while the leak lasts (before: it resolved).
 * And the pressure model after a repair (the resolved anomaly's hours are left out of the reference: before,
 * the repair opened a false drop at another point) and with a second leak at another point while the first
 * is open (it supersedes the open anomaly: before, the open anomaly masked it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { MemoryCache } from '../shared/adapters/cache/memory.ts';
import { MemoryCoordinator } from '../shared/adapters/coordination/memory.ts';
import { upsertPartials } from '../shared/adapters/postgres/aggregates.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import type { Anomaly } from '../shared/anomaly/index.ts';
import { loadConfig } from '../shared/config.ts';
import type { AggregatorDeps } from '../shared/cycle/deps.ts';
import { detectDistrictAnomalies } from '../shared/cycle/rollup/district-anomalies.ts';
import type { DistrictMeters } from '../shared/cycle/rollup/store.ts';
import { aggregateReadings, DAY_MS, HOUR_MS, rollUp } from '../shared/domain/aggregate.ts';
import { gaussian, seededRandom } from '../shared/domain/random.ts';
import type { Reading } from '../shared/domain/readings.ts';
import { silentLogger } from '../shared/log.ts';
import { cycleSettings, cycleStores } from '../shared/wiring/cycle.ts';
import { RecordingBus } from './lib/delivery.ts';

const T0 = Date.UTC(2026, 0, 5);
const DAYS = 50;
const LEAK_AT = T0 + 20 * DAY_MS; // 30 days before now: its reference [6, 20) days lies before the read
const NOW = T0 + DAYS * DAY_MS;
const POINTS = 5;
const TENANT = 'tf';

/** Extra drop (bar) at point `p` at `t`: point 1 reads 0.03 bar low from LEAK_AT. */
type Leak = (p: number, t: number) => number;
const openLeak: Leak = (p, t) => (p === 1 && t >= LEAK_AT ? 0.03 : 0);

/** Hourly pressures of five points falling with the district's demand, less `leak`'s drops. */
function readings(leak: Leak = openLeak, tenant = TENANT): Reading[] {
  const noise = gaussian(seededRandom(11));
  const days = gaussian(seededRandom(12));
  const dayFactor = Array.from({ length: DAYS }, () => 1 + 0.05 * days());
  const out: Reading[] = [];
  for (let h = 0; h < DAYS * 24; h++) {
    const t = T0 + h * HOUR_MS;
    const hour = (h % 24) + 1;
    const q = (0.6 + 0.4 * Math.sin(((hour - 7) / 24) * 2 * Math.PI)) * dayFactor[Math.floor(h / 24)]!;
    for (let p = 0; p < POINTS; p++) {
      const v = 5 - 0.3 * p - (0.2 + 0.1 * p) * q ** 1.85 + 0.003 * noise() - leak(p, t);
      out.push({
        nodeId: `${tenant}-p${p}`,
        ts: t + 30 * 60_000,
        ingestedAt: t + 31 * 60_000,
        values: { pressure: v },
      });
    }
  }
  return out;
}

const districtOf = (tenant: string): DistrictMeters => ({
  district: {
    id: `${tenant}-d1`,
    tenantId: tenant,
    name: 'F',
    timezone: 'UTC',
    mainsLengthKm: null,
    connections: null,
    privatePipeKm: null,
    avgPressureM: null,
  },
  nodes: Array.from({ length: POINTS }, (_, p) => ({ id: `${tenant}-p${p}`, kind: 'pressure' as const })),
});
const district = districtOf(TENANT);

/** A pressure-residual anomaly at point 1 since LEAK_AT, opened a day later. */
const pressureAnomaly = (tenant: string, fields: Partial<Anomaly>): Anomaly => ({
  id: `${tenant}-pressure-1`,
  tenantId: tenant,
  nodeId: `${tenant}-p1`,
  districtId: `${tenant}-d1`,
  type: 'pressure_residual',
  metric: 'pressure',
  status: 'open',
  severity: 'major',
  peakSeverity: 'major',
  startMs: LEAK_AT,
  firstSeenMs: LEAK_AT + DAY_MS,
  lastSeenMs: NOW - 6 * HOUR_MS,
  openedAtMs: LEAK_AT + DAY_MS,
  acknowledgedAtMs: null,
  acknowledgedBy: null,
  resolvedAtMs: null,
  resolvedBy: null,
  endMs: null,
  evidence: { cusum: 300 },
  peakEvidence: { cusum: 300 },
  note: null,
  ...fields,
});

/** A fresh database holding the district's hourly pressures (`leak`) and the given anomaly. */
async function pressureDistrict(tenant: string, leak: Leak, anomaly: Anomaly) {
  const db = await createTestDatabase();
  const sql = connect(db.url, { max: 2 });
  const { timescale } = await migrate(sql);
  const partitions = new PartitionManager(sql, timescale);
  await partitions.ensure(
    'agg_1h',
    Array.from({ length: DAYS }, (_, d) => T0 + d * DAY_MS),
  );
  await sql`insert into tenants (id, name) values (${tenant}, ${tenant})`;
  await sql`insert into districts (id, tenant_id, name) values (${`${tenant}-d1`}, ${tenant}, 'F')`;
  await upsertPartials(sql, 'agg_1h', rollUp(aggregateReadings(readings(leak, tenant)), HOUR_MS));
  const settings = cycleSettings(loadConfig({ LOG_LEVEL: 'error' }));
  const deps: AggregatorDeps = {
    stores: cycleStores(sql, partitions),
    cache: new MemoryCache(),
    bus: new RecordingBus(),
    coordinator: new MemoryCoordinator(),
    logger: silentLogger,
    settings: { ...settings, tenantId: tenant },
  };
  await deps.stores.rollup.writeDistrictTransitions([{ kind: 'opened', anomaly }], new Map());
  return { db, sql, deps };
}

describe('an open pressure-residual anomaly older than the rollup’s read', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let sql: ReturnType<typeof connect>;
  let deps: AggregatorDeps;

  before(async () => {
    // Opened a day after the leak, last seen six hours ago: absent now, it would be resolved.
    ({ db, sql, deps } = await pressureDistrict(TENANT, openLeak, pressureAnomaly(TENANT, {})));
  });
  after(async () => {
    await sql?.end();
    await db?.drop();
  });

  test('stays open against its frozen reference (seen again now); nothing new opens', async () => {
    const opened = await detectDistrictAnomalies(deps, TENANT, [district], NOW, silentLogger);
    assert.equal(opened, 0);
    const rows = await sql<{ id: string; status: string; node_id: string; last_seen_at: Date }[]>`
      select id, status, node_id, last_seen_at from anomalies where district_id = 'tf-d1' order by id`;
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0]!.status, 'open', 'resolved: the reference ran short');
    assert.equal(rows[0]!.last_seen_at.getTime(), NOW, 'seen again now');
  });
});

describe('an open night-flow leak older than the nights the rollup reads', await peerGate('postgres'), () => {
  const tenant = 'tn';
  const nightsKept = 60;
  const leakNight = 25; // 35 nights before now: its reference nights lie before the five weeks read
  const now = T0 + (nightsKept - 1) * DAY_MS + 6 * HOUR_MS;
  const inletDistrict: DistrictMeters = {
    district: { ...district.district, id: 'tn-d1', tenantId: tenant },
    nodes: [{ id: 'tn-in', kind: 'inlet' }],
  };
  let db: TestDatabase;
  let sql: ReturnType<typeof connect>;
  let deps: AggregatorDeps;

  before(async () => {
    db = await createTestDatabase();
    sql = connect(db.url, { max: 2 });
    const { timescale } = await migrate(sql);
    await sql`insert into tenants (id, name) values (${tenant}, ${tenant})`;
    await sql`insert into districts (id, tenant_id, name) values ('tn-d1', ${tenant}, 'N')`;
    const settings = cycleSettings(loadConfig({ LOG_LEVEL: 'error' }));
    deps = {
      stores: cycleStores(sql, new PartitionManager(sql, timescale)),
      cache: new MemoryCache(),
      bus: new RecordingBus(),
      coordinator: new MemoryCoordinator(),
      logger: silentLogger,
      settings: { ...settings, tenantId: tenant },
    };
    // Nightly minimum flows of 5 L/s, 1.5 L/s more from the leak's night on.
    const noise = gaussian(seededRandom(21));
    await deps.stores.rollup.writeNights(
      tenant,
      Array.from({ length: nightsKept }, (_, d) => {
        const day = T0 + d * DAY_MS;
        return {
          districtId: 'tn-d1',
          date: new Date(day).toISOString().slice(0, 10),
          startMs: day + 2 * HOUR_MS,
          endMs: day + 5 * HOUR_MS,
          atMs: day + 3 * HOUR_MS,
          mnf: 5 + 0.1 * noise() + (d >= leakNight ? 1.5 : 0),
        };
      }),
    );
    // The detectors last ran half an hour ago (no catch-up of nights from the meters' partials).
    await deps.stores.rollup.saveDistrictAnomaliesEvaluated(tenant, now - 30 * 60_000);
    const leakAt = T0 + leakNight * DAY_MS + 3 * HOUR_MS;
    await deps.stores.rollup.writeDistrictTransitions(
      [
        {
          kind: 'opened',
          anomaly: {
            id: 'tn-night-1',
            tenantId: tenant,
            nodeId: 'tn-in',
            districtId: 'tn-d1',
            type: 'night_flow_leak',
            metric: 'flow',
            status: 'open',
            severity: 'major',
            peakSeverity: 'major',
            startMs: leakAt,
            firstSeenMs: leakAt + 3 * DAY_MS,
            // Last seen a day ago: absent now, it would be resolved.
            lastSeenMs: now - DAY_MS,
            openedAtMs: leakAt + 3 * DAY_MS,
            acknowledgedAtMs: null,
            acknowledgedBy: null,
            resolvedAtMs: null,
            resolvedBy: null,
            endMs: null,
            evidence: { riseLps: 1.5 },
            peakEvidence: { riseLps: 1.5 },
            note: null,
          },
        },
      ],
      new Map(),
    );
  });
  after(async () => {
    await sql?.end();
    await db?.drop();
  });

  test('stays open against the nights before it (seen again now); nothing new opens', async () => {
    const opened = await detectDistrictAnomalies(deps, tenant, [inletDistrict], now, silentLogger);
    assert.equal(opened, 0);
    const rows = await sql<
      { id: string; status: string; last_seen_at: Date; evidence: { referenceLps: number } }[]
    >`
      select id, status, last_seen_at, evidence from anomalies where district_id = 'tn-d1' order by id`;
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0]!.status, 'open', 'resolved: the reference nights ran short');
    assert.equal(rows[0]!.last_seen_at.getTime(), now, 'seen again now');
    // The reference is the nights before the leak (about 5 L/s), not the leak's own.
    assert.ok(Math.abs(rows[0]!.evidence.referenceLps - 5) < 0.3, JSON.stringify(rows[0]!.evidence));
  });
});

describe(
  'a repaired leak and a second leak, seen by the pressure model in the rollup',
  await peerGate('postgres'),
  () => {
    const repairedAt = NOW - 5 * DAY_MS;
    const dbs: { db: TestDatabase; sql: ReturnType<typeof connect> }[] = [];
    after(async () => {
      for (const { db, sql } of dbs) {
        await sql.end();
        await db.drop();
      }
    });
    const anomaliesOf = async (sql: ReturnType<typeof connect>, tenant: string) =>
      sql<{ id: string; status: string; node_id: string; resolved_by: string | null }[]>`
      select id, status, node_id, resolved_by from anomalies where district_id = ${`${tenant}-d1`}
      order by first_seen_at, id`;

    test("after the repair, the leak's resolved anomaly keeps its hours out of the reference: nothing opens", async () => {
      // The leak at point 1 ran 25 days and was repaired 5 days ago; its anomaly resolved a day later. The
      // reference (21 to 7 days ago) lies within the leak: without leaving it out, the repair reads as drops.
      const tenant = 'tr';
      const resolvedAt = repairedAt + DAY_MS;
      const { db, sql, deps } = await pressureDistrict(
        tenant,
        (p, t) => (p === 1 && t >= LEAK_AT && t < repairedAt ? 0.03 : 0),
        pressureAnomaly(tenant, {
          status: 'resolved',
          lastSeenMs: resolvedAt,
          resolvedAtMs: resolvedAt,
          resolvedBy: 'auto',
          endMs: resolvedAt,
        }),
      );
      dbs.push({ db, sql });
      const opened = await detectDistrictAnomalies(deps, tenant, [districtOf(tenant)], NOW, silentLogger);
      const rows = await anomaliesOf(sql, tenant);
      assert.equal(opened, 0, JSON.stringify(rows));
      assert.deepEqual(
        rows.map((r) => r.status),
        ['resolved'],
      );
    });

    test('a second leak at another point while the first is open supersedes it with a new anomaly there', async () => {
      // Point 1 leaks from LEAK_AT on (30 days: the reference of 21 to 7 days ago holds it); point 3 from a
      // day ago.
      const tenant = 'ts';
      const second = NOW - DAY_MS;
      const { db, sql, deps } = await pressureDistrict(
        tenant,
        (p, t) => (p === 1 && t >= LEAK_AT ? 0.03 : p === 3 && t >= second ? 0.03 : 0),
        pressureAnomaly(tenant, {}),
      );
      dbs.push({ db, sql });
      const opened = await detectDistrictAnomalies(deps, tenant, [districtOf(tenant)], NOW, silentLogger);
      const rows = await anomaliesOf(sql, tenant);
      assert.equal(opened, 1, JSON.stringify(rows));
      assert.deepEqual(
        rows.map((r) => [r.node_id, r.status, r.resolved_by]),
        [
          [`${tenant}-p1`, 'resolved', 'superseded'],
          [`${tenant}-p3`, 'open', null],
        ],
      );
    });
  },
);
