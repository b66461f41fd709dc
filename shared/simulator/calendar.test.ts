import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Clock, DAY_MS, dayStartMs, HOUR_MS, holidaysOf, localDayOf } from './calendar.ts';
import { COMMERCIAL, HOLIDAY, RESIDENTIAL, rate, SATURDAY, WEEKDAY, wallClock, withinDay } from './demand.ts';

const rome = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Rome',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

describe('local calendar (Europe/Rome)', () => {
  it('agrees with the platform time-zone database on local day, hour and minute', () => {
    const clock = new Clock();
    for (let t = Date.UTC(2023, 0, 1); t < Date.UTC(2026, 0, 1); t += 97 * 60_000) {
      const parts = Object.fromEntries(rome.formatToParts(t).map((p) => [p.type, p.value]));
      clock.set(t);
      const day = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day)) / DAY_MS;
      assert.equal(localDayOf(t), day, new Date(t).toISOString());
      assert.equal(clock.day, day);
      const minutes = Math.round(clock.wall * 60);
      assert.equal(Math.floor(minutes / 60), Number(parts.hour), new Date(t).toISOString());
      assert.equal(minutes % 60, Number(parts.minute), new Date(t).toISOString());
    }
  });

  it('has 23-hour and 25-hour days when the clocks change', () => {
    const length = (y: number, m: number, d: number) => {
      const n = Date.UTC(y, m - 1, d) / DAY_MS;
      return (dayStartMs(n + 1) - dayStartMs(n)) / HOUR_MS;
    };
    assert.equal(length(2025, 3, 30), 23);
    assert.equal(length(2025, 10, 26), 25);
    assert.equal(length(2025, 6, 1), 24);
  });

  it('knows the Italian public holidays, Easter Monday included', () => {
    const days = holidaysOf(2025);
    const on = (m: number, d: number) => days.has(Date.UTC(2025, m - 1, d) / DAY_MS);
    assert.ok(on(1, 1) && on(4, 21) && on(4, 25) && on(6, 2) && on(8, 15) && on(12, 25) && on(12, 26));
    assert.ok(!on(4, 22) && !on(7, 1));
    assert.ok(holidaysOf(2024).has(Date.UTC(2024, 3, 1) / DAY_MS)); // Easter Monday 2024
  });
});

describe('demand curves', () => {
  it('integrate in closed form exactly as a fine numerical sum does, on normal and DST days', () => {
    for (const lengthH of [23, 24, 25]) {
      for (const p of [RESIDENTIAL, COMMERCIAL]) {
        for (const d of [WEEKDAY, SATURDAY, HOLIDAY]) {
          const steps = lengthH * 600;
          let sum = 0;
          for (let k = 0; k < steps; k++)
            sum += rate(p, d, wallClock(((k + 0.5) * lengthH) / steps, lengthH));
          const numeric = (sum * lengthH) / steps;
          assert.ok(Math.abs(numeric - withinDay(p, d, lengthH, lengthH)) < 1e-4, `${lengthH} h, ${p}/${d}`);
        }
      }
    }
  });

  it('average 1 on weekdays and have their minimum at night', () => {
    assert.ok(Math.abs(withinDay(RESIDENTIAL, WEEKDAY, 24, 24) / 24 - 1) < 1e-12);
    const hourly = Array.from({ length: 24 }, (_, h) => rate(RESIDENTIAL, WEEKDAY, h));
    const min = hourly.indexOf(Math.min(...hourly));
    assert.ok(min >= 3 && min <= 4);
    assert.ok(Math.max(...hourly) > 1.5 && Math.min(...hourly) < 0.35);
  });
});
