/**
 * The rollup's IWA water balance on PostgreSQL for a district fed by another district's outlet (L-Town's
 * area C: no inlet of its own, supplied by A's pump, registered as `feedsDistrictId`). The feeder's water is
 * the fed district's system input (before: C had none, so no NRW), and still A's outflow; the network's
 * total input counts it once. A run in which only the feeder reported touches the fed district's day too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { upsertPartials } from '../shared/adapters/postgres/aggregates.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { upsertNetwork } from '../shared/adapters/postgres/registry.ts';
import { updateEfficiency } from '../shared/cycle/rollup/efficiency.ts';
import { aggregateReadings, DAY_MS, HOUR_MS, rollUp } from '../shared/domain/aggregate.ts';
import type { DistrictInfo, NodeInfo, NodeKind, Reading } from '../shared/domain/readings.ts';
import { cycleStores } from '../shared/wiring/cycle.ts';

const TENANT = 'tfeed';
const DAY = Date.UTC(2026, 2, 10);
const NOW = DAY + DAY_MS + HOUR_MS;

const district = (id: string): DistrictInfo => ({
  id,
  tenantId: TENANT,
  name: id,
  timezone: 'UTC',
  mainsLengthKm: 10,
  connections: 100,
  privatePipeKm: null,
  avgPressureM: null,
});
const node = (id: string, kind: NodeKind, districtId: string, feeds?: string): NodeInfo => ({
  id,
  tenantId: TENANT,
  districtId,
  kind,
  name: id,
  latitude: null,
  longitude: null,
  metrics: ['flow'],
  ...(feeds ? { feedsDistrictId: feeds } : {}),
});

/** Every 5 minutes of the day: A's inlet 10 L/s, A's pump to C 4 L/s, C's customers 3 L/s, A's 5 L/s. */
function readings(): Reading[] {
  const flows: Record<string, number> = { 'tf-in': 10, 'tf-pump': 4, 'tf-amr-c': 3, 'tf-amr-a': 5 };
  const out: Reading[] = [];
  for (let t = DAY; t < DAY + DAY_MS; t += 5 * 60_000) {
    for (const [nodeId, flow] of Object.entries(flows)) {
      out.push({ nodeId, ts: t, ingestedAt: t + 60_000, values: { flow } });
    }
  }
  return out;
}

describe('efficiency: an outlet feeding another district', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let sql: ReturnType<typeof connect>;
  let stores: ReturnType<typeof cycleStores>;

  before(async () => {
    db = await createTestDatabase();
    sql = connect(db.url, { max: 2 });
    const { timescale } = await migrate(sql);
    const partitions = new PartitionManager(sql, timescale);
    await partitions.ensure('agg_1h', [DAY]);
    await sql`insert into tenants (id, name) values (${TENANT}, ${TENANT})`;
    await upsertNetwork(sql, {
      tenantId: TENANT,
      districts: [district('A'), district('C')],
      nodes: [
        node('tf-in', 'inlet', 'A'),
        node('tf-pump', 'outlet', 'A', 'C'),
        node('tf-amr-a', 'customer', 'A'),
        node('tf-amr-c', 'customer', 'C'),
      ],
    });
    await upsertPartials(sql, 'agg_1h', rollUp(aggregateReadings(readings()), HOUR_MS));
    stores = cycleStores(sql, partitions);
  });
  after(async () => {
    await sql?.end();
    await db?.drop();
  });

  test("the feeder is the fed district's system input and its own district's outflow", async () => {
    const spans = ['A', 'C'].map((districtId) => ({ districtId, minMs: DAY, maxMs: DAY + DAY_MS - 1 }));
    await updateEfficiency(stores.rollup, TENANT, spans, NOW);
    const rows = await stores.rollup.readEfficiency(TENANT, 'day', { exact: ['2026-03-10'] });
    const body = (id: string) =>
      rows.find((r) => r.districtId === id)?.body as {
        systemInputM3: number | null;
        waterLossesM3: number | null;
        nrwPercent: number | null;
      };
    const near = (a: number | null, e: number) =>
      assert.ok(a !== null && Math.abs(a - e) < 1e-6, `${a} vs ${e}`);
    // C: 4 L/s in (86.4 m³/L/s·day), 3 L/s used: 1 L/s lost.
    near(body('C').systemInputM3, 4 * 86.4);
    near(body('C').waterLossesM3, 1 * 86.4);
    near(body('C').nrwPercent, 25);
    // A: 10 in, 4 out to C, 5 used.
    near(body('A').systemInputM3, 6 * 86.4);
    near(body('A').waterLossesM3, 1 * 86.4);
    // The network: the transfer counts once (10 L/s in), losses add up (2 L/s).
    const network = rows.find((r) => r.districtId === '*')?.body as {
      figures: Record<string, number | null>;
    };
    near(network.figures.systemInputM3!, 10 * 86.4);
    near(network.figures.waterLossesM3!, 2 * 86.4);
  });

  test("a run in which only the feeder reported touches the fed district's day", async () => {
    await sql`insert into applied_batches (run_id, node_id, part, readings, min_ts, max_ts)
      values ('tf-run', 'tf-pump', 0, 288, to_timestamp(${DAY / 1000}), to_timestamp(${(DAY + DAY_MS - 1) / 1000}))`;
    const spans = await stores.rollup.touchedSpans('tf-run');
    assert.deepEqual(
      spans.map((s) => s.districtId),
      ['A', 'C'],
    );
  });
});
