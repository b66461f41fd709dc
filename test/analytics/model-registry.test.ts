/**
 * The forecast model registry with real storage: fitted models, predictions and scores in PostgreSQL,
 * the registry in-process and in Firestore (on its emulator). A target is trained with the baseline as
 * champion and the ensemble as shadow challenger; the challenger backtests better and is promoted. A
 * week later the champion’s live forecast turns out far worse than its backtest: the registry rolls back
 * and retrains.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Firestore } from '@google-cloud/firestore';
import {
  createTestDatabase,
  firestoreEmulatorHost,
  peerGate,
  resetFirestore,
  type TestDatabase,
  uniqueProjectId,
} from '../../dev/peers/index.ts';
import {
  FirestoreModelRegistry,
  MemoryModelRegistry,
  type ModelRegistry,
} from '../../shared/adapters/coordination/model-registry.ts';
import { connect, type Sql } from '../../shared/adapters/postgres/client.ts';
import { postgresForecastStore } from '../../shared/adapters/postgres/cycle-stores.ts';
import { migrate } from '../../shared/adapters/postgres/migrations.ts';
import { writePredictions } from '../../shared/adapters/postgres/predictions.ts';
import { forecastTarget } from '../../shared/cycle/forecasting/forecaster.ts';
import { syntheticDemand } from '../../shared/forecast/synthetic.ts';
import { HOUR_MS, type HourlySeries, WEEK_HOURS } from '../../shared/forecast/types.ts';
import { silentLogger } from '../../shared/log.ts';

const DAY_MS = 24 * HOUR_MS;
// Six weeks of hourly demand with a slowly wandering level: the ensemble follows it, the weekly naive lags.
const series = syntheticDemand({ hours: 6 * WEEK_HOURS, seed: 3, noise: 0.6, levelWalk: 0.05 });
const firstEnd = series.startMs + 5 * WEEK_HOURS * HOUR_MS;

const upTo = (endMs: number): HourlySeries => ({
  startMs: series.startMs,
  values: series.values.slice(0, (endMs - series.startMs) / HOUR_MS),
});
const lastWeek = (endMs: number): HourlySeries => {
  const s = upTo(endMs);
  return { startMs: endMs - WEEK_HOURS * HOUR_MS, values: s.values.slice(-WEEK_HOURS) };
};
const input = (endMs: number) => ({
  dataEndMs: endMs,
  recent: lastWeek(endMs),
  loadHistory: async () => upTo(endMs),
});

function registryContract(name: string, getSql: () => Sql, makeRegistry: () => ModelRegistry) {
  const target = {
    tenantId: 'default',
    targetId: `inlet-${name}`,
    targetKind: 'node' as const,
    timeZone: 'Europe/Rome',
    unit: 'L/s',
  };

  test(`${name}: the first training backtests champion and challenger and promotes the better one`, async () => {
    const registry = makeRegistry();
    const deps = { store: postgresForecastStore(getSql()), models: registry, logger: silentLogger };
    const outcome = await forecastTarget(deps, target, input(firstEnd));
    assert.ok(outcome, 'trained and forecast');
    assert.deepEqual(outcome.actions, ['train', 'promote']);
    const record = await registry.get('default', target.targetId);
    assert.equal(record?.state.champion.modelId, 'ensemble');
    assert.equal(record?.state.previousChampion?.modelId, 'seasonal-naive');
    assert.ok(record!.state.champion.backtestScore < record!.state.previousChampion!.backtestScore);
    assert.equal(outcome.prediction.modelId, 'ensemble');
    assert.equal(outcome.prediction.body.mean.length, 168);
    const scores = await getSql()<{ model_id: string; role: string }[]>`
      select model_id, role from model_performance where target_id = ${target.targetId} and kind = 'backtest'
      order by model_id`;
    assert.deepEqual(
      scores.map((s) => [s.model_id, s.role]),
      [
        ['ensemble', 'challenger'],
        ['seasonal-naive', 'champion'],
      ],
    );
    // The next hour: no training, the stored champion refreshed with the new hour.
    const next = await forecastTarget(deps, target, input(firstEnd + HOUR_MS));
    assert.deepEqual(next?.actions, []);
    assert.equal(next?.prediction.horizonStartMs, firstEnd + HOUR_MS);
  });

  test(`${name}: a champion whose live forecast is more than twice as bad as its backtest is rolled back`, async () => {
    const registry = makeRegistry();
    const deps = { store: postgresForecastStore(getSql()), models: registry, logger: silentLogger };
    const record = await registry.get('default', target.targetId);
    assert.equal(record?.state.champion.modelId, 'ensemble');
    // A week after training, at the target's daily slot: the forecast issued a week ago was far off.
    const laterEnd = firstEnd + 7 * DAY_MS;
    const actual = lastWeek(laterEnd).values;
    await writePredictions(getSql(), [
      {
        tenantId: 'default',
        targetId: target.targetId,
        targetKind: 'node',
        horizonStartMs: laterEnd - WEEK_HOURS * HOUR_MS,
        modelId: 'ensemble',
        body: {
          unit: 'L/s',
          mean: Array.from(actual, (v) => v + 8),
          lo80: [],
          hi80: [],
          lo95: [],
          hi95: [],
          trainedAt: new Date(firstEnd).toISOString(),
          dataTo: new Date(laterEnd - WEEK_HOURS * HOUR_MS).toISOString(),
        },
      },
    ]);
    const outcome = await forecastTarget(deps, target, input(laterEnd));
    assert.ok(outcome?.actions.includes('rollback'), `actions ${outcome?.actions}`);
    assert.ok(outcome?.actions.includes('retrain'));
    const after = await registry.get('default', target.targetId);
    assert.ok(
      after?.reasons.some((r) => /worse/.test(r)),
      after?.reasons.join('; '),
    );
    assert.equal(after?.lastDecisionMs, laterEnd);
    const live = await getSql()<{ mae_day1: number }[]>`
      select mae_day1 from model_performance where target_id = ${target.targetId} and kind = 'live'`;
    assert.ok(Math.abs(live[0]!.mae_day1 - 8) < 1e-9, 'the live score is the forecast’s real error');
  });
}

const postgresGate = await peerGate('postgres');
const firestoreGate = await peerGate('postgres', 'firestore');

describe('model registry on PostgreSQL', postgresGate, () => {
  let db: TestDatabase;
  let sql: Sql;
  const memory = new MemoryModelRegistry();
  before(async () => {
    db = await createTestDatabase();
    sql = connect(db.url, { max: 2 });
    await migrate(sql);
    await sql`insert into tenants (id, name) values ('default', 'default')`;
  });
  after(async () => {
    await sql?.end();
    await db?.drop();
  });
  registryContract(
    'memory',
    () => sql,
    () => memory,
  );

  describe('with the registry in Firestore', firestoreGate, () => {
    const projectId = uniqueProjectId();
    let firestore: Firestore;
    before(() => {
      process.env.FIRESTORE_EMULATOR_HOST = firestoreEmulatorHost();
      firestore = new Firestore({ projectId, ignoreUndefinedProperties: true });
    });
    after(async () => {
      await firestore?.terminate();
      await resetFirestore(projectId);
    });
    // A new client per test: what one instance wrote, another reads.
    registryContract(
      'firestore',
      () => sql,
      () => new FirestoreModelRegistry({ db: firestore }),
    );
  });
});
