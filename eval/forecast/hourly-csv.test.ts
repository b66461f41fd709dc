import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHourlyCsv, tableSeries } from './hourly-csv.ts';

describe('parseHourlyCsv', () => {
  it('keeps empty cells and missing hours as gaps, in time order', () => {
    const table = parseHourlyCsv(
      [
        'timestamp,dma_1,dma_2',
        '2022-01-01T00:00:00Z,1.5,',
        '2022-01-01T03:00:00Z,4,0',
        '2022-01-01T01:00:00Z,2.25,7',
        '',
      ].join('\r\n'),
    );
    assert.equal(table.startMs, Date.parse('2022-01-01T00:00:00Z'));
    assert.equal(table.length, 4);
    assert.deepEqual(Array.from(tableSeries(table, 'dma_1').values), [1.5, 2.25, Number.NaN, 4]);
    assert.deepEqual(Array.from(tableSeries(table, 'dma_2').values), [Number.NaN, 7, Number.NaN, 0]);
  });

  it('says what is wrong', () => {
    assert.throws(() => parseHourlyCsv('time,a\n'), /first column must be "timestamp"/);
    assert.throws(
      () => parseHourlyCsv('timestamp,a\n2022-01-01T00:30:00Z,1\n'),
      /line 2: .* not a timestamp on the hour/,
    );
    assert.throws(() => tableSeries(parseHourlyCsv('timestamp,a\n'), 'b'), /no column "b"; it has a/);
  });
});
