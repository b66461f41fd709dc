/**
 * What integration tests import to reach the real peers (PostgreSQL, Redis behind an Upstash REST
 * server, the Pub/Sub and Firestore emulators).
 *
 * Under `npm test` the global setup has started them once for the whole run. A test file run on
 * its own (`node --test test/x.test.ts`) starts the peers it asks for itself, in its process.
 *
 * @example
 *   const gate = await peerGate('postgres', 'redis');
 *   describe('cache store', gate, () => {
 *     let db: TestDatabase;
 *     before(async () => { db = await createTestDatabase(); });
 *     after(() => db.drop());
 *   });
 */
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import postgres from 'postgres';
import { createClient } from 'redis';
import { PEER_ENV, PEER_NAMES, type PeerName, startPeers } from './start-peers.ts';
import { startUpstashServer, type UpstashServer } from './upstash-server.ts';

export type { PeerName } from './start-peers.ts';
export type { UpstashServer } from './upstash-server.ts';

// Google client libraries otherwise probe for a GCE metadata server (slow, and a warning per file).
process.env['METADATA_SERVER_DETECTION'] ??= 'none';

const isCi = () => process.env['CI'] === 'true' || process.env['CI'] === '1';
const randomId = (bytes: number) => randomBytes(bytes).toString('hex');

const missing: Partial<Record<PeerName, string>> = {};
const settled = new Map<PeerName, Promise<void>>();

function readPublishedMissing(): void {
  const json = process.env[PEER_ENV.missing];
  if (json) Object.assign(missing, JSON.parse(json) as Partial<Record<PeerName, string>>);
}

/** Makes sure each named peer is either available or recorded as missing. */
async function settle(names: readonly PeerName[]): Promise<void> {
  if (process.env[PEER_ENV.ready]) {
    if (settled.size === 0) {
      readPublishedMissing();
      for (const name of PEER_NAMES) settled.set(name, Promise.resolve());
    }
    return;
  }
  const toStart = names.filter((name) => !settled.has(name));
  if (toStart.length > 0) {
    const starting = startPeers(toStart).then((peers) => {
      Object.assign(process.env, peers.env);
      Object.assign(missing, peers.missing);
    });
    for (const name of toStart) settled.set(name, starting);
  }
  await Promise.all(names.map((name) => settled.get(name)));
}

function missingMessage(names: readonly PeerName[]): string | undefined {
  const absent = names.filter((name) => missing[name] !== undefined);
  if (absent.length === 0) return undefined;
  const details = absent.map((name) => `${name}: ${missing[name]}`).join('; ');
  return `missing test peer${absent.length > 1 ? 's' : ''} ${absent.join(', ')} — ${details}`;
}

const warned = new Set<string>();
function warnLoudly(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.stderr.write(`\n!!! SKIPPING: ${message}\n!!! (with CI=true this fails instead)\n\n`);
}

/** Settles the peers; a message naming the missing ones (with how to start them), or undefined. */
async function whatIsMissing(names: readonly PeerName[]): Promise<string | undefined> {
  await settle(names);
  return missingMessage(names);
}

/**
 * Test options for a `describe` or `test` that needs these peers, awaited at the top of a test file:
 * `{}` when they are there, `{ skip: reason }` when one is missing. Under CI=true a missing peer
 * also registers a failing test naming it, so the run fails.
 */
export async function peerGate(...names: PeerName[]): Promise<{ skip?: string }> {
  const message = await whatIsMissing(names);
  if (message === undefined) return {};
  if (isCi()) {
    test(`required test peers: ${names.join(', ')}`, () => {
      throw new Error(`CI=true and ${message}`);
    });
  } else {
    warnLoudly(message);
  }
  return { skip: message };
}

/**
 * Inside a test (or a beforeEach hook): true when the peers are there. When one is missing, under
 * CI=true it throws (the test fails), otherwise it skips the test and returns false — return then.
 */
