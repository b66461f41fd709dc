import assert from 'node:assert/strict';
import domain from 'node:domain';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { RequestScope, restoreRequestDomains, withoutRequestDomains } from './request-domains.ts';

// What the function saw of domains while it ran.
const seen: { active: unknown }[] = [];
let domainsRun = 0;
const run = domain.Domain.prototype.run;

ff.cloudEvent('probe', async (event: ff.CloudEvent<{ fail?: boolean }>) => {
  await Promise.resolve();
  seen.push({ active: (process as { domain?: unknown }).domain ?? null });
  if (event.data?.fail) throw new Error('the function failed');
});

let server: Server;
let url: string;
before(async () => {
  withoutRequestDomains();
  // A real Domain's run() is what turns the domain module's async hook on for the whole process.
  domain.Domain.prototype.run = function (this: domain.Domain, ...args: Parameters<typeof run>) {
    domainsRun++;
    return run.apply(this, args);
  } as typeof run;
  server = getTestServer('probe');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(async () => {
  domain.Domain.prototype.run = run;
  restoreRequestDomains();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const post = (data: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': '//pubsub.googleapis.com/projects/p/topics/t',
      'ce-id': `id-${seen.length}`,
    },
    body: JSON.stringify(data),
  });

test('the framework runs requests without a Domain, and still acks a success and fails a rejection', async () => {
  assert.ok(domain.create() instanceof RequestScope);
  const ok = await post({});
  assert.ok(ok.ok, `a success is a 2xx (Pub/Sub acks), got ${ok.status}`);
  const failed = await post({ fail: true });
  assert.equal(failed.status, 500, 'a rejection is a 500 (Pub/Sub redelivers)');
  assert.equal(seen.length, 2);
  assert.ok(seen.every((s) => s.active === null));
  assert.equal(domainsRun, 0, 'no Domain ran a request');
});

test('restored, the framework uses real domains again (what the check above would see)', async () => {
  restoreRequestDomains();
  try {
    const ok = await post({});
    assert.ok(ok.ok);
    assert.ok(domainsRun > 0);
  } finally {
    withoutRequestDomains();
  }
});
