/**
 * eval:leaks' path on a short scenario: three days of L-Town (after three weeks of warm-up, what the baselines need) with one abrupt
 * leak in area A, generated with EPANET, fed through the real cycle (dispatch → aggregate → rollup on
 * PostgreSQL) and scored from the anomalies the API's store lists. A reduced sensor layout (the three flows,
 * the tank and six pressure points in A) keeps it short; the readings are cached by their inputs' hash.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../../dev/peers/index.ts';
import type { AnomalyPayload } from '../../shared/anomaly/listed.ts';
import { cachedReadings } from './cache.ts';
import type { GeneratedReadings } from './generate.ts';
import { runThroughCycle } from './run.ts';
import { parseSchedule, scheduleTime } from './schedule.ts';
import { type LeakScore, scoreDetections } from './score.ts';

const DAY_MS = 86_400_000;
const INP = new URL('../../../shared/data/ltown/L-TOWN.inp', import.meta.url).pathname;
const SCHEDULE = `
times:
  StartTime: 2018-03-05 00:00
  EndTime: 2018-03-08 00:00
leakages:
- # linkID, startTime, endTime, leakDiameter (m), leakType, peakTime
- p538, 2018-03-06 10:05, 2018-03-08 00:00, 0.025, abrupt, 2018-03-06 10:05
pressure_sensors: [n54, n105, n114, n163, n188, n429]
flow_sensors: [PUMP_1, p227, p235]
level_sensors: [T1]
amrs: []
`;

/** Three weeks of warm-up and the scenario's days of L-Town (cached by their inputs), run through the real cycle. */
async function runScenario(scheduleText: string, evalFromMs: number, evalToMs: number) {
  const schedule = parseSchedule(scheduleText);
  const { readings } = await cachedReadings(
    {
      inpText: readFileSync(INP, 'utf8'),
      schedule,
      fromMs: evalFromMs - 21 * 86_400_000,
      toMs: evalToMs,
      seed: 7,
    },
    scheduleText,
  );
  const db = await createTestDatabase();
  const run = await runThroughCycle({ databaseUrl: db.url, readings, evalFromMs, evalToMs, stepMs: DAY_MS });
  return { schedule, readings, db, anomalies: run.anomalies };
}

describe('parseSchedule', () => {
  test('reads the competition file: 14 leaks and the sensor layout', (t) => {
    const file = new URL('../../../shared/data/ltown/leaks-2018.yaml', import.meta.url).pathname;
    if (!existsSync(file)) {
      if (process.env.CI === 'true') assert.fail(`L-Town data is MISSING at ${file}`);
      t.skip(`L-Town data is MISSING at ${file}: the schedule test did not run`);
      return;
    }
    const s = parseSchedule(readFileSync(file, 'utf8'));
    assert.equal(s.leaks.length, 14);
    assert.deepEqual(
      [s.sensors.pressure.length, s.sensors.flow.length, s.sensors.level.length, s.sensors.amr.length],
      [33, 3, 1, 82],
    );
    assert.deepEqual(s.leaks[0], {
      pipe: 'p257',
      startMs: Date.UTC(2018, 0, 8, 13, 30),
      endMs: Date.UTC(2018, 11, 31, 23, 55),
      diameterM: 0.011843,
      kind: 'incipient',
      peakMs: Date.UTC(2018, 0, 25, 8, 30),
    });
  });

  test('refuses a leak with a wrong type, naming it', () => {
    assert.throws(
      () => parseSchedule(SCHEDULE.replace('abrupt', 'sudden')),
      /leak 1: leak type must be abrupt or incipient: "sudden"/,
    );
  });
});

