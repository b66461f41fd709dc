/**
 * The operations job against a real PostgreSQL: migrations run as their own step and the functions only
 * check the schema (MIGRATE_ON_START=false refuses a schema behind the code); the first admin key is
 * made once, leaves the job only sealed to the caller's public key, and opens to a key the API accepts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../../dev/peers/index.ts';
import { runOpsJob } from '../../jobs/ops/index.ts';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import { SchemaBehindError, schemaState } from '../../shared/adapters/postgres/schema-state.ts';
import { parseKey, secretMatches } from '../../shared/api/auth/keys.ts';
import { loadConfig } from '../../shared/config.ts';
import { FIRST_ADMIN_KEY_NAME, sealingKeyPair } from '../../shared/ops/first-admin-key.ts';
import { openStorage } from '../../shared/wiring/cycle.ts';

describe('ops jobs', await peerGate('postgres'), () => {
  let db: TestDatabase;
  const lines: Record<string, unknown>[] = [];
  const env = () => ({ DATABASE_URL: db.url, TENANT_ID: 'utility-a', LOG_LEVEL: 'info' });
  const run = (args: string[]) =>
    runOpsJob(args, { env: env(), sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });

  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  test('a cycle function with MIGRATE_ON_START=false refuses an unmigrated database, naming the job', async () => {
    const config = loadConfig({ ...env(), MIGRATE_ON_START: 'false', PG_POOL_MAX: '1' });
    await assert.rejects(openStorage(config), (err: unknown) => {
      assert.ok(err instanceof SchemaBehindError);
      assert.equal(err.current, 0);
      assert.match(err.message, /migrate job/);
      return true;
    });
    assert.equal((await schemaState(db.sql)).version, 0, 'the check changed nothing');
  });

  test('the migrate command brings the schema to the code, and a second run applies nothing', async () => {
    await run(['migrate']);
    const first = lines.findLast((l) => l.event === 'ops.migrated')!;
    assert.ok((first.applied as number[]).length > 0);
    const state = await schemaState(db.sql);
    assert.equal(state.version, state.expected);
    await run(['migrate']);
    assert.deepEqual(lines.findLast((l) => l.event === 'ops.migrated')!.applied, []);

    const storage = await openStorage(loadConfig({ ...env(), MIGRATE_ON_START: 'false', PG_POOL_MAX: '1' }));
    await storage.sql.end({ timeout: 1 });
  });

  test('first-admin-key: logged only sealed, opens to a live admin key; a rerun creates none', async () => {
    const pair = sealingKeyPair();
    await run(['first-admin-key', '--public-key', pair.publicKeyDer]);
    const line = lines.findLast((l) => l.event === 'ops.first_admin_key')!;
    assert.equal(line.created, true);
    const token = pair.open(String(line.sealedToken));
    // The plain key appears in no log line.
    assert.ok(!lines.some((l) => JSON.stringify(l).includes(token)));

    const parsed = parseKey(token)!;
    assert.equal(parsed.id, line.keyId);
    const store = postgresKeyStore(db.sql);
    const hash = await store.liveAdminHash(parsed.id, 'utility-a');
    assert.ok(hash && secretMatches(parsed.secret, hash), 'the opened key verifies as an admin key');

    await run(['first-admin-key', '--public-key', sealingKeyPair().publicKeyDer]);
    const again = lines.findLast((l) => l.event === 'ops.first_admin_key')!;
    assert.deepEqual([again.created, again.keyId, again.sealedToken], [false, parsed.id, undefined]);
    const admins = (await store.list({ tenantId: 'utility-a' })).filter(
      (k) => k.name === FIRST_ADMIN_KEY_NAME,
    );
    assert.equal(admins.length, 1);
  });

  test('a bad public key fails before any key is stored; an unknown command fails', async () => {
    const fresh = await createTestDatabase();
    try {
      const e = { DATABASE_URL: fresh.url, TENANT_ID: 'utility-b' };
      await runOpsJob(['migrate'], { env: e, sink: () => {} });
      await assert.rejects(
        runOpsJob(['first-admin-key', '--public-key', 'not-a-key'], { env: e, sink: () => {} }),
      );
      assert.deepEqual(await postgresKeyStore(fresh.sql).list({ tenantId: 'utility-b' }), []);
      await assert.rejects(runOpsJob(['drop-everything'], { env: e, sink: () => {} }), /unknown command/);
    } finally {
      await fresh.drop();
    }
  });
});
