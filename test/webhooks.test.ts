/**
 * Webhooks against real peers: subscriptions through the API (PostgreSQL), the webhooks function
 * behind a push subscription of the Pub/Sub emulator (retry policy, dead-letter policy, as Terraform
 * declares), and a local receiver (node:http) that checks every signature. A receiver failing twice
 * gets the event on try 3; one always failing is dead-lettered after WEBHOOK_MAX_ATTEMPTS; an admin
 * reads the log and replays; private, loopback, link-local, metadata, CGNAT, ULA and mapped-IPv6
 * targets are refused with the allow-list off, at subscription time and at delivery time.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PubSub } from '@google-cloud/pubsub';
import {
  createTestDatabase,
  peerGate,
  pubsubEmulatorHost,
  type TestDatabase,
  uniqueProjectId,
} from '../dev/peers/index.ts';
import { MemoryLiveChannel } from '../shared/adapters/cache/live.ts';
import { MemoryCache } from '../shared/adapters/cache/memory.ts';
import { postgresApiStores } from '../shared/adapters/postgres/api-stores.ts';
import { postgresWebhookWorkerStore } from '../shared/adapters/postgres/webhooks.ts';
import type { Anomaly } from '../shared/anomaly/lifecycle.ts';
import { createApp } from '../shared/api/app.ts';
import { createKey } from '../shared/api/auth/keys.ts';
import { loadConfig } from '../shared/config.ts';
import { silentLogger } from '../shared/log.ts';
import { SecretBox } from '../shared/webhooks/secrets.ts';
import { verify } from '../shared/webhooks/signing.ts';
import { deliver } from '../shared/webhooks/worker.ts';
import { openStorage, type Storage } from '../shared/wiring/cycle.ts';
import { waitFor } from './lib/cloud-stack.ts';

const A = 'default';
const B = 'acme';
const MAX_ATTEMPTS = 4;

interface Received {
  path: string;
  body: string;
  signature: string | undefined;
  webhookId: string | undefined;
}

function anomaly(tenantId: string, id: string): Anomaly {
  const t = Date.UTC(2026, 5, 1);
  return {
    id,
    tenantId,
    nodeId: null,
    districtId: `${tenantId}-d1`,
    type: 'burst',
    metric: null,
    status: 'open',
    severity: 'critical',
    peakSeverity: 'critical',
    startMs: t,
    firstSeenMs: t,
    lastSeenMs: t,
    openedAtMs: t,
    acknowledgedAtMs: null,
    acknowledgedBy: null,
    resolvedAtMs: null,
    resolvedBy: null,
    endMs: null,
    evidence: { dropBar: 1.2 },
    peakEvidence: { dropBar: 1.2 },
    note: null,
  };
}

describe('webhooks through the Pub/Sub emulator', await peerGate('postgres', 'pubsub'), () => {
  let db: TestDatabase;
  let storage: Storage;
  let receiver: Server;
  let fnServer: Server;
  let pubsub: PubSub;
  let receiverHost: string;
  const received: Received[] = [];
  const failures = new Map<string, number>(); // path → how many more 500s
  let downHealed = false;
  const projectId = uniqueProjectId();
  const topicName = `wnm-webhook-deliveries-${randomBytes(3).toString('hex')}`;
  const keyB64 = randomBytes(32).toString('base64');
  const admin: Record<string, string> = {};
  let app: ReturnType<typeof createApp>;
  let strictApp: ReturnType<typeof createApp>;

  const call = (a: typeof app, tenant: string, method: string, path: string, body?: unknown) =>
    a.request(`/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${admin[tenant]}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  before(async () => {
    db = await createTestDatabase();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        received.push({
          path,
          body: Buffer.concat(chunks).toString('utf8'),
          signature: req.headers['webhook-signature'] as string | undefined,
          webhookId: req.headers['webhook-id'] as string | undefined,
        });
        const left = failures.get(path) ?? 0;
        if (path === '/down' && !downHealed) {
          res.writeHead(500).end('down');
          return;
        }
        if (left > 0) {
          failures.set(path, left - 1);
          res.writeHead(500).end('not yet');
          return;
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverHost = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    const env = {
      DATABASE_URL: db.url,
      GOOGLE_CLOUD_PROJECT: projectId,
      PUBSUB_EMULATOR_HOST: pubsubEmulatorHost(),
      WEBHOOK_SECRET_KEY: keyB64,
      WEBHOOK_ALLOW_HOSTS: receiverHost,
      WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      WEBHOOK_TIMEOUT_MS: '5000',
      TOPIC_WEBHOOK_DELIVERIES: topicName,
      LOG_LEVEL: 'warning', // the worker's failed attempts and dead letters, in the test's output
      PG_POOL_MAX: '2',
    };
    storage = await openStorage(
      loadConfig({ ...env, BUS_BACKEND: 'memory', COORDINATION_BACKEND: 'memory' }),
    );
    Object.assign(process.env, env);
    await import('../functions/webhooks/index.ts');
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    fnServer = getTestServer('webhooks');
    await new Promise<void>((resolve) => fnServer.listen(0, '127.0.0.1', resolve));
    const fnPort = (fnServer.address() as AddressInfo).port;

    pubsub = new PubSub({ projectId });
    const [dead] = await pubsub.createTopic(`${topicName}-dead`);
    const [topic] = await pubsub.createTopic(topicName);
    const endpoint = (t: string) => `http://127.0.0.1:${fnPort}/projects/${projectId}/topics/${t}`;
    await topic.createSubscription(`${topicName}-push`, {
      pushConfig: { pushEndpoint: endpoint(topicName) },
      ackDeadlineSeconds: 30,
      retryPolicy: { minimumBackoff: { seconds: 0 }, maximumBackoff: { seconds: 1 } },
      deadLetterPolicy: { deadLetterTopic: dead.name, maxDeliveryAttempts: MAX_ATTEMPTS + 2 },
    });
    await dead.createSubscription(`${topicName}-dead-push`, {
      pushConfig: { pushEndpoint: endpoint(`${topicName}-dead`) },
      ackDeadlineSeconds: 30,
    });

    const stores = postgresApiStores(storage.sql);
    for (const tenant of [A, B]) {
      admin[tenant] = (
        await createKey(stores.keys, {
          tenantId: tenant,
          role: 'admin',
          name: 'a',
          rateLimitPerMinute: 10_000,
        })
      ).token;
    }
    const deps = {
      stores,
      cache: new MemoryCache(),
      logger: silentLogger,
      cacheTtlSeconds: 60,
      defaultTenantId: A,
      live: new MemoryLiveChannel(),
    };
    const box = new SecretBox(keyB64);
    app = createApp({ ...deps, webhooks: { box, policy: { allowHosts: new Set([receiverHost]) } } });
    strictApp = createApp({ ...deps, webhooks: { box, policy: { allowHosts: new Set() } } });
  });

  after(async () => {
    await new Promise<void>((resolve) => (fnServer ? fnServer.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    await pubsub?.close();
    await storage?.sql.end({ timeout: 1 });
    await db?.drop();
  });

  test('SSRF: private, loopback, link-local, metadata, CGNAT, ULA and mapped targets are refused (allow-list off)', async () => {
    for (const url of [
      `http://${receiverHost}/ok`,
      'https://127.0.0.1/hook',
      'https://10.0.0.8/hook',
      'https://192.168.0.1/hook',
      'https://172.20.0.1/hook',
      'https://169.254.169.254/computeMetadata/v1/',
      'https://metadata.google.internal/computeMetadata/v1/',
      'https://100.64.0.1/hook',
      'https://[::1]/hook',
      'https://[fd00:ec2::254]/hook',
      'https://[fe80::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://[::ffff:a9fe:a9fe]/hook',
      'https://localhost/hook',
      'https://0.0.0.0/hook',
    ]) {
      const res = await call(strictApp, A, 'POST', '/webhooks', { url });
      assert.equal(res.status, 400, url);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.match(((await res.json()) as { detail: string }).detail, /^url: /, url);
    }
    const list = (await (await call(strictApp, A, 'GET', '/webhooks')).json()) as { data: unknown[] };
    assert.deepEqual(list.data, []);
  });

  test('at delivery time a target is checked again (DNS rebinding): refused without the allow-list', async () => {
    const res = await call(app, A, 'POST', '/webhooks', { url: `https://${receiverHost}/rebound` });
    assert.equal(res.status, 201);
    const { subscription } = (await res.json()) as { subscription: { id: string } };
    await storage.stores.rollup.writeDistrictTransitions(
      [{ kind: 'opened', anomaly: anomaly(A, 'wa-2') }],
      new Map(),
    );
    const store = postgresWebhookWorkerStore(storage.sql);
    const worker = {
      store,
      bus: { name: 'memory' as const, publish: async () => [], close: async () => {} },
      box: new SecretBox(keyB64),
      policy: { allowHosts: new Set<string>() },
      topic: topicName,
      maxAttempts: 1,
      timeoutMs: 2000,
      logger: silentLogger,
    };
    const queued: string[] = [];
    // The event is readable once every transaction older than it has ended (the log's order rule).
    const row = await waitFor(
      'the delivery row',
      async () => {
        await store.fanout(
          (e) => JSON.stringify(e),
          async (ids) => void queued.push(...ids),
          100,
        );
        const [r] = await db.sql<{ id: string }[]>`
        select id from webhook_deliveries where subscription_id = ${subscription.id}`;
        return r;
      },
      180_000,
    );
    assert.ok(queued.includes(row.id));
    const before = received.length;
    assert.equal(await deliver(worker, row.id), 'dead');
    assert.equal(received.length, before, 'no request was made');
    const [d] = await db.sql<
      { last_error: string }[]
    >`select last_error from webhook_deliveries where id = ${row.id}`;
    assert.match(d!.last_error, /^refused target: 127\.0\.0\.1 is a loopback address/);
    assert.equal((await call(app, A, 'DELETE', `/webhooks/${subscription.id}`)).status, 204);
  });
  test('signed deliveries: retried with backoff until delivered, dead-lettered after N, replayed by an admin', async () => {
    const create = async (tenant: string, path: string, events?: string[]) => {
      const res = await call(app, tenant, 'POST', '/webhooks', {
        url: `http://${receiverHost}${path}`,
        ...(events ? { events } : {}),
      });
      assert.equal(res.status, 201);
      return (await res.json()) as { subscription: { id: string }; secret: string };
    };
    failures.set('/flaky', 2);
    const ok = await create(A, '/ok');
    const flaky = await create(A, '/flaky', ['opened']);
    const down = await create(A, '/down', ['opened']);
    const other = await create(B, '/b-ok');
    const secrets = new Map([
      ['/ok', ok.secret],
      ['/flaky', flaky.secret],
      ['/down', down.secret],
      ['/b-ok', other.secret],
    ]);
    // Secrets are shown once and stored sealed.
    const listed = await (await call(app, A, 'GET', '/webhooks')).text();
    assert.ok(!listed.includes(ok.secret));
    const stored = await db.sql<{ secret_enc: string }[]>`select secret_enc from webhook_subscriptions`;
    assert.ok(stored.every((r) => ![...secrets.values()].some((s) => r.secret_enc.includes(s))));

    await storage.stores.rollup.writeDistrictTransitions(
      [{ kind: 'opened', anomaly: anomaly(A, 'wa-1') }],
      new Map(),
    );
    await pubsub
      .topic(topicName)
      .publishMessage({ data: Buffer.from('{"kind":"fanout"}'), attributes: { kind: 'fanout' } });

    const deliveries = async (tenant: string, id: string) =>
      (
        (await (await call(app, tenant, 'GET', `/webhooks/${id}/deliveries`)).json()) as {
          data: {
            id: string;
            status: string;
            attempts: number;
            attemptLog: { statusCode: number | null }[];
          }[];
        }
      ).data;
    // Cloud Scheduler's minute tick, faster: an event becomes readable only once every transaction
    // older than it has ended (on a shared PostgreSQL, other databases' transactions too).
    const tick = () =>
      pubsub
        .topic(topicName)
        .publishMessage({ data: Buffer.from('{"kind":"fanout"}'), attributes: { kind: 'fanout' } });
    let lastTick = 0;
    // Within the test's own timeout, so that a delivery that never settles fails here, saying which one and
    // which transactions of the cluster were open (an open one holds back every newer event: see READABLE
    // in shared/adapters/postgres/anomaly-events.ts).
    const settled = (id: string, status: string) =>
      waitFor(
        `${id} ${status}`,
        async () => {
          const [d] = await deliveries(A, id);
          if (d?.status === status) return d;
          if (Date.now() - lastTick > 2000) {
            lastTick = Date.now();
            await tick();
          }
          return undefined;
        },
        90_000,
      ).catch(async (err: Error) => {
        const open = await db.sql`
          select pid, datname, state, xact_start, backend_xid::text, left(query, 80) as query
          from pg_stat_activity where backend_xid is not null and pid <> pg_backend_pid()`;
        const rows = await db.sql`select * from webhook_deliveries where subscription_id = ${id}`;
        throw new Error(`${err.message}; deliveries: ${JSON.stringify(rows)}; open: ${JSON.stringify(open)}`);
      });
    const okD = await settled(ok.subscription.id, 'delivered');
    const flakyD = await settled(flaky.subscription.id, 'delivered');
    const downD = await settled(down.subscription.id, 'dead');
    assert.equal(okD.attempts, 1);
    assert.deepEqual(
      flakyD.attemptLog.map((a) => a.statusCode),
      [500, 500, 204],
    );
    assert.equal(flakyD.attempts, 3);
    assert.equal(downD.attempts, MAX_ATTEMPTS);
    assert.deepEqual(
      downD.attemptLog.map((a) => a.statusCode),
      Array(MAX_ATTEMPTS).fill(500),
    );

    // Every request the receiver got is signed with its subscription's secret and carries the event.
    for (const r of received) {
      assert.ok(verify(secrets.get(r.path)!, r.body, r.signature), `signature of ${r.path}`);
      const body = JSON.parse(r.body) as { id: string; type: string; anomaly: { id: string } };
      assert.equal(body.type, 'anomaly.opened');
      assert.equal(body.anomaly.id, 'wa-1');
      assert.equal(r.webhookId, body.id);
    }
    assert.equal(received.filter((r) => r.path === '/b-ok').length, 0, "tenant B never gets A's events");

    // Another tenant can neither read nor replay A's log.
    assert.equal((await call(app, B, 'GET', `/webhooks/${down.subscription.id}/deliveries`)).status, 404);
    assert.equal(
      (await call(app, B, 'POST', `/webhooks/${down.subscription.id}/deliveries/${downD.id}/replay`)).status,
      404,
    );

    // The receiver is fixed; an admin replays the dead delivery; the next fan-out tick sends it.
    downHealed = true;
    const replay = await call(
      app,
      A,
      'POST',
      `/webhooks/${down.subscription.id}/deliveries/${downD.id}/replay`,
    );
    assert.equal(replay.status, 202);
    await pubsub
      .topic(topicName)
      .publishMessage({ data: Buffer.from('{"kind":"fanout"}'), attributes: { kind: 'fanout' } });
    const replayed = await settled(down.subscription.id, 'delivered');
    assert.equal(replayed.attempts, MAX_ATTEMPTS + 1);

    // Exactly once per subscription and event, whatever the fan-out ticks: no second delivery row.
    const rows = await db.sql<{ n: number }[]>`
      select count(*)::int as n from webhook_deliveries
      where subscription_id in (${ok.subscription.id}, ${flaky.subscription.id}, ${down.subscription.id})`;
    assert.equal(rows[0]!.n, 3);

    assert.equal((await call(app, A, 'DELETE', `/webhooks/${ok.subscription.id}`)).status, 204);
    const after = (await (await call(app, A, 'GET', '/webhooks')).json()) as { data: { id: string }[] };
    assert.ok(!after.data.some((s) => s.id === ok.subscription.id));
    assert.equal((await call(app, A, 'DELETE', `/webhooks/${ok.subscription.id}`)).status, 404);
  });
});
