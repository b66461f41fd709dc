import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SAMPLING, keptFraction, trainingMask } from './sampling.ts';
import { HOUR_MS } from './types.ts';

const DAY = 86_400_000;
const originMs = Date.UTC(2024, 0, 1);
const startMs = originMs - 3 * 365 * DAY;
const length = (originMs - startMs) / HOUR_MS + 48;
const mask = trainingMask(startMs, length, originMs);

/** Share of kept hours among hours whose day is `fromDays`–`toDays` old. */
function keptShare(fromDays: number, toDays: number): number {
  let kept = 0;
  let all = 0;
  for (let i = 0; i < length; i++) {
    const ms = startMs + i * HOUR_MS;
    const dayAge = (originMs - Math.floor(ms / DAY) * DAY) / DAY;
    if (dayAge > fromDays && dayAge <= toDays) {
      all++;
      kept += mask[i]!;
    }
  }
  return kept / all;
}

describe('trainingMask', () => {
  it('keeps all of the last 180 days, about half of 180–365, about a tenth of older', () => {
    assert.equal(keptShare(0, 180), 1);
    const half = keptShare(181, 365);
    const tenth = keptShare(366, 3 * 365);
    assert.ok(half > 0.4 && half < 0.6, `half: ${half}`);
    assert.ok(tenth > 0.06 && tenth < 0.14, `tenth: ${tenth}`);
  });

  it('keeps or drops whole UTC days', () => {
    for (let i = 0; i + 24 <= length; i += 24) {
      const day = mask.subarray(i, i + 24);
      assert.ok(
        day.every((v) => v === day[0]),
        `day at hour ${i}`,
      );
    }
  });

  it('never keeps hours at or after the origin', () => {
    assert.ok(mask.subarray((originMs - startMs) / HOUR_MS).every((v) => v === 0));
  });

  it('is deterministic and nested: a later origin only drops days as they age', () => {
    assert.deepEqual(trainingMask(startMs, length, originMs), mask);
    const later = trainingMask(startMs, length, originMs + 30 * DAY);
    for (let i = 0; i < length; i++)
      if (later[i] && startMs + i * HOUR_MS < originMs) assert.equal(mask[i], 1);
  });

  it('follows a custom policy', () => {
    const all = trainingMask(startMs, 1000, startMs + 1000 * HOUR_MS, {
      ...DEFAULT_SAMPLING,
      tiers: [],
      olderFraction: 1,
    });
    assert.ok(all.every((v) => v === 1));
    assert.equal(keptFraction(10), 1);
    assert.equal(keptFraction(200), 0.5);
    assert.equal(keptFraction(400), 0.1);
  });
});
