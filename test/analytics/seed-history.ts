/**
 * Weeks of history for the analytics tests, written the fast way: the simulator's readings ingested
 * before a time, cleaned and aggregated by the cycle's own code (cleanReadings, aggregateReadings,
 * rollUp) and upserted into the real tables in a few large statements, with every node's watermark
 * set there — the state three weeks of cycles would leave in the aggregates, in seconds instead of
 * minutes. (The analytics' own tables stay empty for that period, as after turning them on.) Real
 * cycles then continue from the watermark.
 */
import { upsertPartials } from '../../shared/adapters/postgres/aggregates.ts';
import type { Sql } from '../../shared/adapters/postgres/client.ts';
import type { PartitionManager } from '../../shared/adapters/postgres/partitions.ts';
import { upsertNetwork } from '../../shared/adapters/postgres/registry.ts';
import {
  aggregateReadings,
  BUCKET_MS,
  DAY_MS,
  HOUR_MS,
  type PartialRow,
  rollUp,
} from '../../shared/domain/aggregate.ts';
import { cleanReadings } from '../../shared/domain/clean.ts';
import type { Reading } from '../../shared/domain/readings.ts';
import type { Simulator } from '../../shared/simulator/index.ts';

const CHUNK = 5000;

async function upsertChunked(sql: Sql, table: 'agg_5m' | 'agg_1h' | 'agg_1d', rows: PartialRow[]) {
  for (let i = 0; i < rows.length; i += CHUNK) await upsertPartials(sql, table, rows.slice(i, i + CHUNK));
}

/** Writes the aggregates of every reading `sim` ingested in (fromMs, toMs], and sets watermarks to toMs. */
export async function seedHistory(
  storage: { sql: Sql; partitions: PartitionManager },
  sim: Simulator,
  fromMs: number,
  toMs: number,
): Promise<{ readings: number }> {
  const { sql, partitions } = storage;
  const network = sim.network();
  await upsertNetwork(sql, network);
  let readings = 0;
  // A day at a time keeps memory small; each node's partials of a day are complete in one pass.
  const byNode = new Map<string, Reading[]>();
  for (let day = fromMs; day < toMs; day += DAY_MS) {
    const batch = sim.readIngested({
      fromIngestMs: day,
      toIngestMs: Math.min(toMs, day + DAY_MS),
      minTsMs: fromMs - DAY_MS,
    });
    for (const r of batch.readings) {
      const list = byNode.get(r.nodeId);
      if (list) list.push(r);
      else byNode.set(r.nodeId, [r]);
    }
  }
  const all5m: PartialRow[] = [];
  for (const [, list] of byNode) {
    readings += list.length;
    const { valid } = cleanReadings(list, toMs);
    all5m.push(...aggregateReadings(valid, BUCKET_MS));
  }
  const all1h = rollUp(all5m, HOUR_MS);
  const all1d = rollUp(all5m, DAY_MS);
  await partitions.ensure(
    'agg_5m',
    all5m.map((r) => r.bucketMs),
  );
  await partitions.ensure(
    'agg_1h',
    all1h.map((r) => r.bucketMs),
  );
  await partitions.ensure(
    'agg_1d',
    all1d.map((r) => r.bucketMs),
  );
  await upsertChunked(sql, 'agg_5m', all5m);
  await upsertChunked(sql, 'agg_1h', all1h);
  await upsertChunked(sql, 'agg_1d', all1d);
  const ids = network.nodes.map((n) => n.id);
  await sql`
    insert into node_watermarks (node_id, ingested_to)
    select id, to_timestamp(${toMs} / 1000.0) from unnest(${ids}::text[]) as t(id)
    on conflict (node_id) do update set ingested_to = excluded.ingested_to`;
  return { readings };
}
