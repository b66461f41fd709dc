/** Parsing and validating a pushed batch, row by row (the endpoint: test/api/readings.test.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchFormatError, csvRecords, jsonRecords, validateRecords } from './batch.ts';

const NOW = Date.UTC(2026, 2, 2, 12);
const rules = { nowMs: NOW, maxAgeMs: 72 * 3_600_000, maxAheadMs: 300_000, maxRows: 3 };

test('JSON: an array, or {readings: [...]}; anything else is a format error', () => {
  assert.deepEqual(jsonRecords('[{"a":1}]'), [{ a: 1 }]);
  assert.deepEqual(jsonRecords('{"readings":[]}'), []);
  assert.throws(() => jsonRecords('{"rows":[]}'), BatchFormatError);
  assert.throws(() => jsonRecords('nope'), BatchFormatError);
});

test('CSV: rows numbered from the first data line, a broken line among them reported in place', () => {
  const text = 'node_id,ts,flow\nn1,2026-03-02T11:00:00Z,1\nn1,"2026-03-02T11:01:00Z,2\n';
  const { records, errors } = csvRecords(
    'node_id,ts,flow\nn1,2026-03-02T11:00:00Z,1\nn1,2026-03-02T11:01:00Z\nn2,1772449200,3\n',
  );
  assert.equal(records.length, 3);
  assert.deepEqual(
    errors.map((e) => e.row),
    [1],
  );
  const parsed = validateRecords(records, rules, errors);
  assert.deepEqual(
    parsed.valid.map((v) => [v.row, v.reading.nodeId, v.reading.ts]),
    [
      [0, 'n1', Date.UTC(2026, 2, 2, 11)],
      [2, 'n2', 1772449200_000],
    ],
  );
  // An unclosed quote swallows the rest of the body: still a row error, not a failed batch.
  const broken = csvRecords(text);
  assert.ok(broken.errors.length >= 1);
  assert.throws(() => csvRecords(''), BatchFormatError);
});

test('too many rows is a format error for the whole batch; values out of physical range are kept', () => {
  assert.throws(() => validateRecords([{}, {}, {}, {}], rules), /at most 3 rows/);
  const parsed = validateRecords([{ nodeId: 'n1', ts: NOW, pressure: 99 }], rules);
  assert.equal(parsed.valid[0]?.reading.values.pressure, 99);
});
