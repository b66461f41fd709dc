/**
 * An HTTP function's tracing starts once its first response has been sent, not at import: the cold
 * start answers its first request without waiting for (or competing with) the OpenTelemetry SDK.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { loadConfig } from '../config.ts';
import { stopTracing } from '../telemetry/tracing.ts';
import { tracingAfterFirstResponse } from './telemetry.ts';

after(() => stopTracing());

test('tracing starts after the first response has been sent, not before', async () => {
  const events: string[] = [];
  const served = tracingAfterFirstResponse(
    loadConfig({ TRACING: 'off', LOG_LEVEL: 'error' }),
    'api',
    (_req, res) => {
      events.push('answered');
      res.end('ok');
    },
  );
  const started = served.tracing.then(() => events.push('tracing started'));
  // Nothing starts it before a request: the import does not wait for it.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(events, []);

  const server = createServer(served.listener).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const body = await new Promise<string>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  await started;
  server.close();
  assert.equal(body, 'ok');
  assert.deepEqual(events, ['answered', 'tracing started']);
});
