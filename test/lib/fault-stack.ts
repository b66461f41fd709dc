/**
 * The cloud-shaped cycle with every peer behind its own fault proxy (dev/fault-proxy.ts): the real
 * dispatcher and aggregator code wired to PostgreSQL, the Upstash REST server, the Pub/Sub emulator
 * (OUR push subscriptions with retry and dead-letter policies, delivering to a loopback HTTP server
 * that hands each push to the aggregator) and the Firestore emulator (fan-in, model registry).
 *
 * Deliveries can be held at a gate, so a test can dispatch, put a fault in place, and then let the
 * aggregators run into it: the fault happens during the cycle, not before or after it.
 * The emulator hosts are read by the Google clients from the environment: one stack per process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PubSub } from '@google-cloud/pubsub';
import { type FaultProxy, startFaultProxy } from '../../dev/fault-proxy.ts';
import type { PubSubCloudEvent } from '../../shared/adapters/bus/bus.ts';
import { loadConfig } from '../../shared/config.ts';
import type { AggregatorDeps, DispatcherDeps } from '../../shared/cycle/deps.ts';
import { dispatchCycle } from '../../shared/cycle/dispatch/index.ts';
import { handleAggregatorEvent } from '../../shared/cycle/handlers.ts';
import type { Logger } from '../../shared/log.ts';
import {
  createBus,
  createCache,
  createCoordinator,
  createModelRegistry,
  createSource,
  cycleSettings,
  openStorage,
  type Storage,
} from '../../shared/wiring/cycle.ts';

export type Peer = 'postgres' | 'redis' | 'pubsub' | 'firestore';

export interface FaultStackOptions {
  projectId: string;
  databaseUrl: string;
  upstash: { url: string; token: string };
  pubsubHost: string;
  firestoreHost: string;
  prefix: string;
  settings: Record<string, string>;
  logger: Logger;
  maxDeliveryAttempts: number;
}

export interface Deliveries {
  /** Pushes received from the emulator. */
  received: number;
  /** Pushes answered with an error (so Pub/Sub redelivers): failed deliveries. */
  failed: number;
  /** Pushes being handled now. */
  inFlight: number;
}

export interface FaultStack {
  proxies: Record<Peer, FaultProxy>;
  storage: Storage;
  dispatcher: DispatcherDeps;
  aggregator: AggregatorDeps;
  deliveries: Deliveries;
  /** Deliveries wait (unanswered) until open() is called. */
  hold(): void;
  open(): void;
  dispatch(nowMs: number, initialWatermarkMs?: number): Promise<void>;
  close(): Promise<void>;
}

const hostPort = (hp: string) => {
  const [host, port] = hp.split(':');
  return { host: host!, port: Number(port) };
};

