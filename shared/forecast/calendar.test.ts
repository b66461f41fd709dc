import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCalendar, easterSunday, holidayDates, ITALIAN_HOLIDAYS, italianCalendar } from './calendar.ts';

describe('easterSunday', () => {
  it('matches known dates', () => {
    assert.deepEqual(easterSunday(2021), [4, 4]);
    assert.deepEqual(easterSunday(2022), [4, 17]);
    assert.deepEqual(easterSunday(2024), [3, 31]);
    assert.deepEqual(easterSunday(2038), [4, 25]);
  });
});

describe('italian holidays', () => {
  it('include Easter Monday, moving with Easter', () => {
    assert.ok(holidayDates(2022, ITALIAN_HOLIDAYS).includes('2022-04-18'));
    assert.ok(holidayDates(2024, ITALIAN_HOLIDAYS).includes('2024-04-01'));
    assert.equal(holidayDates(2022, ITALIAN_HOLIDAYS).length, 12);
  });
});

describe('calendar in Europe/Rome', () => {
  const calendar = italianCalendar();

  it('reads local hour and weekday (Monday = 0), across the daylight-saving change', () => {
    // 2022-03-27 is a Sunday; clocks jump from 02:00 CET to 03:00 CEST at 01:00Z.
    const before = calendar.at(Date.parse('2022-03-27T00:00:00Z'));
    const after = calendar.at(Date.parse('2022-03-27T01:00:00Z'));
    assert.equal(before.hour, 1);
    assert.equal(after.hour, 3);
    assert.equal(after.weekday, 6);
    assert.equal(after.hourOfWeek, 6 * 24 + 3);
    const monday = calendar.at(Date.parse('2022-07-17T22:00:00Z'));
    assert.deepEqual([monday.date, monday.weekday, monday.hour, monday.hourOfWeek], ['2022-07-18', 0, 0, 0]);
  });

  it('treats a holiday as a Sunday in dayTypeHourOfWeek', () => {
    // Easter Monday 2022-04-18, 10:00 local (08:00Z).
    const local = calendar.at(Date.parse('2022-04-18T08:00:00Z'));
    assert.equal(local.holiday, true);
    assert.equal(local.hourOfWeek, 10);
    assert.equal(local.dayTypeHourOfWeek, 6 * 24 + 10);
    const ordinary = calendar.at(Date.parse('2022-04-19T08:00:00Z'));
    assert.equal(ordinary.holiday, false);
    assert.equal(ordinary.dayTypeHourOfWeek, ordinary.hourOfWeek);
  });

  it('uses the local date for holidays: New Year starts at 23:00Z the day before', () => {
    assert.equal(calendar.at(Date.parse('2021-12-31T23:00:00Z')).holiday, true);
    assert.equal(calendar.at(Date.parse('2021-12-31T22:00:00Z')).holiday, false);
  });
});

describe('configurable holidays', () => {
  it('takes another rule list, another zone and one-off dates', () => {
    const calendar = createCalendar({
      timeZone: 'America/New_York',
      holidays: [{ name: 'Independence Day', month: 7, day: 4 }],
      extraDates: ['2024-11-05'],
    });
    assert.equal(calendar.isHolidayDate('2024-07-04'), true);
    assert.equal(calendar.isHolidayDate('2024-12-25'), false);
    assert.equal(calendar.isHolidayDate('2024-11-05'), true);
    assert.equal(calendar.at(Date.parse('2024-07-05T02:00:00Z')).holiday, true); // 22:00 on the 4th in New York
  });

  it('adds a patron saint day to the Italian list', () => {
    const calendar = createCalendar({
      timeZone: 'Europe/Rome',
      holidays: [...ITALIAN_HOLIDAYS, { name: 'San Giusto', month: 11, day: 3 }],
    });
    assert.equal(calendar.isHolidayDate('2022-11-03'), true);
  });

  it('rejects an unknown time zone at construction', () => {
    assert.throws(() => createCalendar({ timeZone: 'Mars/Olympus' }), RangeError);
  });
});
