import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { aggregateReadings, BUCKET_MS, DAY_MS, HOUR_MS, type PartialRow, rollUp } from './aggregate.ts';
import { METRICS, type Reading } from './readings.ts';
import { dayOf, hourlyRows, lightRow, settledDaysFrom, settledHoursFrom, settleView } from './view-state.ts';
import {
  computeWindow,
  hourlySeries,
  lookbackStart,
  RANGE_NAMES,
  type Range,
  seriesStart,
} from './windows.ts';

const DAY0 = Date.UTC(2026, 2, 1);
const byMetricAndBucket = (a: PartialRow, b: PartialRow) =>
  METRICS.indexOf(a.metric) - METRICS.indexOf(b.metric) || a.bucketMs - b.bucketMs;

/** A node's stored partials: readings every 45 minutes over 35 days, some metrics on some days only. */
function stored(values: number[], asOfMs: number) {
  const readings: Reading[] = [];
  let i = 0;
  for (let ts = DAY0; ts <= asOfMs; ts += 45 * 60_000, i++) {
    const v = values[i % values.length]!;
    const day = Math.floor((ts - DAY0) / DAY_MS);
    readings.push({
      nodeId: 'n1',
      ts,
      ingestedAt: ts,
      values: {
        flow: v,
        ...(day % 3 === 0 ? { chlorine: v / 100 } : {}),
        ...(i % 7 ? { pressure: 3 + v / 50 } : {}),
      },
    });
  }
  const m5 = aggregateReadings(readings, BUCKET_MS).sort(byMetricAndBucket);
  return {
    m5,
    h1: rollUp(m5, HOUR_MS).sort(byMetricAndBucket),
    d1: rollUp(m5, DAY_MS).sort(byMetricAndBucket),
  };
}

/** What the view read gives without a settled state (hourly rows before the full ones: light). */
function fullRead(rows: ReturnType<typeof stored>, asOfMs: number) {
  const fullFrom = lookbackStart(asOfMs, '1h');
  return {
    '5m': rows.m5.filter((r) => r.bucketMs >= lookbackStart(asOfMs, '5m')),
    '1h': rows.h1
      .filter((r) => r.bucketMs >= seriesStart(asOfMs))
      .map((r) =>
        r.bucketMs < fullFrom ? lightRow(r.nodeId, r.metric, r.bucketMs, r.count, r.sum, r.min, r.max) : r,
      ),
    '1d': rows.d1.filter((r) => r.bucketMs >= lookbackStart(asOfMs, '1d')),
  };
}

describe('settled view state', () => {
  test('windows, 7-day series and hourly rows from the state and the day’s rows equal a full recomputation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -50, max: 500, noNaN: true }), { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 0, max: 24 * 60 - 1 }),
        (values, minuteOfDay) => {
          const asOfMs = DAY0 + 34 * DAY_MS + minuteOfDay * 60_000;
          const rows = stored(values, asOfMs);
          const full = fullRead(rows, asOfMs);
          const dayMs = dayOf(asOfMs);
          // The state as a rebuild makes it, then what a read with it brings.
          const state = settleView(
            dayMs,
            rows.h1.filter((r) => r.bucketMs >= settledHoursFrom(dayMs) && r.bucketMs < dayMs),
            rows.d1.filter((r) => r.bucketMs >= settledDaysFrom(dayMs) && r.bucketMs < dayMs),
          );
          const fullFrom = lookbackStart(asOfMs, '1h');
          const fresh = {
            '5m': full['5m'],
            '1h': hourlyRows(
              state,
              asOfMs,
              fullFrom,
              rows.h1.filter((r) => r.bucketMs >= fullFrom),
            ),
            '1d': rows.d1.filter((r) => r.bucketMs >= dayMs),
          };
          assert.deepEqual(fresh['1h'], full['1h']);
          assert.deepEqual(hourlySeries(asOfMs, fresh['1h']), hourlySeries(asOfMs, full['1h']));
          for (const range of RANGE_NAMES) {
            const prefix = state.prefixes[range as '3d' | '7d' | '30d'];
            assert.deepEqual(
              computeWindow(range as Range, asOfMs, fresh, prefix),
              computeWindow(range as Range, asOfMs, full),
              range,
            );
          }
          // The state is left as it was (a window merges into copies).
          assert.deepEqual(
            computeWindow('30d', asOfMs, fresh, state.prefixes['30d']),
            computeWindow('30d', asOfMs, full),
          );
        },
      ),
      { numRuns: 3 },
    );
  });

  test('a metric seen today only comes in METRICS order among those of earlier days', () => {
    const asOfMs = DAY0 + 3 * DAY_MS + 5 * HOUR_MS;
    const day = (d: number, metric: 'flow' | 'pressure', v: number) =>
      rollUp(
        aggregateReadings([{ nodeId: 'n1', ts: DAY0 + d * DAY_MS, ingestedAt: 0, values: { [metric]: v } }]),
        DAY_MS,
      );
    const state = settleView(dayOf(asOfMs), [], [...day(1, 'pressure', 3), ...day(2, 'pressure', 4)]);
    const window = computeWindow(
      '3d',
      asOfMs,
      { '5m': [], '1h': [], '1d': day(3, 'flow', 7) },
      state.prefixes['3d'],
    );
    assert.deepEqual(Object.keys(window.metrics), ['flow', 'pressure']);
    assert.equal(window.metrics.pressure?.count, 2);
  });
});
