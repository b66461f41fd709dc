/**
 * PostgreSQL stopped in the middle of a cycle and started again: deliveries fail, Pub/Sub-style
 * redelivery retries them, and the final state equals that of an undisturbed run — nothing lost,
 * nothing counted twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalStack, type LocalStack } from '../dev/local-stack.ts';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import type { MemoryBus } from '../shared/adapters/bus/memory.ts';
import { loadConfig } from '../shared/config.ts';
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
  ANALYTICS_ENABLED: 'false',
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

    before(async () => {
      pg = await startThrowawayPostgres();
      reference = await createTestDatabase();
      disturbed = await createLocalStack(loadConfig({ ...settings, DATABASE_URL: pg.url, PG_POOL_MAX: '2' }));
      undisturbed = await createLocalStack(loadConfig({ ...settings, DATABASE_URL: reference.url }));
    });
    after(async () => {
      await disturbed?.close().catch(() => {});
      await undisturbed?.close();
      pg?.destroy();
      await reference?.drop();
    });

    test('nothing is lost and the final state equals an undisturbed run', async () => {
      await disturbed.cycle(T0 + 2 * HOUR, T0);
      await undisturbed.cycle(T0 + 2 * HOUR, T0);

      const bus = disturbed.aggregator.bus as MemoryBus;
      const { dispatchCycle } = await import('../shared/cycle/dispatch/index.ts');
      await dispatchCycle(disturbed.dispatcher, { nowMs: T0 + 3 * HOUR });
      pg.stop(); // messages are being delivered now, and fail
      await new Promise((r) => setTimeout(r, 1500));
      pg.start();
      await bus.drain();

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