export async function requirePeers(t: TestContext, ...names: PeerName[]): Promise<boolean> {
  const message = await whatIsMissing(names);
  if (message === undefined) return true;
  if (isCi()) throw new Error(`CI=true and ${message}`);
  warnLoudly(message);
  t.skip(message);
  return false;
}

function published(name: PeerName, variable: string): string {
  const value = process.env[variable];
  if (value) return value;
  const reason = missing[name] ?? `not started: call \`await peerGate('${name}')\` first`;
  throw new Error(`test peer ${name} is unavailable: ${reason}`);
}

export interface TestDatabase {
  /** postgres:// URL of the fresh database. */
  url: string;
  /** A postgres.js client connected to it. */
  sql: postgres.Sql;
  /** Closes the client, ends every other connection to the database and drops it. */
  drop(): Promise<void>;
}

/** A fresh, empty database (`t_<random>`) on the PostgreSQL peer, for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  await settle(['postgres']);
  const adminUrl = published('postgres', PEER_ENV.databaseUrl);
  const name = `t_${randomId(6)}`;
  const admin = () => postgres(adminUrl, { max: 1, onnotice: () => {} });

  const creator = admin();
  try {
    await creator.unsafe(`create database ${name}`);
  } finally {
    await creator.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 4, onnotice: () => {} });
  let dropped = false;
  return {
    url: url.toString(),
    sql,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await sql.end({ timeout: 1 });
      const dropper = admin();
      try {
        // WITH (FORCE) terminates the connections still open (pools of the code under test).
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** The shared Upstash REST server in front of the Redis peer. Isolate keys with uniquePrefix(). */
export function upstashPeer(): { url: string; token: string } {
  return { url: published('redis', PEER_ENV.upstashUrl), token: published('redis', PEER_ENV.upstashToken) };
}

/** redis:// URL of the Redis peer itself. */
export function redisUrl(): string {
  return published('redis', PEER_ENV.redisUrl);
}

/**
 * A private Upstash REST server over the Redis peer, in this process, that the test can stop()
 * and start() again on the same port (to take "Redis" away from the code under test). close() it after.
 */
export async function createUpstashServer(): Promise<UpstashServer> {
  await settle(['redis']);
  return startUpstashServer({ redisUrl: redisUrl() });
}

/** A key prefix no other test file uses, e.g. `test:1a2b3c4d:`. */
export function uniquePrefix(): string {
  return `test:${randomId(4)}:`;
}

/** Deletes every Redis key starting with `prefix` (a test file's cleanup). Returns how many. */
export async function deleteKeysWithPrefix(prefix: string): Promise<number> {
  if (!/^[\w:.-]+$/.test(prefix)) throw new Error(`prefix ${JSON.stringify(prefix)} could match other keys`);
  const client = createClient({ url: redisUrl(), RESP: 2 });
  client.on('error', () => {});
  await client.connect();
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const reply = await client.scan(cursor, { MATCH: `${prefix}*`, COUNT: 1000 });
      cursor = reply.cursor;
      if (reply.keys.length > 0) deleted += await client.unlink(reply.keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.destroy();
  }
}

/** A Google Cloud project id of its own for one test file, so emulator state never collides. */
export function uniqueProjectId(): string {
  return `test-${randomId(5)}`;
}

/** host:port of the Pub/Sub emulator (pass as PUBSUB_EMULATOR_HOST or the client's apiEndpoint). */
export function pubsubEmulatorHost(): string {
  return published('pubsub', PEER_ENV.pubsubHost);
}

/** host:port of the Firestore emulator (pass as FIRESTORE_EMULATOR_HOST or the client's host). */
export function firestoreEmulatorHost(): string {
  return published('firestore', PEER_ENV.firestoreHost);
}

/** Deletes every document of a project in the Firestore emulator. */
export async function resetFirestore(projectId: string): Promise<void> {
  const url = `http://${firestoreEmulatorHost()}/emulator/v1/projects/${projectId}/databases/(default)/documents`;
  const res = await fetch(url, { method: 'DELETE' });
  if (!res.ok)
    throw new Error(`resetting Firestore project ${projectId}: HTTP ${res.status} ${await res.text()}`);
}
