import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTarget, guardedLookup, refusedAddress, TargetRefused } from './targets.ts';

const none = { allowHosts: new Set<string>() };
const resolvesTo =
  (...ips: string[]) =>
  async () =>
    ips;

test('private, loopback, link-local, metadata, CGNAT, ULA and mapped addresses are refused', () => {
  for (const ip of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '::1',
    '::',
    'fc00::1',
    'fd00:ec2::254',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    '2002:a00:1::',
  ]) {
    assert.notEqual(refusedAddress(ip), null, ip);
  }
  for (const ip of ['8.8.8.8', '2001:4860:4860::8888', '::ffff:8.8.8.8'])
    assert.equal(refusedAddress(ip), null, ip);
});

test('target URLs: https to public addresses only, names resolved, allow-list exempt', async () => {
  const refused = async (url: string, resolve = resolvesTo('8.8.8.8')) =>
    assert.rejects(checkTarget(url, none, resolve), TargetRefused, url);
  await refused('http://example.com/hook');
  await refused('https://127.0.0.1/hook');
  await refused('https://[::1]/hook');
  await refused('https://[::ffff:7f00:1]/hook');
  await refused('https://169.254.169.254/computeMetadata/v1/');
  await refused('https://metadata.google.internal/computeMetadata/v1/');
  await refused('https://localhost:8443/');
  await refused('https://user:pw@example.com/');
  await refused('not a url');
  await refused('https://rebind.example/', resolvesTo('8.8.8.8', '10.0.0.5'));
  await refused('https://cgnat.example/', resolvesTo('100.100.1.1'));
  await refused('https://ula.example/', resolvesTo('fd12:3456::1'));
  await refused('https://nx.example/', async () => {
    throw new Error('ENOTFOUND');
  });
  assert.equal(
    (await checkTarget('https://hooks.example.com/x', none, resolvesTo('93.184.216.34'))).host,
    'hooks.example.com',
  );
  const local = { allowHosts: new Set(['127.0.0.1:9999']) };
  assert.ok(await checkTarget('http://127.0.0.1:9999/hook', local));
  await assert.rejects(checkTarget('http://127.0.0.1:9998/hook', local), TargetRefused);
});

test('the socket resolver refuses a name that resolves to a private address at connect time', async () => {
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
    guardedLookup('localhost', {}, (e) => resolve(e)),
  );
  assert.equal(err?.code, 'EREFUSEDTARGET');
});
