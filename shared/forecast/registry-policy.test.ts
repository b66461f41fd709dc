import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  afterTraining,
  DEFAULT_REGISTRY_POLICY,
  decideRegistry,
  levelShift,
  type RegistryEvidence,
  type RegistryState,
} from './registry-policy.ts';

const DAY = 86_400_000;
const t0 = Date.UTC(2024, 5, 3);
const champion = { modelId: 'holt-winters', backtestScore: 10, trainedMs: t0 };
const previous = { modelId: 'seasonal-naive', backtestScore: 12, trainedMs: t0 - 7 * DAY };
const base: RegistryState = { champion, previousChampion: previous, lastTrainedMs: t0 };
const at = (days: number, more: Partial<RegistryEvidence> = {}): RegistryEvidence => ({
  nowMs: t0 + days * DAY,
  ...more,
});
const kinds = (state: RegistryState, evidence: RegistryEvidence) =>
  decideRegistry(state, evidence).actions.map((a) => (a.kind === 'retrain' ? `retrain:${a.reason}` : a.kind));

describe('decideRegistry: the decision table', () => {
  const rows: [string, RegistryState, RegistryEvidence, string[]][] = [
    ['nothing new', base, at(2), []],
    ['healthy live score', base, at(2, { liveScore: 10.5, liveHours: 48 }), []],
    ['a week since training', base, at(7), ['retrain:schedule']],
    [
      'challenger clearly better (25 %)',
      { ...base, challenger: { modelId: 'ensemble', backtestScore: 7.5, trainedMs: t0 } },
      at(1),
      ['promote'],
    ],
    [
      'challenger 15 % better: the backtest weeks’ noise, not a promotion',
      { ...base, challenger: { modelId: 'ensemble', backtestScore: 8.5, trainedMs: t0 } },
      at(1),
      [],
    ],
    [
      'challenger worse',
      { ...base, challenger: { modelId: 'ensemble', backtestScore: 11, trainedMs: t0 } },
      at(1),
      [],
    ],
    [
      'challenger equal',
      { ...base, challenger: { modelId: 'ensemble', backtestScore: 10, trainedMs: t0 } },
      at(1),
      [],
    ],
    [
      'degraded 150 % (a broken model), previous champion kept',
      base,
      at(2, { liveScore: 25, liveHours: 48 }),
      ['rollback', 'retrain:degradation'],
    ],
    [
      'degraded 150 %, no previous champion',
      { champion, lastTrainedMs: t0 },
      at(2, { liveScore: 25, liveHours: 48 }),
      ['retrain:degradation'],
    ],
    [
      'degraded 25 % (a harder week than the backtest’s): no rollback, but drift',
      base,
      at(2, { liveScore: 12.5, liveHours: 48 }),
      ['retrain:drift'],
    ],
    [
      'degraded exactly 100 %: not yet a rollback, but drift',
      base,
      at(2, { liveScore: 20, liveHours: 48 }),
      ['retrain:drift'],
    ],
    ['degraded 15 %: drift', base, at(2, { liveScore: 11.5, liveHours: 48 }), ['retrain:drift']],
    ['degraded 50 % on too few hours: ignored', base, at(2, { liveScore: 15, liveHours: 6 }), []],
    ['level shifted 20 %', base, at(2, { levelShift: -0.2 }), ['retrain:drift']],
    ['level shifted 10 %', base, at(2, { levelShift: 0.1 }), []],
    [
      'degraded and due: one retrain, for degradation',
      base,
      at(8, { liveScore: 26, liveHours: 48 }),
      ['rollback', 'retrain:degradation'],
    ],
    [
      'better challenger while degraded: promote beats rollback; the degradation still says drift',
      { ...base, challenger: { modelId: 'ensemble', backtestScore: 7.5, trainedMs: t0 } },
      at(2, { liveScore: 13, liveHours: 48 }),
      ['promote', 'retrain:drift'],
    ],
  ];
  for (const [name, state, evidence, expected] of rows) {
    it(name, () => assert.deepEqual(kinds(state, evidence), expected));
  }
});

describe('decideRegistry: the next state', () => {
  it('promotion makes the challenger champion and keeps the old one for rollback', () => {
    const challenger = { modelId: 'ensemble', backtestScore: 7.5, trainedMs: t0 };
    const { next, actions, reasons } = decideRegistry({ ...base, challenger, recentScore: 10 }, at(1));
    assert.deepEqual(actions, [{ kind: 'promote', modelId: 'ensemble', replaces: 'holt-winters' }]);
    assert.deepEqual(next, { champion: challenger, previousChampion: champion, lastTrainedMs: t0 });
    assert.match(reasons[0]!, /ensemble backtests at 7\.500/);
  });

  it('rollback restores the previous champion and forgets the degraded one', () => {
    const { next, actions } = decideRegistry(base, at(2, { liveScore: 25, liveHours: 48 }));
    assert.deepEqual(actions[0], { kind: 'rollback', toModelId: 'seasonal-naive', from: 'holt-winters' });
    assert.deepEqual(next, { champion: previous, lastTrainedMs: t0 });
  });

  it('records a trusted live score', () => {
    assert.equal(decideRegistry(base, at(2, { liveScore: 10.2, liveHours: 24 })).next.recentScore, 10.2);
    assert.equal(decideRegistry(base, at(2, { liveScore: 10.2, liveHours: 3 })).next.recentScore, undefined);
  });

  it('a stricter policy asks more of a challenger', () => {
    const state = { ...base, challenger: { modelId: 'ensemble', backtestScore: 7.8, trainedMs: t0 } };
    assert.equal(
      decideRegistry(state, at(1), { ...DEFAULT_REGISTRY_POLICY, promotionMargin: 0.25 }).actions.length,
      0,
    );
    assert.equal(decideRegistry(state, at(1)).actions[0]?.kind, 'promote');
  });

  it('after training: new scores, clock reset, live score forgotten', () => {
    const refit = { ...champion, backtestScore: 9.5, trainedMs: t0 + 7 * DAY };
    const challenger = { modelId: 'regression', backtestScore: 9.7, trainedMs: t0 + 7 * DAY };
    const next = afterTraining(
      { ...base, recentScore: 11 },
      { nowMs: t0 + 7 * DAY, champion: refit, challenger },
    );
    assert.deepEqual(next, {
      champion: refit,
      challenger,
      previousChampion: previous,
      lastTrainedMs: t0 + 7 * DAY,
    });
    assert.deepEqual(kinds(next, at(8)), []);
  });
});

describe('levelShift', () => {
  it('is the relative change of the mean, ignoring gaps', () => {
    assert.equal(levelShift([12, Number.NaN, 12], [10, 10]), 0.2);
    assert.ok(Number.isNaN(levelShift([1], [])));
  });
});
