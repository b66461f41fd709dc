import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAY_MS, HOUR_MS } from '../../shared/anomaly/series.ts';
import { gaussian, seededRandom } from '../../shared/domain/random.ts';
import { type RawNode, replayDistrict } from './replay.ts';

const T0 = Date.UTC(2026, 0, 5);
const DAYS = 50;
const LEAK_AT = T0 + 20 * DAY_MS;
const SECOND_AT = T0 + 45 * DAY_MS;
const POINTS = 5;

/** Hourly pressures of five points falling with demand; point 1 reads 0.03 bar low from LEAK_AT, point 3 from SECOND_AT. */
function points(): RawNode[] {
  const noise = gaussian(seededRandom(11));
  const days = gaussian(seededRandom(12));
  const dayFactor = Array.from({ length: DAYS }, () => 1 + 0.05 * days());
  const hours = DAYS * 24;
  const ts = Float64Array.from({ length: hours }, (_, h) => T0 + h * HOUR_MS + 30 * 60_000);
  const values = Array.from({ length: POINTS }, () => new Float64Array(hours));
  for (let h = 0; h < hours; h++) {
    const q =
      (0.6 + 0.4 * Math.sin((((h % 24) + 1 - 7) / 24) * 2 * Math.PI)) * dayFactor[Math.floor(h / 24)]!;
    for (let p = 0; p < POINTS; p++) {
      const leak = (p === 1 && ts[h]! >= LEAK_AT) || (p === 3 && ts[h]! >= SECOND_AT) ? 0.03 : 0;
      values[p]![h] = 5 - 0.3 * p - (0.2 + 0.1 * p) * q ** 1.85 + 0.003 * noise() - leak;
    }
  }
  return values.map((v, p) => ({
    info: {
      id: `p${p}`,
      tenantId: 't',
      districtId: 'd1',
      kind: 'pressure',
      name: `p${p}`,
      latitude: null,
      longitude: null,
      metrics: ['pressure'],
    },
    ts,
    values: { pressure: v },
  }));
}

test('the replay runs the rollup’s district code: a second leak at another point supersedes the open one', () => {
  // Before, the replay had no step-up: the open anomaly's frozen reference masked the second leak.
  const found = replayDistrict(
    { id: 'd1', timezone: 'UTC', nodes: points() },
    T0,
    T0 + 14 * DAY_MS,
    T0 + DAYS * DAY_MS,
    { cycleMs: HOUR_MS, bucketMs: HOUR_MS },
  ).filter((d) => d.type === 'pressure_residual');
  assert.deepEqual(
    found.map((d) => [d.nodeId, d.openedAtMs - (d.nodeId === 'p1' ? LEAK_AT : SECOND_AT) < 2 * DAY_MS]),
    [
      ['p1', true],
      ['p3', true],
    ],
    JSON.stringify(found.map((d) => [d.nodeId, new Date(d.openedAtMs).toISOString()])),
  );
});
