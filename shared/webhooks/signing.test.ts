import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SecretBox } from './secrets.ts';
import { newSecret, sign, verify } from './signing.ts';

test('a signature verifies with its secret and body only, within the tolerance', () => {
  const secret = newSecret();
  const body = '{"id":"evt_1"}';
  const now = 1_800_000_000_000;
  const header = sign(secret, body, now);
  assert.match(header, /^t=1800000000,v1=[0-9a-f]{64}$/);
  assert.ok(verify(secret, body, header, 300, now + 10_000));
  assert.ok(!verify(secret, `${body} `, header, 300, now));
  assert.ok(!verify(newSecret(), body, header, 300, now));
  assert.ok(!verify(secret, body, header, 300, now + 301_000));
  assert.ok(!verify(secret, body, undefined, 300, now));
  assert.ok(!verify(secret, body, 't=abc,v1=00', 300, now));
});

test('secrets are sealed, not stored plain, and open only under their key', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  const box = new SecretBox(key);
  const sealed = box.seal('whsec_abc');
  assert.ok(!sealed.includes('whsec_abc'));
  assert.equal(box.open(sealed), 'whsec_abc');
  assert.throws(() => new SecretBox(Buffer.alloc(32, 8).toString('base64')).open(sealed));
  assert.throws(() => new SecretBox('short'));
});
