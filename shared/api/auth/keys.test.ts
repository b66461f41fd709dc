import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKey, hashSecret, parseKey, roleAtLeast, secretMatches } from './keys.ts';

test('generated keys parse back into their id and secret', () => {
  for (let i = 0; i < 200; i++) {
    const { id, secret, token } = generateKey();
    assert.match(token, /^wnm_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(parseKey(token), { id, secret });
  }
});

test('malformed keys do not parse', () => {
  const { token } = generateKey();
  for (const bad of [
    '',
    'wnm_',
    token.slice(0, -1),
    `${token}x`,
    token.replace('wnm_', 'wnx_'),
    token.toUpperCase(),
    ` ${token}`,
  ]) {
    assert.equal(parseKey(bad), null, bad);
  }
});

test('only the right secret matches the stored hash', () => {
  const { secret } = generateKey();
  const stored = hashSecret(secret);
  assert.equal(stored.length, 64);
  assert.ok(!stored.includes(secret));
  assert.ok(secretMatches(secret, stored));
  assert.ok(!secretMatches(generateKey().secret, stored));
  assert.ok(!secretMatches(secret, 'abc'));
});

test('roles are ordered: admin ⊇ operator ⊇ reader', () => {
  assert.ok(
    roleAtLeast('admin', 'operator') && roleAtLeast('operator', 'reader') && roleAtLeast('reader', 'reader'),
  );
  assert.ok(!roleAtLeast('reader', 'operator') && !roleAtLeast('operator', 'admin'));
});
