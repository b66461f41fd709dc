import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePosition, encodePosition, isBefore } from './events.ts';

test('positions round-trip and order by transaction, then id', () => {
  const p = { tx: '18446744073709551615', id: 42 };
  assert.deepEqual(decodePosition(encodePosition(p)), p);
  assert.ok(isBefore({ tx: '9', id: 100 }, { tx: '10', id: 1 }));
  assert.ok(isBefore({ tx: '10', id: 1 }, { tx: '10', id: 2 }));
  assert.ok(!isBefore({ tx: '10', id: 2 }, { tx: '10', id: 2 }));
});

test('anything else is not a position', () => {
  for (const bad of [
    '',
    '12',
    'a-1',
    '1-',
    '-1',
    '1-2-3',
    '18446744073709551616-1',
    '1-99999999999999999999',
  ]) {
    assert.equal(decodePosition(bad), null, bad);
  }
});
