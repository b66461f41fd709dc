/** Retention as PRODUCT.md sets it, run by the maintenance step on real PostgreSQL. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { runMaintenance } from '../shared/cycle/maintenance/index.ts';
import { silentLogger } from '../shared/log.ts';
import { cycleStores } from '../shared/wiring/cycle.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 9, 1);

describe('retention', await peerGate('postgres'), () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  test('old partitions, predictions, run logs and resolved anomalies go; recent ones stay', async () => {
    const sql = connect(db.url, { max: 2 });
    const partitions = new PartitionManager(sql, (await migrate(sql)).timescale);
    await partitions.ensure('agg_5m', [NOW - 120 * DAY, NOW - 10 * DAY]);
    await sql`insert into tenants (id, name) values ('t', 't')`;
    const runRow = (id: string, ageDays: number) => sql`
      insert into runs (id, tenant_id, status, started_at, window_from, window_to, nodes_total, source)
      values (${id}, 't', 'done', ${new Date(NOW - ageDays * DAY)}, now(), now(), 1, 'test')`;
    await runRow('old', 8);
    await runRow('new', 1);
    const anomaly = (id: string, status: string, resolvedDaysAgo: number | null) => sql`
      insert into anomalies (id, tenant_id, type, severity, status, started_at, last_seen_at, resolved_at)
      values (${id}, 't', 'gap', 'minor', ${status}, now(), now(),
              ${resolvedDaysAgo === null ? null : new Date(NOW - resolvedDaysAgo * DAY)})`;
    await anomaly('resolved-long-ago', 'resolved', 31);
    await anomaly('resolved-lately', 'resolved', 2);
    await anomaly('still-open', 'open', null);

    const result = await runMaintenance({ stores: cycleStores(sql, partitions), logger: silentLogger }, NOW);

    assert.deepEqual(result.droppedPartitions, [
      `agg_5m_p${new Date(NOW - 120 * DAY).toISOString().slice(0, 10).replaceAll('-', '')}`,
    ]);
    const runs = await sql<{ id: string }[]>`select id from runs order by id`;
    assert.deepEqual(
      runs.map((r) => r.id),
      ['new'],
    );
    const anomalies = await sql<{ id: string }[]>`select id from anomalies order by id`;
    assert.deepEqual(
      anomalies.map((a) => a.id),
      ['resolved-lately', 'still-open'],
    );
    await sql.end();
  });
});
