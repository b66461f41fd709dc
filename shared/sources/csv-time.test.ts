import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTimestamp } from './csv-time.ts';

describe('parseTimestamp', () => {
  test('reads ISO 8601 with a zone and epoch numbers', () => {
    const t = Date.UTC(2024, 2, 1, 12, 30, 0);
    assert.equal(parseTimestamp('2024-03-01T12:30:00Z'), t);
    assert.equal(parseTimestamp('2024-03-01T12:30Z'), t);
    assert.equal(parseTimestamp('2024-03-01 12:30:00 UTC'), t);
    assert.equal(parseTimestamp('2024-03-01T13:30:00+01:00'), t);
    assert.equal(parseTimestamp('2024-03-01T13:30:00+0100'), t);
    assert.equal(parseTimestamp('2024-03-01T13:30:00+01'), t);
    assert.equal(parseTimestamp('2024-03-01T07:00:00-05:30'), t);
    assert.equal(parseTimestamp('2024-03-01T12:30:00.57Z'), t + 570);
    assert.equal(parseTimestamp('2024-03-01T12:30:00.123456Z'), t + 123);
    assert.equal(parseTimestamp(String(t / 1000)), t);
    assert.equal(parseTimestamp(String(t)), t);
    assert.equal(parseTimestamp(String(t * 1000)), t);
    assert.equal(parseTimestamp('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
  });

  test('rejects times without a zone and dates that do not exist', () => {
    for (const bad of [
      '2024-03-01T12:30:00',
      '2023-02-29T00:00:00Z',
      '2024-03-01T24:00:00Z',
      'yesterday',
      '',
    ]) {
      assert.ok(Number.isNaN(parseTimestamp(bad)), bad);
    }
  });
});
