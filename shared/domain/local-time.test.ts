import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAY_MS, HOUR_MS } from './aggregate.ts';
import { localClock, localParts, localToUtc, utcOffsetMs, weekdayOf } from './local-time.ts';

const WEEK_MS = 7 * DAY_MS;

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

test('exact wall-clock parts and offsets, without the quarter-hour cache', () => {
  assert.deepEqual(localParts(Date.UTC(2024, 5, 30, 22, 30, 15), 'Europe/Rome'), {
    year: 2024,
    month: 7,
    day: 1,
    hour: 0,
    minute: 30,
    second: 15,
  });
  assert.equal(utcOffsetMs(Date.UTC(2024, 6, 15), 'Asia/Kolkata'), 5.5 * HOUR_MS);
  assert.equal(utcOffsetMs(Date.UTC(2024, 6, 15, 0, 0, 0, 250), 'Europe/Rome'), 2 * HOUR_MS);
});

test('local wall time to an instant: the earlier of a repeated time, past the gap for a skipped one', () => {
  assert.equal(localToUtc(2024, 10, 27, 2, 30, 'Europe/Rome'), Date.UTC(2024, 9, 27, 0, 30));
  assert.equal(localToUtc(2024, 3, 31, 2, 30, 'Europe/Rome'), Date.UTC(2024, 2, 31, 1, 30));
  // Santiago's clocks skip from 00:00 to 01:00 on 8 September 2024: the day starts at the change.
  assert.equal(localToUtc(2024, 9, 8, 0, 0, 'America/Santiago'), Date.UTC(2024, 8, 8, 4));
});

test('weekdays count from Monday', () => {
  assert.equal(weekdayOf(2024, 1, 15), 0);
  assert.equal(weekdayOf(2024, 1, 14), 6);
  assert.equal(weekdayOf(1969, 12, 31), 2);
});
