/**
 * `npm run schedule` / `cycle-now` through the real @google-cloud/scheduler client (REST transport)
 * pointed at a loopback stand-in for the Cloud Scheduler API: it asserts on what the client sent.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { OAuth2Client } from 'google-auth-library';
import { schedule } from '../../scripts/schedule.ts';

interface Received {
  method: string;
  path: string;
  body: unknown;
  authorization: string | undefined;
}

describe('npm run schedule', () => {
  const received: Received[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    received.push({
      method: req.method!,
      path: req.url!,
      body: text ? JSON.parse(text) : undefined,
      authorization: req.headers.authorization,
    });
    const name = /\/v1\/(projects\/[^:]+)/.exec(req.url!)?.[1];
    const state = /:pause(\?|$)/.test(req.url!) ? 'PAUSED' : 'ENABLED';
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ name, schedule: '*/30 * * * *', state }));
  });
  let port = 0;
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  const client = () => {
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 3_600_000 });
    return { apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient } as never;
  };

  for (const [command, verb] of [
    ['run', 'run'],
    ['pause', 'pause'],
    ['resume', 'resume'],
  ] as const) {
    test(`${command} posts :${verb} for the cycle job with the caller's token`, async () => {
      const lines: string[] = [];
      const code = await schedule([command, '--project', 'water-demo-1', '--region', 'europe-west1'], {
        client: client(),
        out: (l) => lines.push(l),
      });
      assert.equal(code, 0, lines.join('\n'));
      const last = received.at(-1)!;
      assert.equal(last.method, 'POST');
      assert.match(
        last.path,
        new RegExp(`^/v1/projects/water-demo-1/locations/europe-west1/jobs/wnm-cycle:${verb}(\\?|$)`),
      );
      assert.equal(last.authorization, 'Bearer test-token');
      assert.match(lines.join('\n'), command === 'pause' ? /PAUSED/ : /wnm-cycle/);
    });
  }

  test('another job by name; a bad command sends nothing', async () => {
    const before = received.length;
    assert.equal(
      await schedule(['stop', '--project', 'p1-demo', '--region', 'europe-west1'], { out: () => {} }),
      2,
    );
    assert.equal(received.length, before);
    await schedule(
      ['run', '--project', 'water-demo-1', '--region', 'europe-west1', '--job', 'wnm-maintenance'],
      {
        client: client(),
        out: () => {},
      },
    );
    assert.match(received.at(-1)!.path, /jobs\/wnm-maintenance:run/);
  });
});