export async function startFaultStack(o: FaultStackOptions): Promise<FaultStack> {
  const db = new URL(o.databaseUrl);
  const upstash = new URL(o.upstash.url);
  const proxies: Record<Peer, FaultProxy> = {
    postgres: await startFaultProxy({ host: db.hostname, port: Number(db.port || 5432) }),
    redis: await startFaultProxy({ host: upstash.hostname, port: Number(upstash.port) }),
    pubsub: await startFaultProxy(hostPort(o.pubsubHost)),
    firestore: await startFaultProxy(hostPort(o.firestoreHost)),
  };
  db.hostname = proxies.postgres.host;
  db.port = String(proxies.postgres.port);
  upstash.hostname = proxies.redis.host;
  upstash.port = String(proxies.redis.port);
  // The Google clients read the emulator hosts from the environment.
  process.env.PUBSUB_EMULATOR_HOST = `${proxies.pubsub.host}:${proxies.pubsub.port}`;
  process.env.FIRESTORE_EMULATOR_HOST = `${proxies.firestore.host}:${proxies.firestore.port}`;
  const config = loadConfig({
    ...o.settings,
    GOOGLE_CLOUD_PROJECT: o.projectId,
    DATABASE_URL: db.toString(),
    UPSTASH_REDIS_REST_URL: upstash.toString().replace(/\/$/, ''),
    UPSTASH_REDIS_REST_TOKEN: o.upstash.token,
    REDIS_KEY_PREFIX: o.prefix,
    PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST,
    FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
  });
  const storage = await openStorage(config);
  const settings = cycleSettings(config);
  const bus = await createBus(config);
  const coordinator = await createCoordinator(config);
  const dispatcher: DispatcherDeps = {
    ...storage,
    source: await createSource(config, storage.sql),
    bus,
    coordinator,
    logger: o.logger.child({ function: 'dispatcher' }),
    settings,
  };
  const aggregator: AggregatorDeps = {
    ...storage,
    cache: await createCache(config),
    bus,
    coordinator,
    logger: o.logger.child({ function: 'aggregator' }),
    settings,
    models: await createModelRegistry(config, coordinator),
  };

  const deliveries: Deliveries = { received: 0, failed: 0, inFlight: 0 };
  let gate: Promise<void> | undefined;
  let release = () => {};
  const stack: FaultStack = {
    proxies,
    storage,
    dispatcher,
    aggregator,
    deliveries,
    hold() {
      gate = new Promise((r) => {
        release = r;
      });
    },
    open() {
      release();
      gate = undefined;
    },
    async dispatch(nowMs, initialWatermarkMs) {
      await dispatchCycle(dispatcher, { nowMs, initialWatermarkMs });
    },
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await pubsub.close();
      await coordinator.close();
      await storage.sql.end({ timeout: 5 });
      for (const p of Object.values(proxies)) await p.close();
    },
  };

  // The push endpoint: the body Pub/Sub posts, handed to the aggregator as the CloudEvent the
  // functions framework would build from it; an error answer makes Pub/Sub redeliver.
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      deliveries.received++;
      deliveries.inFlight++;
      try {
        if (gate) await gate;
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          message: NonNullable<PubSubCloudEvent['data']>['message'];
          deliveryAttempt?: number;
        };
        const topic = (req.url ?? '').split('/').pop();
        const event: PubSubCloudEvent = {
          specversion: '1.0',
          id: body.message.messageId,
          source: `//pubsub.googleapis.com/projects/${o.projectId}/topics/${topic}`,
          type: 'google.cloud.pubsub.topic.v1.messagePublished',
          data: {
            message: {
              ...body.message,
              ...(body.deliveryAttempt ? { deliveryAttempt: body.deliveryAttempt } : {}),
            },
          } as PubSubCloudEvent['data'],
        };
        await handleAggregatorEvent(aggregator, event);
        res.writeHead(204).end();
      } catch {
        deliveries.failed++;
        res.writeHead(500).end();
      } finally {
        deliveries.inFlight--;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/projects/${o.projectId}/topics`;

  // Topics and subscriptions (made through the healed proxy, before any fault).
  const pubsub = new PubSub({ projectId: o.projectId });
  const [dead] = await pubsub.createTopic(settings.topics.deadLetter);
  for (const topic of [settings.topics.nodeWork, settings.topics.networkRollup]) {
    const [t] = await pubsub.createTopic(topic);
    await t.createSubscription(`${topic}-push`, {
      pushConfig: { pushEndpoint: `${endpoint}/${topic}` },
      ackDeadlineSeconds: 60,
      retryPolicy: { minimumBackoff: { seconds: 0 }, maximumBackoff: { seconds: 1 } },
      deadLetterPolicy: { deadLetterTopic: dead.name, maxDeliveryAttempts: o.maxDeliveryAttempts },
    });
  }
  await dead.createSubscription(`${settings.topics.deadLetter}-push`, {
    pushConfig: { pushEndpoint: `${endpoint}/${settings.topics.deadLetter}` },
    ackDeadlineSeconds: 60,
  });
  return stack;
}
