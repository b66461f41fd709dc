/**
 * PostgreSQL stopped in the middle of a cycle and started again, analytics on: deliveries fail (the
 * test counts them, and their errors are the outage's), Pub/Sub-style redelivery retries them, and
 * the final state equals that of an undisturbed run — nothing lost, nothing counted twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalStack, type LocalStack } from '../dev/local-stack.ts';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import type { MemoryBus } from '../shared/adapters/bus/memory.ts';
import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';
import { differences, tableState } from './lib/checksums.ts';
import {
  canRunThrowawayPostgres,
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from './lib/throwaway-postgres.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 6, 6);
const settings = {
  SIMULATOR_NODES: '12',
  SIMULATOR_SEED: '21',
  LOG_LEVEL: 'error',
  MAX_DELIVERY_ATTEMPTS: '40',
  // Several messages, so some are in flight when PostgreSQL stops (12 nodes in one message may be done).
  NODES_PER_MESSAGE: '2',
  ANALYTICS_ENABLED: 'true',
};

if (process.env.CI === 'true' && !canRunThrowawayPostgres()) {
  test('PostgreSQL binaries for a throw-away cluster', () => {
    throw new Error('CI=true and /usr/lib/postgresql/15/bin/initdb is missing');
  });
}

describe(
  'PostgreSQL stopped mid-cycle, then restarted',
  canRunThrowawayPostgres()
    ? await peerGate('postgres')
    : { skip: 'no PostgreSQL binaries for a throw-away cluster' },
  () => {
    let pg: ThrowawayPostgres;
    let reference: TestDatabase;
    let disturbed: LocalStack;
    let undisturbed: LocalStack;
    /** The disturbed stack's failed deliveries (`node.failed`), with their errors. */
    const failures: { nodeId: string; err: { message?: string; cause?: string; code?: string } }[] = [];

    before(async () => {
      pg = await startThrowawayPostgres();
      reference = await createTestDatabase();
      const logger = createLogger({
        level: 'warning',
        sink: (line) => {
          const entry = JSON.parse(line);
          if (entry.event === 'node.failed') failures.push(entry);
        },
      });
      disturbed = await createLocalStack(
        loadConfig({ ...settings, DATABASE_URL: pg.url, PG_POOL_MAX: '2' }),
        logger,
      );
      undisturbed = await createLocalStack(loadConfig({ ...settings, DATABASE_URL: reference.url }));
    });
    after(async () => {
      await disturbed?.close().catch(() => {});
      await undisturbed?.close();
      pg?.destroy();
      await reference?.drop();
    });

    test('nothing is lost and the final state equals an undisturbed run', async (t) => {
      await disturbed.cycle(T0 + 2 * HOUR, T0);
      await undisturbed.cycle(T0 + 2 * HOUR, T0);

      const bus = disturbed.aggregator.bus as MemoryBus;
      const { dispatchCycle } = await import('../shared/cycle/dispatch/index.ts');
      await dispatchCycle(disturbed.dispatcher, { nowMs: T0 + 3 * HOUR });
      pg.stop(); // messages are being delivered now, and fail
      const deadline = Date.now() + 30_000;
      while (failures.length < 3) {
        assert.ok(Date.now() < deadline, `only ${failures.length} deliveries failed during the outage`);
        await new Promise((r) => setTimeout(r, 50));
      }
      pg.start();
      await bus.drain();
      // The outage really hit the deliveries: they failed on the lost or refused connection.
      const failedDuringOutage = failures.length;
      assert.ok(failedDuringOutage >= 3, `${failedDuringOutage} failed deliveries`);
      const outageErrors = failures.filter((f) =>
        /ECONNREFUSED|ECONNRESET|terminat|shutdown|CONNECTION_(CLOSED|ENDED|DESTROYED)|57P01/i.test(
          `${f.err?.message} ${f.err?.cause} ${f.err?.code}`,
        ),
      );
      assert.ok(
        outageErrors.length > 0,
        `no failure names the outage: ${failures.map((f) => f.err?.message).join(' | ')}`,
      );
      t.diagnostic(`${failedDuringOutage} deliveries failed, ${outageErrors.length} on the outage's errors`);

      await undisturbed.cycle(T0 + 3 * HOUR);
      const runs = await disturbed.storage.sql<
        { status: string }[]
      >`select status from runs order by started_at`;
      assert.deepEqual(
        runs.map((r) => r.status),
        ['done', 'done'],
      );
      assert.deepEqual(
        differences(await tableState(disturbed.storage.sql), await tableState(undisturbed.storage.sql)),
        [],
      );
    });
  },
);
