/**
 * Every run ends: a node whose deliveries all fail is dead-lettered and the run ends `partial` listing
 * it; a rollup that fails until it is dead-lettered is replayed; a rollup lost for good leaves its run
 * open only until the dispatcher's sweep closes it, STALE_AFTER_CYCLES cycles later.
 *
 * The faults are real PostgreSQL errors: triggers in the test's own database refuse one node's
 * watermark update, or one run's closing (a sequence, which no rollback undoes, counts the refusals).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalStack, type LocalStack } from '../dev/local-stack.ts';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { loadConfig } from '../shared/config.ts';
import { STALE_AFTER_CYCLES } from '../shared/cycle/dispatch/sweep.ts';
import { createLogger } from '../shared/log.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 6, 6);
const runIdAt = (ms: number) => `default:${new Date(ms).toISOString()}`;

interface LoggedEvent {
  event?: string;
  nodeId?: string;
  runId?: string;
  rollupLost?: boolean;
}

describe('every run ends', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let stack: LocalStack;
  const events: LoggedEvent[] = [];
  const count = (event: string, where: Partial<LoggedEvent> = {}) =>
    events.filter(
      (e) => e.event === event && Object.entries(where).every(([k, v]) => e[k as keyof LoggedEvent] === v),
    ).length;
  const run = async (ms: number) => {
    const [row] = await db.sql<{ status: string; failed_nodes: string[]; nodes_done: number }[]>`
      select status, failed_nodes, nodes_done from runs where id = ${runIdAt(ms)}`;
    return row;
  };

  before(async () => {
    db = await createTestDatabase();
    const logger = createLogger({ level: 'info', sink: (line) => events.push(JSON.parse(line)) });
    const config = loadConfig({
      DATABASE_URL: db.url,
      SIMULATOR_NODES: '8',
      SIMULATOR_SEED: '5',
      MAX_DELIVERY_ATTEMPTS: '2',
      ANALYTICS_ENABLED: 'true',
    });
    stack = await createLocalStack(config, logger);
    await stack.cycle(T0 + 2 * HOUR, T0);
    assert.equal((await run(T0 + 2 * HOUR))?.status, 'done');
  });
  after(async () => {
    await stack?.close();
    await db?.drop();
  });

  test('a dead-lettered node is marked failed and the run ends partial, listing it', async () => {
    const nodes = (await stack.dispatcher.source.network()).nodes.map((n) => n.id);
    const victim = nodes[0]!;
    await db.sql.unsafe(`
      create function refuse_watermark() returns trigger language plpgsql as $$
        begin raise exception 'injected fault: watermark of %', new.node_id; end $$;
      create trigger refuse_watermark before update on node_watermarks
        for each row when (new.node_id = '${victim}') execute function refuse_watermark();`);
    const at = T0 + 2.5 * HOUR;
    await stack.cycle(at);
    await db.sql.unsafe('drop trigger refuse_watermark on node_watermarks');

    // The fault really happened: every delivery of the node failed, then it was dead-lettered.
    assert.equal(count('node.failed', { nodeId: victim }), 2);
    assert.ok(count('message.dead_lettered', { nodeId: victim }) >= 1);
    assert.deepEqual(await run(at), {
      status: 'partial',
      failed_nodes: [victim],
      nodes_done: nodes.length - 1,
    });

    // Its watermark held its data: the next cycle applies it and the run is done.
    await stack.cycle(T0 + 3 * HOUR);
    assert.equal((await run(T0 + 3 * HOUR))?.status, 'done');
    const [w] = await db.sql<{ ms: number }[]>`
      select (extract(epoch from ingested_to) * 1000)::float8 as ms from node_watermarks where node_id = ${victim}`;
    assert.equal(w?.ms, T0 + 3 * HOUR);
  });

  test('a dead-lettered rollup is replayed and closes its run', async () => {
    const at = T0 + 3.5 * HOUR;
    // The run's closing is refused twice (both deliveries), then allowed.
    await db.sql.unsafe(`
      create sequence refusals;
      create function refuse_closing() returns trigger language plpgsql as $$
        begin if nextval('refusals') <= 2 then raise exception 'injected fault: closing %', new.id; end if;
        return new; end $$;
      create trigger refuse_closing before update on runs
        for each row when (new.id = '${runIdAt(at)}') execute function refuse_closing();`);
    await stack.cycle(at);
    await db.sql.unsafe(
      'drop trigger refuse_closing on runs; drop function refuse_closing; drop sequence refusals',
    );
    assert.equal(count('message.dead_lettered', { runId: runIdAt(at) }) >= 1, true);
    assert.equal(count('rollup.replayed', { runId: runIdAt(at) }), 1);
    assert.equal((await run(at))?.status, 'done');
  });

  test('a run whose rollup was lost is closed by the sweep, and not before its bound', async () => {
    const at = T0 + 4 * HOUR;
    await db.sql.unsafe(`
      create function refuse_closing() returns trigger language plpgsql as $$
        begin raise exception 'injected fault: closing %', new.id; end $$;
      create trigger refuse_closing before update on runs
        for each row when (new.id = '${runIdAt(at)}' and new.status <> 'running') execute function refuse_closing();`);
    await stack.cycle(at);
    await db.sql.unsafe('drop trigger refuse_closing on runs');
    // The fault really happened: both deliveries and the replay failed; the run is open.
    assert.equal(count('rollup.replay_failed', { runId: runIdAt(at) }), 1);
    assert.equal((await run(at))?.status, 'running');

    const cycleMs = stack.config.CYCLE_MINUTES * 60_000;
    for (let k = 1; k < STALE_AFTER_CYCLES; k++) {
      await stack.cycle(at + k * cycleMs);
      assert.equal((await run(at))?.status, 'running', `still open ${k} cycle(s) later`);
    }
    await stack.cycle(at + STALE_AFTER_CYCLES * cycleMs);
    assert.deepEqual(await run(at), { status: 'done', failed_nodes: [], nodes_done: 8 });
    assert.equal(count('run.swept', { runId: runIdAt(at), rollupLost: true }), 1);
    const open = await db.sql`select id from runs where status = 'running'`;
    assert.equal(open.length, 0);
  });

  test('a run that never got its work out ends failed, listing every node', async () => {
    // The dispatcher died after recording the run: no work item, no coordinator state, no rollup.
    const windowToMs = T0 + 5 * HOUR;
    const id = 'default:ghost';
    await stack.dispatcher.stores.dispatch.insertRun({
      id,
      tenantId: 'default',
      startedAtMs: Date.now(),
      windowFromMs: windowToMs - HOUR,
      windowToMs,
      nodesTotal: 8,
      readings: 0,
      bytesProcessed: 0,
      source: 'simulator',
    });
    await stack.cycle(windowToMs + STALE_AFTER_CYCLES * stack.config.CYCLE_MINUTES * 60_000);
    const nodes = (await stack.dispatcher.source.network()).nodes.map((n) => n.id).sort();
    const [row] = await db.sql<{ status: string; failed_nodes: string[]; nodes_done: number }[]>`
      select status, failed_nodes, nodes_done from runs where id = ${id}`;
    assert.deepEqual(row, { status: 'failed', failed_nodes: nodes, nodes_done: 0 });
    assert.equal(count('run.swept', { runId: id, rollupLost: false }), 1);
    assert.equal((await db.sql`select id from runs where status = 'running'`).length, 0);
  });
});
