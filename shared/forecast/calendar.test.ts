import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  configuredCalendar,
  createCalendar,
  easterSunday,
  holidayDates,
  ITALIAN_HOLIDAYS,
  italianCalendar,
  parseHolidays,
} from './calendar.ts';

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

describe('bridge days', () => {
  const calendar = italianCalendar();

  it('count a Friday after a Thursday holiday and a Monday before a Tuesday one, flagged as bridges', () => {
    // 2 June 2022 (Festa della Repubblica) was a Thursday; 6 January 2022 a Thursday; 1 November 2022 a Tuesday.
    for (const date of ['2022-06-03', '2022-01-07', '2022-10-31']) {
      const local = calendar.at(Date.parse(`${date}T10:00:00Z`));
      assert.deepEqual([local.date, local.holiday, local.bridge], [date, true, true], date);
      assert.equal(local.dayTypeHourOfWeek, 6 * 24 + local.hour);
    }
    const holiday = calendar.at(Date.parse('2022-06-02T10:00:00Z'));
    assert.deepEqual([holiday.holiday, holiday.bridge], [true, false]);
    // A Wednesday holiday makes no bridge; nor is the day before a Thursday holiday one.
    assert.equal(calendar.isHolidayDate('2021-12-09'), false);
    assert.equal(calendar.isHolidayDate('2022-06-01'), false);
  });

  it('can be switched off', () => {
    const calendar = createCalendar({ timeZone: 'Europe/Rome', bridgeDays: false });
    const local = calendar.at(Date.parse('2022-06-03T10:00:00Z'));
    assert.deepEqual([local.holiday, local.bridge], [false, true]);
    assert.match(calendar.description, /^Italian public holidays$/);
    assert.match(italianCalendar().description, /Italian public holidays \+ bridge days/);
  });
});

describe('daylight-saving days', () => {
  it('have 23 and 25 local hours; the repeated hour keeps its local clock hour', () => {
    const calendar = italianCalendar();
    const hoursOf = (date: string) => {
      const out: number[] = [];
      const end = Date.parse(`${date}T23:00:00Z`);
      for (let ms = Date.parse(`${date}T00:00:00Z`) - 3 * 3_600_000; ms < end; ms += 3_600_000) {
        const local = calendar.at(ms);
        if (local.date === date) out.push(local.hour);
      }
      return out;
    };
    assert.equal(hoursOf('2022-03-27').length, 23);
    assert.equal(hoursOf('2021-10-31').length, 25);
    assert.deepEqual(hoursOf('2021-10-31').slice(0, 4), [0, 1, 2, 2]);
  });
});

describe('a configured holiday list (HOLIDAYS)', () => {
  it('reads IT, yearly days with names, one-off dates, Easter offsets and no-bridges', () => {
    const options = parseHolidays(
      "IT, 06-24=San Giovanni\n# the town's own\n2024-11-05,easter-2=Venerdì santo,no-bridges",
    );
    assert.equal(options.holidays!.length, ITALIAN_HOLIDAYS.length + 2);
    assert.deepEqual(options.extraDates, ['2024-11-05']);
    assert.equal(options.bridgeDays, false);
    const calendar = configuredCalendar('Europe/Rome', 'IT,06-24=San Giovanni,easter-2');
    assert.equal(calendar.isHolidayDate('2022-06-24'), true);
    assert.equal(calendar.isHolidayDate('2022-04-15'), true); // Good Friday 2022
    assert.equal(calendar.isHolidayDate('2022-12-25'), true);
  });

  it('without IT, only the listed days count; empty means the Italian default', () => {
    const calendar = configuredCalendar('Europe/London', '12-25,12-26,01-01,easter+1');
    assert.equal(calendar.isHolidayDate('2022-04-18'), true);
    assert.equal(calendar.isHolidayDate('2022-06-02'), false);
    assert.equal(configuredCalendar('Europe/Rome', ' ').isHolidayDate('2022-06-02'), true);
  });

  it('rejects what it cannot read, naming the item', () => {
    assert.throws(() => parseHolidays('IT,xmas'), /holiday "xmas"/);
    assert.throws(() => parseHolidays('13-01'), /holiday "13-01"/);
  });
});
