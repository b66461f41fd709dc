import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localClock } from './local-time.ts';
import { HOUR_MS, WEEK_MS } from './series.ts';

const rome = localClock('Europe/Rome');

test('offsets follow daylight saving time', () => {
  assert.equal(rome.offsetMs(Date.UTC(2024, 0, 15)), HOUR_MS);
  assert.equal(rome.offsetMs(Date.UTC(2024, 6, 15)), 2 * HOUR_MS);
});

test('hour of the week counts from Monday 00:00 local', () => {
  assert.equal(rome.hourOfWeek(Date.UTC(2024, 0, 14, 23)), 0); // Monday 00:00 CET
  assert.equal(localClock('UTC').hourOfWeek(Date.UTC(2024, 0, 14, 23)), 167); // Sunday 23:00 UTC
});

test('the same slot a week before keeps the local wall time across a DST change', () => {
  const afterSpring = Date.UTC(2024, 2, 31, 6); // 08:00 CEST, Sunday 31 March
  const before = rome.sameSlotWeeksBefore(afterSpring, 1);
  assert.equal(afterSpring - before, WEEK_MS - HOUR_MS);
  assert.equal(rome.hourOfWeek(before), rome.hourOfWeek(afterSpring));
});

test('start of a local hour, including inside the spring-forward gap', () => {
  assert.equal(rome.startOfLocalHour(2024, 1, 15, 2), Date.UTC(2024, 0, 15, 1));
  // 31 March 2024: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:00 does not exist, the night starts then.
  assert.equal(rome.startOfLocalHour(2024, 3, 31, 2), Date.UTC(2024, 2, 31, 1));
  assert.equal(rome.startOfLocalHour(2024, 3, 31, 5), Date.UTC(2024, 2, 31, 3));
  // 27 October 2024: 03:00 CEST falls back to 02:00 CET; the first 02:00 is 00:00 UTC.
  assert.equal(rome.startOfLocalHour(2024, 10, 27, 2), Date.UTC(2024, 9, 27, 0));
  assert.equal(rome.startOfLocalHour(2024, 10, 27, 5), Date.UTC(2024, 9, 27, 4));
});

test('local dates', () => {
  assert.deepEqual(rome.localDate(Date.UTC(2024, 5, 30, 22, 30)), [2024, 7, 1]);
  assert.deepEqual(localClock('America/New_York').localDate(Date.UTC(2024, 6, 1, 2)), [2024, 6, 30]);
});

test('an unknown zone is an error', () => {
  assert.throws(() => localClock('Mars/Olympus'), RangeError);
});
