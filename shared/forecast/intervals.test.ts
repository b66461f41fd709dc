import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gaussian, seededRandom } from '../domain/random.ts';
import { buildResidualModel, type Hindcast } from './intervals.ts';

/** A flat series of 10 and 42 daily replays of 168 hours whose errors have spread `sd(origin index)`. */
function replays(sd: (j: number) => number, seed: number) {
  const n = 60 * 24;
  const values = new Float64Array(n).fill(10);
  const normal = gaussian(seededRandom(seed));
  const hindcasts: Hindcast[] = [];
  for (let j = 0; j < 42; j++) {
    const origin = n - (42 - j) * 24;
    hindcasts.push({
      origin,
      mean: Float64Array.from({ length: 168 }, () => 10 - sd(j) * normal()),
    });
  }
  return { history: { startMs: Date.UTC(2024, 0, 1), values }, hindcasts };
}

const width = (m: ReturnType<typeof buildResidualModel>, b: number): [number, number] => [
  m.q90[b]! - m.q10[b]!,
  m.q975[b]! - m.q025[b]!,
];

describe('intervals: split-conformal calibration of the widths', () => {
  it('errors that grew over the newer replays widen the bands; the 95 % band stays around the 80 % one', () => {
    const { history, hindcasts } = replays((j) => (j < 21 ? 1 : 2), 7);
    const plain = buildResidualModel(history, hindcasts);
    const calibrated = buildResidualModel(history, hindcasts, { calibrate: true });
    for (let b = 0; b < plain.q10.length; b++) {
      const [p80, p95] = width(plain, b);
      const [c80, c95] = width(calibrated, b);
      assert.ok(c80 > 1.2 * p80, `bucket ${b}: 80 % ${c80} vs ${p80}`);
      assert.ok(c95 > 1.2 * p95, `bucket ${b}: 95 % ${c95} vs ${p95}`);
      assert.ok(calibrated.q025[b]! <= calibrated.q10[b]! && calibrated.q90[b]! <= calibrated.q975[b]!);
    }
  });

  it('errors that shrank narrow them (down to 0.8); steady errors leave them within a few tenths', () => {
    const shrank = replays((j) => (j < 21 ? 2 : 1), 8);
    const a = width(buildResidualModel(shrank.history, shrank.hindcasts), 3)[0]!;
    const b = width(buildResidualModel(shrank.history, shrank.hindcasts, { calibrate: true }), 3)[0]!;
    assert.ok(b < a && b >= 0.8 * a - 1e-9, `${b} vs ${a}`);
    const steady = replays(() => 1, 9);
    const c = width(buildResidualModel(steady.history, steady.hindcasts), 3)[0]!;
    const d = width(buildResidualModel(steady.history, steady.hindcasts, { calibrate: true }), 3)[0]!;
    assert.ok(d / c > 0.8 && d / c < 1.3, `${d / c}`);
  });
});
