import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCalendar } from '../forecast/calendar.ts';
import { consumptionPattern, type HourlyFlow, spread } from './patterns.ts';

const H = 3_600_000;
const calendar = createCalendar({
  timeZone: 'UTC',
  holidays: [],
  extraDates: ['2026-03-10'],
  bridgeDays: false,
});

/** 10 L/s on weekdays, 20 at weekends, 2 at night (02–04), from 2026-01-05 (a Monday). */
function series(fromMs: number, toMs: number, scale = 1): HourlyFlow[] {
  const out: HourlyFlow[] = [];
  for (let t = fromMs; t < toMs; t += H) {
    const d = new Date(t);
    const dow = (d.getUTCDay() + 6) % 7;
    const hour = d.getUTCHours();
    out.push({ bucketMs: t, flow: scale * (hour === 2 || hour === 3 ? 2 : dow >= 5 ? 20 : 10) });
  }
  return out;
}

test('typical days by day type, the typical week, night share and month comparisons', () => {
  const end = Date.UTC(2026, 2, 16); // Monday 2026-03-16, as of the end of Sunday the 15th
  const hours = [
    ...series(Date.UTC(2026, 0, 5), Date.UTC(2026, 2, 1)),
    ...series(Date.UTC(2026, 2, 1), end, 1.1),
  ];
  const p = consumptionPattern(hours, calendar, end);
  // Eight weeks back: February weekdays at 10, March ones at 11.
  assert.equal(p.typicalDay.weekday[12]?.p10, 10);
  assert.equal(p.typicalDay.weekday[12]?.p90, 11);
  assert.equal(p.typicalDay.weekend[12]?.p90, 22);
  assert.equal(p.typicalDay.weekday[3]?.p10, 2);
  // The configured one-off holiday (a Tuesday) counts as a holiday, not a weekday.
  assert.equal(p.typicalDay.holiday[12]?.n, 1);
  assert.equal(p.typicalDay.holiday[12]?.mean, 11);
  // Counting bridge days, the Monday between the weekend and that Tuesday is a holiday too.
  const withBridges = createCalendar({ timeZone: 'UTC', holidays: [], extraDates: ['2026-03-10'] });
  assert.equal(consumptionPattern(hours, withBridges, end).typicalDay.holiday[12]?.n, 2);
  assert.equal(p.typicalWeek.length, 168);
  assert.equal(p.typicalWeek[5 * 24 + 12]?.p90, 22, 'Saturday noon');
  // Weekday: 2 night hours at 2 of a day total 22×10 + 4 = 224; weekend 22×20 + 4 = 444.
  assert.ok(p.nightShare.meanPercent! > (4 / 444) * 100 && p.nightShare.meanPercent! < (4 / 224) * 100);
  assert.equal(p.comparison.thisMonth, '2026-03');
  assert.equal(p.comparison.sameMonthLastYearMeanLps, null, 'no data a year back');
  assert.equal(p.comparison.vsSameMonthLastYearPercent, null);
  // 10 % more at every hour, and more weekend days in March 1–15 than in February: a rise of 10–20 %.
  const rise = p.comparison.vsLast4WeeksPercent!;
  assert.ok(rise > 10 && rise < 20, `${rise}`);
});

test('nothing at or after the as-of end is read', () => {
  const end = Date.UTC(2026, 2, 16);
  const hours = series(Date.UTC(2026, 0, 5), end);
  const later = [...hours, ...series(end, end + 20 * 24 * H, 5)];
  assert.deepEqual(consumptionPattern(later, calendar, end), consumptionPattern(hours, calendar, end));
});

test('spread of nothing is empty, not zero', () => {
  assert.deepEqual(spread([]), { p10: null, p50: null, p90: null, mean: null, n: 0 });
});