describe('one abrupt leak in L-Town through the real cycle', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let readings: GeneratedReadings;
  let score: LeakScore;
  let pressureAlarms: AnomalyPayload[];
  const evalFromMs = scheduleTime('2018-03-05 00:00');
  const evalToMs = scheduleTime('2018-03-08 00:00');

  before(async () => {
    if (!existsSync(INP)) {
      if (process.env.CI === 'true') assert.fail(`L-Town data is MISSING at ${INP}`);
      return;
    }
    const scenario = await runScenario(SCHEDULE, evalFromMs, evalToMs);
    ({ readings, db } = scenario);
    score = scoreDetections(scenario.anomalies, scenario.schedule.leaks, readings, evalFromMs, evalToMs);
    pressureAlarms = scenario.anomalies.filter((a) => a.type === 'pressure_residual');
  });
  after(() => db?.drop());

  test('the leak is detected by the system within 5 hours, with no false alarm', (t) => {
    if (!score) return t.skip(`L-Town data is MISSING at ${INP}: the leak scenario did not run`);
    const [leak] = score.leaks;
    assert.ok(readings.leakOutflowLps.p538! > 5, `leak outflow ${readings.leakOutflowLps.p538} L/s`);
    assert.notEqual(leak!.detectedAtMs, null, JSON.stringify(score));
    assert.ok(leak!.delayMs! <= 5 * 3_600_000, `delay ${leak!.delayMs! / 60_000} min by ${leak!.by}`);
    // Measured: 4.9 h (295 min) by the district's net-inflow baseline, no false alarm; the pressure-residual
    // detector adds none. It was 2.4 h by one inlet's own baseline, which also raised false alarms whenever the
    // pump behind the inlets (A's outlet) ran longer than usual: the net inflow nets that water out, and pays
    // for it with the noise of both inlets (the leak draws mostly through one).
    assert.equal(score.falseAlarms, 0, `false alarms ${JSON.stringify(score.falseByType)}`);
  });

  test('the pressure-residual detector sees it too: one alarm in A within 6 hours, dated to its start', (t) => {
    if (!score) return t.skip(`L-Town data is MISSING at ${INP}: the leak scenario did not run`);
    const leakMs = scheduleTime('2018-03-06 10:05');
    // Measured: opened 4.9 h after the leak began (2018-03-06 15:00), dated 10:00, none before it.
    assert.equal(pressureAlarms.length, 1, JSON.stringify(pressureAlarms));
    const [a] = pressureAlarms;
    assert.equal(a!.districtId, 'A');
    const opened = Date.parse(a!.openedAt!);
    assert.ok(opened >= leakMs && opened - leakMs <= 6 * 3_600_000, `opened ${a!.openedAt}`);
    assert.ok(Math.abs(Date.parse(a!.startedAt) - leakMs) <= 3_600_000, `dated ${a!.startedAt}`);
  });
});

describe('a leak in area C through the real cycle: the water balance', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let readings: GeneratedReadings;
  let balanceAlarms: AnomalyPayload[];
  let allAlarms: AnomalyPayload[];
  const evalFromMs = scheduleTime('2018-03-05 00:00');
  const evalToMs = scheduleTime('2018-03-08 00:00');
  const leakMs = scheduleTime('2018-03-06 10:05');

  before(async () => {
    const file = new URL('../../../shared/data/ltown/leaks-2018.yaml', import.meta.url).pathname;
    if (!existsSync(INP) || !existsSync(file)) {
      if (process.env.CI === 'true') assert.fail(`L-Town data is MISSING at ${INP}`);
      return;
    }
    // C's supply (the pump, registered as feeding C), its tank and its 82 AMR meters: what its balance needs.
    const amrs = parseSchedule(readFileSync(file, 'utf8')).sensors.amr;
    const text = `
times:
  StartTime: 2018-03-05 00:00
  EndTime: 2018-03-08 00:00
leakages:
- # linkID, startTime, endTime, leakDiameter (m), leakType, peakTime
- p257, 2018-03-06 10:05, 2018-03-08 00:00, 0.011843, abrupt, 2018-03-06 10:05
pressure_sensors: []
flow_sensors: [PUMP_1]
level_sensors: [T1]
amrs: [${amrs.join(', ')}]
`;
    const scenario = await runScenario(text, evalFromMs, evalToMs);
    ({ readings, db } = scenario);
    allAlarms = scenario.anomalies;
    balanceAlarms = scenario.anomalies.filter((a) => a.type === 'water_balance');
  });
  after(() => db?.drop());

  test('C has no inflow meter, yet its balance opens one alarm within 6 hours, none before', (t) => {
    if (!readings) return t.skip(`L-Town data is MISSING at ${INP}: the C scenario did not run`);
    assert.ok(readings.leakOutflowLps.p257! > 1, `leak outflow ${readings.leakOutflowLps.p257} L/s`);
    assert.equal(balanceAlarms.length, 1, JSON.stringify(allAlarms));
    const [a] = balanceAlarms;
    assert.equal(a!.districtId, 'C');
    assert.equal(a!.nodeId, 'F-PUMP_1');
    const opened = Date.parse(a!.openedAt!);
    t.diagnostic(
      `leak ${readings.leakOutflowLps.p257!.toFixed(2)} L/s; opened ${a!.openedAt}, dated ${a!.startedAt}; ` +
        `${allAlarms.length} alarms in all`,
    );
    // Measured: a 1.87 L/s leak from 10:05, opened at 12:00 (the end of its first 6-hour block, 1.9 h), dated
    // 06:00 (that block's start), the only alarm of the run.
    assert.ok(opened >= leakMs && opened - leakMs <= 6 * 3_600_000, `opened ${a!.openedAt}`);
    assert.ok(Math.abs(Date.parse(a!.startedAt) - leakMs) <= 6 * 3_600_000, `dated ${a!.startedAt}`);
  });
});
