/**
 * bench/view-read-micro.ts — the view read's backend CPU per execution: main's full read of a node's
 * view rows beside the read with its settled state (view-state.ts), and a rebuild of the state; 22 days
 * of 1-minute readings of 5 metrics per node, on one connection, backend CPU from /proc/<pid>/stat.
 *
 *   node bench/view-read-micro.ts [--nodes 6] [--reps 60] [--plan auto|force_generic_plan] [--baseline DIR]
 *   (DIR: main's checkout, for its statement)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { createTestDatabase } from '../dev/peers/index.ts';
import { upsertPartials } from '../shared/adapters/postgres/aggregates.ts';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { PartitionManager } from '../shared/adapters/postgres/partitions.ts';
import { readNodeViewInputs, rebuildViewState } from '../shared/adapters/postgres/view-state.ts';
import { aggregateReadings, BUCKET_MS, DAY_MS, HOUR_MS, rollUp } from '../shared/domain/aggregate.ts';
import type { Reading } from '../shared/domain/readings.ts';
import { dayOf } from '../shared/domain/view-state.ts';
import { lookbackStart, seriesStart } from '../shared/domain/windows.ts';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '6' },
    reps: { type: 'string', default: '60' },
    baseline: { type: 'string' },
    plan: { type: 'string', default: 'auto' },
  },
});
const NODES = Number(args.nodes);
const REPS = Number(args.reps);
const END = Date.UTC(2026, 5, 1, 8, 0);
const START = END - 22 * DAY_MS;

const db = await createTestDatabase();
const sql = connect(db.url, { max: 1 });
try {
  const { timescale } = await migrate(sql);
  const partitions = new PartitionManager(sql, timescale);
  const nodes = Array.from({ length: NODES }, (_, i) => `micro-${i}`);
  for (const nodeId of nodes) {
    const readings: Reading[] = [];
    for (let ts = START; ts < END; ts += 60_000) {
      const x = Math.sin(ts / 3_600_000) + Math.random() * 0.3;
      readings.push({
        nodeId,
        ts,
        ingestedAt: ts,
        values: {
          flow: 20 + 5 * x,
          pressure: 3 + x / 10,
          temperature: 14 + x,
          chlorine: 0.3 + x / 50,
          volume: ts / 1e9,
        },
      });
    }
    const m5 = aggregateReadings(readings, BUCKET_MS);
    for (const [table, rows] of [
      ['agg_5m', m5],
      ['agg_1h', rollUp(m5, HOUR_MS)],
      ['agg_1d', rollUp(m5, DAY_MS)],
    ] as const) {
      await partitions.ensure(table, [...new Set(rows.map((r) => dayOf(r.bucketMs)))]);
      for (let i = 0; i < rows.length; i += 2000) await upsertPartials(sql, table, rows.slice(i, i + 2000));
    }
  }
  await sql`vacuum analyze`;
  await sql`select set_config('plan_cache_mode', ${args.plan!}, false)`;
  const asOf = END - 60_000;
  const bounds = {
    m5FromMs: lookbackStart(asOf, '5m'),
    h1FromMs: seriesStart(asOf),
    h1FullFromMs: lookbackStart(asOf, '1h'),
    d1FromMs: lookbackStart(asOf, '1d'),
    dayMs: dayOf(asOf),
  };
  const [backend] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const pid = backend!.pid;
  const cpuMs = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, 100 ticks per second
  };
  const old = args.baseline
    ? ((await import(`${args.baseline}/shared/adapters/postgres/aggregates.ts`)) as {
        readNodeViewRows: (db: unknown, id: string, b: unknown) => Promise<unknown>;
      })
    : null;
  const variants: Record<string, (n: string) => Promise<unknown>> = {
    ...(old
      ? { "main's full read (readNodeViewRows)": (n: string) => old.readNodeViewRows(sql, n, bounds) }
      : {}),
    'full read, no state (readNodeViewInputs)': (n) => readNodeViewInputs(sql, n, { ...bounds, dayMs: 0 }),
    'read with the settled state': (n) => readNodeViewInputs(sql, n, bounds),
    'rebuild of the state (read + write)': (n) => rebuildViewState(sql, n, asOf),
    // The read with the state, apart: the state row alone, and the rows it does not hold alone.
    '  its state row alone': (n) =>
      sql.unsafe('select body from node_view_state where node_id = $1', [n], { prepare: true }),
    ...(old
      ? {
          "  its rows alone (main's statement)": (n: string) =>
            old.readNodeViewRows(sql, n, {
              ...bounds,
              h1FromMs: bounds.h1FullFromMs,
              d1FromMs: bounds.dayMs,
            }),
        }
      : {}),
  };
  const used: Record<string, number> = Object.fromEntries(Object.keys(variants).map((k) => [k, 0]));
  for (const nodeId of nodes) await rebuildViewState(sql, nodeId, asOf);
  for (let r = 0; r < REPS; r++) {
    for (const [name, run] of Object.entries(variants)) {
      const before = cpuMs();
      for (const nodeId of nodes) await run(nodeId);
      used[name]! += cpuMs() - before;
    }
  }
  const [size] = await sql<{ bytes: number; stored: number }[]>`
    select avg(octet_length(body))::float8 as bytes, avg(pg_column_size(body))::float8 as stored from node_view_state`;
  console.log(
    `${NODES} nodes × ${REPS} rounds, 22 days of 5 metrics; state ${Math.round(size!.bytes)} B (${Math.round(size!.stored)} B stored)`,
  );
  for (const [name, ms] of Object.entries(used))
    console.log(`  ${name.padEnd(42)} ${(ms / (NODES * REPS)).toFixed(3)} ms backend CPU per execution`);
} finally {
  await sql.end();
  await db.drop();
}
