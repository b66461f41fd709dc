/**
 * `npm run forecast` as an engineer runs it (a child process on the repo's Node): a CSV in, a CSV of
 * 168 forecast hours with intervals out per series; nothing at or after the origin is read (changing it
 * changes nothing); a short series gets the fallback and says so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { syntheticDemand } from '../shared/forecast/synthetic.ts';
import { HOUR_MS } from '../shared/forecast/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'forecast-cli-'));
const START = Date.UTC(2024, 0, 1);
const ORIGIN = START + 28 * 24 * HOUR_MS;

function csv(perturbAfterOrigin: boolean): string {
  const a = syntheticDemand({ startMs: START, hours: 35 * 24, seed: 3 });
  const b = syntheticDemand({ startMs: START, hours: 35 * 24, seed: 4, level: 8 });
  const lines = ['timestamp,dma_a,dma_short'];
  for (let i = 0; i < a.values.length; i++) {
    const ms = START + i * HOUR_MS;
    const after = ms >= ORIGIN;
    const va = perturbAfterOrigin && after ? a.values[i]! * 3 + 100 : a.values[i]!;
    // dma_short starts two days before the origin.
    const vb = ms >= ORIGIN - 48 * HOUR_MS ? (perturbAfterOrigin && after ? -5 : b.values[i]!) : '';
    lines.push(`${new Date(ms).toISOString()},${va},${vb}`);
  }
  return `${lines.join('\n')}\n`;
}

function run(input: string, out: string): string {
  return execFileSync(
    process.execPath,
    ['scripts/forecast.ts', '--inflows', input, '--origin', new Date(ORIGIN).toISOString(), '--out', out],
    { encoding: 'utf8' },
  );
}

describe('npm run forecast', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('forecasts each series from the data before the origin only', () => {
    writeFileSync(join(dir, 'in.csv'), csv(false));
    writeFileSync(join(dir, 'perturbed.csv'), csv(true));
    const log = run(join(dir, 'in.csv'), join(dir, 'out.csv'));
    run(join(dir, 'perturbed.csv'), join(dir, 'out2.csv'));
    const out = readFileSync(join(dir, 'out.csv'), 'utf8');
    assert.equal(out, readFileSync(join(dir, 'out2.csv'), 'utf8'), 'data after the origin changes nothing');
    const rows = out.trim().split('\n');
    assert.equal(rows[0], 'series,timestamp,model,served_by,mean,lo80,hi80,lo95,hi95');
    const a = rows.filter((r) => r.startsWith('dma_a,'));
    const s = rows.filter((r) => r.startsWith('dma_short,'));
    assert.equal(a.length, 168);
    assert.equal(s.length, 168);
    assert.equal(a[0]!.split(',')[1], new Date(ORIGIN).toISOString());
    assert.match(a[0]!, /^dma_a,[^,]+,(ensemble|seasonal-naive),champion,/);
    assert.match(s[0]!, /^dma_short,[^,]+,daily-naive,fallback,/);
    for (const r of [...a, ...s]) {
      const [mean, lo80, hi80, lo95, hi95] = r.split(',').slice(4).map(Number);
      assert.ok(lo95! <= lo80! && lo80! <= mean! && mean! <= hi80! && hi80! <= hi95!, r);
    }
    // The champion is close to the truth on this clean synthetic demand.
    const truth = syntheticDemand({ startMs: START, hours: 35 * 24, seed: 3 });
    const first = (ORIGIN - START) / HOUR_MS;
    const mae =
      a.reduce((sum, r, k) => sum + Math.abs(Number(r.split(',')[4]) - truth.values[first + k]!), 0) /
      a.length;
    assert.ok(mae < 2.5, `MAE ${mae}`);
    assert.match(log, /dma_short: daily-naive \(fallback\)/);
  });

  test('a bad origin is refused with a message', () => {
    assert.throws(
      () =>
        execFileSync(
          process.execPath,
          ['scripts/forecast.ts', '--inflows', 'x.csv', '--origin', 'soon', '--out', 'o'],
          {
            encoding: 'utf8',
            stdio: 'pipe',
          },
        ),
      /--origin must be an ISO time on the hour/,
    );
  });
});
