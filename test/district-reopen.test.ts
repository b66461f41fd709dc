/**
 * The rollup re-opens a district's auto-resolved flow anomaly when its condition comes back within a week
 * with no clear step beyond it (the same leak, seen again), against real PostgreSQL: a night-flow leak
 * resolved three days ago whose nights are still up re-opens as the same anomaly (before: the rollup read
 * resolved anomalies of the last cycle only, and a new alarm opened for the same leak), while a second
 * leak raising the nights a clear step further opens a new one.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { MemoryCache } from '../shared/adapters/cache/memory.ts';
import { MemoryCoordinator } from '../shared/adapters/coordination/memory.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { loadConfig } from '../shared/config.ts';
import type { AggregatorDeps } from '../shared/cycle/deps.ts';
import { detectDistrictAnomalies } from '../shared/cycle/rollup/district-anomalies.ts';
import type { DistrictMeters } from '../shared/cycle/rollup/store.ts';
import { DAY_MS, HOUR_MS } from '../shared/domain/aggregate.ts';
import { gaussian, seededRandom } from '../shared/domain/random.ts';
import { silentLogger } from '../shared/log.ts';
import { cycleSettings, cycleStores } from '../shared/wiring/cycle.ts';
import { RecordingBus } from './lib/delivery.ts';

const T0 = Date.UTC(2026, 0, 5);
const NIGHTS = 60;
const LEAK_NIGHT = 50;
const NOW = T0 + (NIGHTS - 1) * DAY_MS + 6 * HOUR_MS;

/**
 * A district whose nightly minimum flow is 5 L/s, 1.5 L/s more from LEAK_NIGHT on (and `second` more over
 * the last four nights), with the leak's night-flow anomaly opened three nights in and auto-resolved after
 * an odd night, last seen three days ago.
 */
async function districtWithResolvedLeak(tenant: string, second: number) {
  const db = await createTestDatabase();
  const sql = connect(db.url, { max: 2 });
  const { timescale } = await migrate(sql);
  await sql`insert into tenants (id, name) values (${tenant}, ${tenant})`;
  await sql`insert into districts (id, tenant_id, name) values (${`${tenant}-d1`}, ${tenant}, 'N')`;
  const settings = cycleSettings(loadConfig({ LOG_LEVEL: 'error' }));
  const deps: AggregatorDeps = {
    stores: cycleStores(sql, new PartitionManager(sql, timescale)),
    cache: new MemoryCache(),
    bus: new RecordingBus(),
    coordinator: new MemoryCoordinator(),
    logger: silentLogger,
    settings: { ...settings, tenantId: tenant },
  };
  const noise = gaussian(seededRandom(31));
  await deps.stores.rollup.writeNights(
    tenant,
    Array.from({ length: NIGHTS }, (_, d) => {
      const day = T0 + d * DAY_MS;
      return {
        districtId: `${tenant}-d1`,
        date: new Date(day).toISOString().slice(0, 10),
        startMs: day + 2 * HOUR_MS,
        endMs: day + 5 * HOUR_MS,
        atMs: day + 3 * HOUR_MS,
        mnf: 5 + 0.1 * noise() + (d >= LEAK_NIGHT ? 1.5 : 0) + (d >= NIGHTS - 4 ? second : 0),
      };
    }),
  );
  await deps.stores.rollup.saveDistrictAnomaliesEvaluated(tenant, NOW - 30 * 60_000);
  const leakAt = T0 + LEAK_NIGHT * DAY_MS + 3 * HOUR_MS;
  const lastSeenMs = NOW - 3 * DAY_MS;
  await deps.stores.rollup.writeDistrictTransitions(
    [
      {
        kind: 'resolved',
        anomaly: {
          id: `${tenant}-night-1`,
          tenantId: tenant,
          nodeId: `${tenant}-in`,
          districtId: `${tenant}-d1`,
          type: 'night_flow_leak',
          metric: 'flow',
          status: 'resolved',
          severity: 'minor',
          peakSeverity: 'minor',
          startMs: leakAt,
          firstSeenMs: leakAt + 3 * DAY_MS,
          lastSeenMs,
          openedAtMs: leakAt + 3 * DAY_MS,
          acknowledgedAtMs: null,
          acknowledgedBy: null,
          resolvedAtMs: lastSeenMs + DAY_MS,
          resolvedBy: 'auto',
          endMs: lastSeenMs,
          evidence: { lowestRecentLps: 6.5, riseLps: 1.5, thresholdLps: 0.5 },
          peakEvidence: { lowestRecentLps: 6.5, riseLps: 1.5, thresholdLps: 0.5 },
          note: null,
        },
      },
    ],
    new Map(),
  );
  const district: DistrictMeters = {
    district: {
      id: `${tenant}-d1`,
      tenantId: tenant,
      name: 'N',
      timezone: 'UTC',
      mainsLengthKm: null,
      connections: null,
      privatePipeKm: null,
      avgPressureM: null,
    },
    nodes: [{ id: `${tenant}-in`, kind: 'inlet' }],
  };
  return { db, sql, deps, district };
}

describe('a leak’s auto-resolved night-flow anomaly coming back', await peerGate('postgres'), () => {
  const dbs: { db: TestDatabase; sql: ReturnType<typeof connect> }[] = [];
  after(async () => {
    for (const { db, sql } of dbs) {
      await sql.end();
      await db.drop();
    }
  });

  test('the same leak seen again re-opens the same anomaly: no new alarm, an update event', async () => {
    const tenant = 'ra';
    const { db, sql, deps, district } = await districtWithResolvedLeak(tenant, 0);
    dbs.push({ db, sql });
    const opened = await detectDistrictAnomalies(deps, tenant, [district], NOW, silentLogger);
    const rows = await sql<{ id: string; status: string; opened_at: Date; last_seen_at: Date }[]>`
      select id, status, opened_at, last_seen_at from anomalies where district_id = 'ra-d1' order by id`;
    assert.equal(opened, 0, JSON.stringify(rows));
    assert.deepEqual(
      rows.map((r) => [r.id, r.status]),
      [['ra-night-1', 'open']],
    );
    assert.equal(rows[0]!.last_seen_at.getTime(), NOW);
    const events = await sql<{ kind: string; status: string }[]>`
      select kind, payload->>'status' as status from anomaly_events where anomaly_id = 'ra-night-1' order by id`;
    assert.deepEqual(events.at(-1), { kind: 'updated', status: 'open' });
  });

  test('a second leak raising the nights a clear step further opens a new anomaly', async () => {
    const tenant = 'rb';
    const { db, sql, deps, district } = await districtWithResolvedLeak(tenant, 1.5);
    dbs.push({ db, sql });
    const opened = await detectDistrictAnomalies(deps, tenant, [district], NOW, silentLogger);
    const rows = await sql<{ id: string; status: string }[]>`
      select id, status from anomalies where district_id = 'rb-d1' order by first_seen_at, id`;
    assert.equal(opened, 1, JSON.stringify(rows));
    assert.deepEqual(
      rows.map((r) => r.status),
      ['resolved', 'open'],
    );
  });
});
