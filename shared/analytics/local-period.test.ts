import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { localToUtc } from '../domain/local-time.ts';
import { localPeriod, periodContaining } from './local-period.ts';

const TZ = 'Europe/Rome';
const day = localPeriod('day', '2024-05-15', TZ);

describe('local periods', () => {
  test('a day in Rome starts at local midnight', () => {
    assert.equal(day.start, Date.UTC(2024, 4, 14, 22)); // 00:00 CEST = 22:00 UTC the day before
    assert.equal(day.hours, 24);
  });

  test('the DST days in Europe/Rome have 23 and 25 hours', () => {
    const spring = localPeriod('day', '2024-03-31', TZ);
    assert.equal(spring.start, Date.UTC(2024, 2, 30, 23)); // CET midnight
    assert.equal(spring.end, Date.UTC(2024, 2, 31, 22)); // CEST midnight
    assert.equal(spring.hours, 23);
    const autumn = localPeriod('day', '2024-10-27', TZ);
    assert.equal(autumn.hours, 25);
    // March 2024: 31 × 24 − 1 hours.
    assert.equal(localPeriod('month', '2024-03', TZ).hours, 743);
  });

  test('a local time that occurs twice resolves to the first, one that does not exist moves past the gap', () => {
    assert.equal(localToUtc(2024, 10, 27, 2, 30, TZ), Date.UTC(2024, 9, 27, 0, 30)); // 02:30 CEST
    assert.equal(localToUtc(2024, 3, 31, 2, 30, TZ), Date.UTC(2024, 2, 31, 1, 30)); // 03:30 CEST
    // Santiago sets clocks forward at midnight: 2024-09-08 starts at 01:00 local, the moment of the change.
    const santiago = localPeriod('day', '2024-09-08', 'America/Santiago');
    assert.equal(santiago.start, Date.UTC(2024, 8, 8, 4));
    assert.equal(santiago.hours, 23);
  });

  test('the period containing an instant follows local time', () => {
    assert.equal(periodContaining('day', Date.UTC(2024, 2, 30, 23, 30), TZ).label, '2024-03-31');
    assert.equal(periodContaining('month', Date.UTC(2024, 1, 29, 23, 30), TZ).label, '2024-03');
    assert.throws(() => localPeriod('day', '2024-02-30', TZ), RangeError);
  });
});
