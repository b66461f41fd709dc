/**
 * The anomaly event stream against real peers: PostgreSQL (the event log), Redis behind the Upstash
 * protocol (the live channel, SUBSCRIBE over SSE), the API on a real HTTP server. An anomaly opened by
 * the cycle's store arrives on the stream; a client that disconnects and comes back with Last-Event-ID
 * gets exactly what it missed; another tenant's stream gets none of it; with the live channel taken
 * away the stream still catches up from the log; a client that stops reading is dropped.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { createLocalStack, type LocalStack } from '../../dev/local-stack.ts';
import {
  createTestDatabase,
  createUpstashServer,
  deleteKeysWithPrefix,
  peerGate,
  type TestDatabase,
  type UpstashServer,
  uniquePrefix,
} from '../../dev/peers/index.ts';
import { UpstashLiveChannel } from '../../shared/adapters/cache/live.ts';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import type { Anomaly } from '../../shared/anomaly/lifecycle.ts';
import { createApp } from '../../shared/api/app.ts';
import { createKey } from '../../shared/api/auth/keys.ts';
import { loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import { openSse, type SseClient } from '../lib/sse.ts';

const A = 'default';
const B = 'acme';

function anomaly(tenantId: string, id: string, districtId: string): Anomaly {
  const t = Date.UTC(2026, 5, 1);
  return {
    id,
    tenantId,
    nodeId: null,
    districtId,
    type: 'night_flow_leak',
    metric: null,
    status: 'open',
    severity: 'major',
    peakSeverity: 'major',
    startMs: t,
    firstSeenMs: t,
    lastSeenMs: t,
    openedAtMs: t,
    acknowledgedAtMs: null,
    acknowledgedBy: null,
    resolvedAtMs: null,
    resolvedBy: null,
    endMs: null,
    evidence: { mnfRiseLps: 2.5 },
    peakEvidence: { mnfRiseLps: 2.5 },
    note: null,
  };
}

describe('GET /api/v1/anomalies/stream', await peerGate('postgres', 'redis'), () => {
  let db: TestDatabase;
  let stack: LocalStack;
  let upstash: UpstashServer;
  let base: string;
  let server: Server;
  const tokens: Record<string, { reader: string; operator: string }> = {};
  const prefix = uniquePrefix();
  const logLines: string[] = [];

  const open = async (tenant: string, sessionAnomaly: string) => {
    await stack.storage.stores.rollup.writeDistrictTransitions(
      [{ kind: 'opened', anomaly: anomaly(tenant, sessionAnomaly, `${tenant}-d1`) }],
      new Map(),
    );
    await stack.aggregator.announceEvents?.(tenant);
  };
  const stream = (tenant: string, headers: Record<string, string> = {}) =>
    openSse(`${base}/api/v1/anomalies/stream`, {
      Authorization: `Bearer ${tokens[tenant]!.reader}`,
      ...headers,
    });
  const payload = (f: { data?: string }) =>
    JSON.parse(f.data ?? '{}') as { type: string; anomaly: { id: string; status: string } };
  const connected = (s: SseClient) => s.until('connected', (f) => f.some((x) => x.comment === 'connected'));

  before(async () => {
    db = await createTestDatabase();
    // A private Upstash server for the live channel, so a test can take it away.
    upstash = await createUpstashServer();
    const config = loadConfig({
      DATABASE_URL: db.url,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'error',
      BUS_BACKEND: 'memory',
      COORDINATION_BACKEND: 'memory',
    });
    stack = await createLocalStack(config);
    const keys = postgresKeyStore(stack.storage.sql);
    for (const tenant of [A, B]) {
      const reader = await createKey(keys, {
        tenantId: tenant,
        role: 'reader',
        name: 'r',
        rateLimitPerMinute: 10_000,
      });
      const operator = await createKey(keys, {
        tenantId: tenant,
        role: 'operator',
        name: 'o',
        rateLimitPerMinute: 10_000,
      });
      tokens[tenant] = { reader: reader.token, operator: operator.token };
    }
    const app = createApp({
      ...stack.api,
      logger: createLogger({ level: 'debug', sink: (line) => logLines.push(line) }),
      stream: { heartbeatMs: 300, pollMs: 400, pageSize: 50, writeTimeoutMs: 1000 },
    });
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await stack?.close();
    await upstash?.close();
    await db?.drop();
    await deleteKeysWithPrefix(prefix);
  });

  test('an opened anomaly arrives; Last-Event-ID resumes with exactly the missed events; tenants see only their own', async () => {
    const a = await stream(A);
    const b = await stream(B);
    assert.equal(a.status, 200);
    await Promise.all([connected(a), connected(b)]);

    await open(A, 'an-1');
    await a.until('an-1 opened', () => a.events().length >= 1);
    const first = a.events()[0]!;
    assert.equal(first.event, 'anomaly.opened');
    assert.equal(payload(first).anomaly.id, 'an-1');
    assert.equal(payload(first).anomaly.status, 'open');
    assert.match(first.id ?? '', /^\d+-\d+$/);

    // Disconnected: an operator acknowledges an-1, the cycle opens an-2, an operator resolves an-1.
    a.close();
    await a.closed;
    const op = { Authorization: `Bearer ${tokens[A]!.operator}`, 'Content-Type': 'application/json' };
    assert.equal(
      (await fetch(`${base}/api/v1/anomalies/an-1/acknowledge`, { method: 'POST', headers: op, body: '{}' }))
        .status,
      200,
    );
    await open(A, 'an-2');
    assert.equal(
      (await fetch(`${base}/api/v1/anomalies/an-1/resolve`, { method: 'POST', headers: op, body: '{}' }))
        .status,
      200,
    );

    const resumed = await stream(A, { 'Last-Event-ID': first.id! });
    await resumed.until('the three missed events', () => resumed.events().length >= 3);
    await open(A, 'an-3'); // a marker: the next event after the missed ones
    await resumed.until('the marker', () => resumed.events().length >= 4);
    assert.deepEqual(
      resumed.events().map((e) => [e.event, payload(e).anomaly.id]),
      [
        ['anomaly.acknowledged', 'an-1'],
        ['anomaly.opened', 'an-2'],
        ['anomaly.resolved', 'an-1'],
        ['anomaly.opened', 'an-3'],
      ],
    );
    const ids = resumed.events().map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'every event id is new');
    resumed.close();

    // B's stream saw nothing of A's; its own anomaly is its first event.
    await open(B, 'bn-1');
    await b.until('bn-1', () => b.events().length >= 1);
    assert.deepEqual(
      b.events().map((e) => payload(e).anomaly.id),
      ['bn-1'],
    );
    // Nor can B resume into A's log: the same position gives B only B's events after it.
    const bResumed = await stream(B, { 'Last-Event-ID': first.id! });
    await bResumed.until('bn-1 again', () => bResumed.events().length >= 1);
    assert.deepEqual(
      bResumed.events().map((e) => payload(e).anomaly.id),
      ['bn-1'],
    );
    bResumed.close();
    b.close();
  });

  test('heartbeats are comments; a bad Last-Event-ID is a 400 problem; no key is a 401', async () => {
    const s = await stream(A);
    await s.until('a heartbeat', (f) => f.some((x) => x.comment === 'heartbeat'));
    s.close();
    const bad = await fetch(`${base}/api/v1/anomalies/stream`, {
      headers: { Authorization: `Bearer ${tokens[A]!.reader}`, 'Last-Event-ID': 'not-a-position' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json');
    assert.equal((await fetch(`${base}/api/v1/anomalies/stream`)).status, 401);
  });

  test('with the live channel gone, the stream catches up from the log', async () => {
    const s = await stream(A);
    await connected(s);
    await upstash.stop();
    // The fault took effect: a notification cannot be published.
    const probe = new UpstashLiveChannel({ url: upstash.url, token: upstash.token, prefix });
    await assert.rejects(probe.notify(A));
    await stack.storage.stores.rollup.writeDistrictTransitions(
      [{ kind: 'opened', anomaly: anomaly(A, 'an-offline', `${A}-d1`) }],
      new Map(),
    );
    await s.until('an-offline from the log', () =>
      s.events().some((e) => payload(e).anomaly.id === 'an-offline'),
    );
    s.close();
    await upstash.start();
  });

  test('the live channel: every listener hears a notification, and listens again after its stream was cut', async () => {
    const heard: string[] = [];
    const listener = new UpstashLiveChannel({ url: upstash.url, token: upstash.token, prefix, pingMs: 200 });
    const publisher = new UpstashLiveChannel({ url: upstash.url, token: upstash.token, prefix });
    const stop = listener.listen((t) => heard.push(t));
    const hears = async (what: string) => {
      const deadline = Date.now() + 30_000;
      while (!heard.includes(what)) {
        if (Date.now() > deadline) throw new Error(`never heard ${what}`);
        await publisher.notify(what).catch(() => {});
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await hears('t-before');
      const subscriptions = listener.subscriptions;
      await upstash.stop(); // cuts the SUBSCRIBE stream
      await upstash.start();
      await hears('t-after');
      assert.ok(listener.subscriptions > subscriptions, 'it subscribed again');
    } finally {
      stop();
    }
  });

  test('the live channel: the streams of one instance share one subscription', async () => {
    const channel = new UpstashLiveChannel({ url: upstash.url, token: upstash.token, prefix });
    const publisher = new UpstashLiveChannel({ url: upstash.url, token: upstash.token, prefix });
    const heard: string[][] = [[], [], []];
    const stops = heard.map((h) => channel.listen((t) => h.push(t)));
    try {
      const deadline = Date.now() + 30_000;
      while (!heard.every((h) => h.includes('t-shared'))) {
        if (Date.now() > deadline) throw new Error(`not every listener heard: ${JSON.stringify(heard)}`);
        await publisher.notify('t-shared');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(channel.subscriptions, 1, 'three listeners, one SUBSCRIBE stream');
    } finally {
      for (const stop of stops) stop();
    }
    // The last listener gone, the subscription is closed; the next listener opens one again.
    const again: string[] = [];
    const stop = channel.listen((t) => again.push(t));
    try {
      const deadline = Date.now() + 30_000;
      while (!again.includes('t-again')) {
        if (Date.now() > deadline) throw new Error('the next listener never heard');
        await publisher.notify('t-again');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(channel.subscriptions, 2);
    } finally {
      stop();
    }
  });

  test('idle streams of a tenant share one look at the log head instead of a read each per poll', async () => {
    let reads = 0;
    let heads = 0;
    const real = stack.api.stores.events;
    // The real event log, counted (a decorator, not a stand-in).
    const events: typeof real = {
      read: (...a) => {
        reads++;
        return real.read(...a);
      },
      head: (...a) => {
        heads++;
        return real.head(...a);
      },
    };
    const counted = createApp({
      ...stack.api,
      stores: { ...stack.api.stores, events },
      logger: createLogger({ level: 'error' }),
      stream: { heartbeatMs: 300, pollMs: 200, pageSize: 50, writeTimeoutMs: 1000 },
    });
    const s2 = serve({ fetch: counted.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await new Promise<void>((resolve) => s2.once('listening', () => resolve()));
    const url = `http://127.0.0.1:${(s2.address() as AddressInfo).port}/api/v1/anomalies/stream`;
    const streams = await Promise.all(
      Array.from({ length: 10 }, () => openSse(url, { Authorization: `Bearer ${tokens[A]!.reader}` })),
    );
    try {
      await Promise.all(streams.map(connected));
      const heartbeats = (c: SseClient) => c.frames.filter((x) => x.comment === 'heartbeat').length;
      // Every stream's first read done; from here on they are idle (nothing is written to the log).
      await Promise.all(streams.map((c) => c.until('a heartbeat', () => heartbeats(c) >= 1)));
      const reads0 = reads;
      // Three more heartbeats each: at least 3 polls (200 ms) per stream, 30 or more in all.
      await Promise.all(streams.map((c) => c.until('3 heartbeats', () => heartbeats(c) >= 4)));
      assert.ok(reads - reads0 < 10, `${reads - reads0} log reads by 10 idle streams (one per poll: ≥ 30)`);
      assert.ok(heads > 0, 'the head was asked');
      // Still live: an event reaches every stream at once.
      await open(A, 'an-shared-head');
      for (const c of streams) {
        await c.until('an-shared-head', () =>
          c.events().some((e) => payload(e).anomaly.id === 'an-shared-head'),
        );
      }
    } finally {
      for (const c of streams) c.close();
      s2.closeAllConnections();
      await new Promise<void>((resolve) => s2.close(() => resolve()));
    }
  });

  test('a client that stops reading is dropped, not buffered for', async () => {
    const { port } = new URL(base);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `GET /api/v1/anomalies/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens[A]!.reader}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    socket.pause(); // never reads again
    // Far more events than socket buffers hold (fixtures written by the cycle's own store port): ~16 MB, where
    // the kernel may take ~4 MB on the sending side (tcp_wmem's maximum) besides the paused receiver's buffer —
    // 4 KB per event (~4 MB in all) was sometimes taken whole, and then no write ever waited.
    const big = { text: 'x'.repeat(16_000) };
    for (let batch = 0; batch < 10; batch++) {
      await stack.storage.stores.rollup.writeDistrictTransitions(
        Array.from({ length: 100 }, (_, i) => ({
          kind: 'opened' as const,
          anomaly: { ...anomaly(A, `slow-${batch}-${i}`, `${A}-d1`), evidence: big },
        })),
        new Map(),
      );
    }
    await stack.aggregator.announceEvents?.(A);
    const deadline = Date.now() + 60_000;
    while (!logLines.some((l) => l.includes('"api.stream_dropped"'))) {
      if (Date.now() > deadline) throw new Error('the slow client was never dropped');
      await new Promise((r) => setTimeout(r, 100));
    }
    socket.destroy();
  });
});
