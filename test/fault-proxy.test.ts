/** The fault proxy itself, in front of a loopback echo server: each fault takes effect and is counted. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type FaultProxy, startFaultProxy } from '../dev/fault-proxy.ts';

/** Sends `text` and resolves with the echoed reply, or rejects with the socket's error or close. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.length >= text.length) {
        s.end();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
    s.write(text);
  });
}

const connected = async (port: number): Promise<Socket> => {
  const s = tcpConnect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
};

describe('fault proxy', () => {
  let echo: Server;
  let proxy: FaultProxy;

  before(async () => {
    echo = createServer((s) => {
      s.on('error', () => s.destroy());
      s.pipe(s);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    proxy = await startFaultProxy({ host: '127.0.0.1', port: (echo.address() as { port: number }).port });
  });
  after(async () => {
    await proxy?.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  test('passes bytes both ways', async () => {
    assert.equal(await roundTrip(proxy.port, 'hello'), 'hello');
    assert.ok(proxy.stats.accepted >= 1);
  });

  test('refuse(): new connections are reset and counted; heal() lets them through again', async () => {
    proxy.refuse();
    const before = proxy.stats.refused;
    await assert.rejects(roundTrip(proxy.port, 'x'), (err: NodeJS.ErrnoException) => {
      assert.ok(err.code === 'ECONNRESET' || /closed/.test(err.message), String(err));
      return true;
    });
    assert.equal(proxy.stats.refused, before + 1);
    proxy.heal();
    assert.equal(await roundTrip(proxy.port, 'again'), 'again');
  });

  test('cut(): live connections are destroyed mid-stream and counted', async () => {
    const s = await connected(proxy.port);
    let error: NodeJS.ErrnoException | undefined;
    s.on('error', (err) => {
      error = err;
    });
    const closed = new Promise((resolve) => s.on('close', resolve));
    // The proxy has registered the connection once it echoes.
    s.write('ping');
    await once(s, 'data');
    assert.equal(proxy.open, 1);
    const before = proxy.stats.cut;
    assert.equal(proxy.cut(), 1);
    await closed;
    assert.equal(error?.code, 'ECONNRESET', 'the client saw its connection reset');
    assert.equal(proxy.stats.cut, before + 1);
    assert.equal(proxy.open, 0);
  });

  test('latency(ms): the reply is held back at least that long, in order', async () => {
    proxy.latency(150);
    try {
      const t0 = Date.now();
      const text = 'a'.repeat(10_000);
      assert.equal(await roundTrip(proxy.port, text), text);
      // A lower bound only (the delay is a timer the proxy sets): never flaky.
      assert.ok(Date.now() - t0 >= 290, 'held back both ways');
      assert.ok(proxy.stats.delayed >= 2);
    } finally {
      proxy.heal();
    }
  });
});
