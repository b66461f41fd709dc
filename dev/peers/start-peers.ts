/**
 * Finds or starts the real peers the integration tests talk to, and says how to reach them through
 * environment variables. Used once per run by the global setup, or by a test file run on its own.
 */
import postgres from 'postgres';
import { type EmulatorName, type EmulatorProcess, probeEmulator, startEmulator } from './processes.ts';
import { startUpstashServer, type UpstashServer } from './upstash-server.ts';

export const PEER_NAMES = ['postgres', 'redis', 'pubsub', 'firestore'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

/** The variables the harness publishes to test processes. */
export const PEER_ENV = {
  /** Set once the peers are settled: helpers then read the variables below instead of starting peers. */
  ready: 'TEST_PEERS_READY',
  /** JSON object: missing peer name → why it is missing. */
  missing: 'TEST_PEERS_MISSING',
  databaseUrl: 'TEST_DATABASE_URL',
  redisUrl: 'TEST_REDIS_URL',
  upstashUrl: 'TEST_UPSTASH_URL',
  upstashToken: 'TEST_UPSTASH_TOKEN',
  // Not the standard PUBSUB_/FIRESTORE_EMULATOR_HOST: those switch the app's configuration to the
  // emulators, and only tests that ask for an emulator should get that.
  pubsubHost: 'TEST_PUBSUB_EMULATOR_HOST',
  firestoreHost: 'TEST_FIRESTORE_EMULATOR_HOST',
} as const;

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const HINTS: Record<PeerName, string> = {
  postgres: 'start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  redis:
    'start it with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no ' +
    '--dir /var/lib/redis --logfile /var/log/redis/ci.log',
  pubsub: 'needs the Google Cloud SDK pubsub-emulator component and Java 17',
  firestore: 'needs the Google Cloud SDK cloud-firestore-emulator component and Java 17',
};

export interface StartedPeers {
  env: Record<string, string>;
  missing: Partial<Record<PeerName, string>>;
  /** Stops what this call started (never peers it merely found). */
  stop(): Promise<void>;
}

function describeError(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(describeError).join('; ');
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

async function probePostgres(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Starts (or finds) the given peers in parallel; a peer that cannot be had is reported, not thrown. */
export async function startPeers(
  names: readonly PeerName[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<StartedPeers> {
  const published: Record<string, string> = {};
  const missing: Partial<Record<PeerName, string>> = {};
  const emulators: EmulatorProcess[] = [];
  let upstash: UpstashServer | undefined;

  const emulatorHost = async (name: EmulatorName, presetVar: string): Promise<string> => {
    const preset = env[presetVar];
    if (preset) {
      await probeEmulator(name, preset);
      return preset;
    }
    const emulator = await startEmulator(name);
    emulators.push(emulator);
    return emulator.host;
  };

  const starters: Record<PeerName, () => Promise<void>> = {
    postgres: async () => {
      const url = env[PEER_ENV.databaseUrl] || DEFAULT_DATABASE_URL;
      await probePostgres(url).catch((error: unknown) => {
        throw new Error(`not reachable at ${url}: ${describeError(error)}`);
      });
      published[PEER_ENV.databaseUrl] = url;
    },
    redis: async () => {
      const url = env[PEER_ENV.redisUrl] || DEFAULT_REDIS_URL;
      upstash = await startUpstashServer({ redisUrl: url }).catch((error: unknown) => {
        throw new Error(`not reachable at ${url}: ${describeError(error)}`);
      });
      published[PEER_ENV.redisUrl] = url;
      published[PEER_ENV.upstashUrl] = upstash.url;
      published[PEER_ENV.upstashToken] = upstash.token;
    },
    pubsub: async () => {
      published[PEER_ENV.pubsubHost] = await emulatorHost('pubsub', 'PUBSUB_EMULATOR_HOST');
    },
    firestore: async () => {
      published[PEER_ENV.firestoreHost] = await emulatorHost('firestore', 'FIRESTORE_EMULATOR_HOST');
    },
  };

  const outcomes = await Promise.allSettled(names.map((name) => starters[name]()));
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'rejected') {
      const name = names[i]!;
      missing[name] = `${describeError(outcome.reason)} (${HINTS[name]})`;
    }
  });

  return {
    env: published,
    missing,
    // Emulators are also killed when this process ends (see processes.ts).
    stop: async () => {
      for (const emulator of emulators) emulator.kill();
      await upstash?.close();
    },
  };
}

/** One line per peer, for the start of a test run. */
export function describePeers(peers: StartedPeers, names: readonly PeerName[]): string {
  const where: Record<PeerName, string | undefined> = {
    postgres: peers.env[PEER_ENV.databaseUrl],
    redis:
      peers.env[PEER_ENV.redisUrl] && `${peers.env[PEER_ENV.redisUrl]} via ${peers.env[PEER_ENV.upstashUrl]}`,
    pubsub: peers.env[PEER_ENV.pubsubHost],
    firestore: peers.env[PEER_ENV.firestoreHost],
  };
  return names
    .map((name) => {
      const reason = peers.missing[name];
      return reason ? `  ${name}: MISSING — ${reason}` : `  ${name}: ${where[name]}`;
    })
    .join('\n');
}
