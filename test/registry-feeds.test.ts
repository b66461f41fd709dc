/**
 * The registry's "this outlet feeds that district" (nodes.feeds_district_id, migration 8) on PostgreSQL: the
 * network's sync stores it, reading the network returns it, and the rollup's districtMeters lists such a
 * node among the fed district's feeders (its water balance's supply) while it stays a node of its own district.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { districtMeters, loadNetwork, upsertNetwork } from '../shared/adapters/postgres/registry.ts';
import type { DistrictInfo, Network, NodeInfo, NodeKind } from '../shared/domain/readings.ts';

const district = (id: string): DistrictInfo => ({
  id,
  tenantId: 'default',
  name: id,
  timezone: 'UTC',
  mainsLengthKm: null,
  connections: null,
  privatePipeKm: null,
  avgPressureM: null,
});
const node = (id: string, kind: NodeKind, districtId: string, feeds?: string): NodeInfo => ({
  id,
  tenantId: 'default',
  districtId,
  kind,
  name: id,
  latitude: null,
  longitude: null,
  metrics: kind === 'tank' ? ['volume'] : ['flow'],
  ...(feeds ? { feedsDistrictId: feeds } : {}),
});
const network = (pumpFeeds?: string): Network => ({
  tenantId: 'default',
  districts: [district('A'), district('C')],
  nodes: [
    node('IN-1', 'inlet', 'A'),
    node('PUMP-1', 'outlet', 'A', pumpFeeds),
    node('T-1', 'tank', 'C'),
    node('AMR-1', 'customer', 'C'),
  ],
});

describe('registry: outlets that feed another district', { ...(await peerGate('postgres')) }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
    await migrate(db.sql);
  });
  after(async () => {
    await db?.drop();
  });

  test('migration 8 is applied once', async () => {
    const rows = await db.sql<{ version: number }[]>`select version from schema_migrations where version = 8`;
    assert.equal(rows.length, 1);
    assert.deepEqual((await migrate(db.sql)).applied, []);
  });

  test("stored, read back, and listed as the fed district's feeder", async () => {
    await upsertNetwork(db.sql, network('C'));
    const loaded = await loadNetwork(db.sql, 'default');
    assert.equal(loaded.nodes.find((n) => n.id === 'PUMP-1')?.feedsDistrictId, 'C');
    assert.equal(loaded.nodes.find((n) => n.id === 'IN-1')?.feedsDistrictId, undefined);

    const all = await districtMeters(db.sql, 'default');
    const a = all.find((d) => d.district.id === 'A')!;
    const c = all.find((d) => d.district.id === 'C')!;
    assert.deepEqual(a.nodes.map((n) => n.id).sort(), ['IN-1', 'PUMP-1']);
    assert.deepEqual(a.feeders, []);
    assert.deepEqual(c.nodes.map((n) => n.id).sort(), ['AMR-1', 'T-1']);
    assert.deepEqual(c.feeders, [{ id: 'PUMP-1', kind: 'outlet' }]);
    // Asked for C alone, its feeder from A is still found.
    const [only] = await districtMeters(db.sql, 'default', ['C']);
    assert.deepEqual(only?.feeders, [{ id: 'PUMP-1', kind: 'outlet' }]);
  });

  test('a sync without the relation clears it', async () => {
    await upsertNetwork(db.sql, network());
    const [c] = await districtMeters(db.sql, 'default', ['C']);
    assert.deepEqual(c?.feeders, []);
    const loaded = await loadNetwork(db.sql, 'default');
    assert.equal(loaded.nodes.find((n) => n.id === 'PUMP-1')?.feedsDistrictId, undefined);
  });
});
