/**
 * The API's test world: two tenants in one fresh database, each with its network processed by real
 * cycles of the local stack (simulator → dispatcher → bus → aggregator → PostgreSQL + Redis), and API
 * keys of every role. Anomalies, forecasts and water balances get extra rows here (next to what the
 * cycle itself stores) so every filter, state and period has something to find; quality counters are
 * added, computed from the simulator's readings by the domain code, only where the cycle stored none.
 */
import { createLocalStack, type LocalStack } from '../../dev/local-stack.ts';
import {
  createTestDatabase,
  createUpstashServer,
  deleteKeysWithPrefix,
  type TestDatabase,
  type UpstashServer,
  uniquePrefix,
  upstashPeer,
} from '../../dev/peers/index.ts';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import { writeQualityCounters } from '../../shared/adapters/postgres/quality.ts';
import { countQualityByBucket } from '../../shared/analytics/quality.ts';
import { ANOMALY_TYPES } from '../../shared/anomaly/types.ts';
import { createApp } from '../../shared/api/app.ts';
import { createKey, type Role } from '../../shared/api/auth/keys.ts';
import type { ApiDeps } from '../../shared/api/context.ts';
import type { ApiSettings } from '../../shared/api/settings.ts';
import { loadConfig } from '../../shared/config.ts';
import { HOUR_MS } from '../../shared/domain/aggregate.ts';
import type { Network } from '../../shared/domain/readings.ts';
import { createSimulator, createSimulatorSource } from '../../shared/simulator/index.ts';
import type { IngestWindow, ReadingSource } from '../../shared/sources/source.ts';

export const T0 = Date.UTC(2026, 2, 2);
export const END = T0 + 24 * HOUR_MS + 30 * 60_000;
export const MAIN = 'default';
export const OTHER = 'acme';
const SEVERITIES = ['warning', 'minor', 'major', 'critical'] as const;
const STATUSES = ['open', 'acknowledged', 'resolved', 'pending', 'open'] as const;

/** Another tenant's copy of a simulator: every node and district id prefixed, the tenant replaced. */
function tenantSource(inner: ReadingSource, tenantId: string, prefix: string): ReadingSource {
  const p = (id: string) => `${prefix}${id}`;
  return {
    name: 'simulator',
    async network(): Promise<Network> {
      const n = await inner.network();
      return {
        tenantId,
        districts: n.districts.map((d) => ({ ...d, id: p(d.id), tenantId })),
        nodes: n.nodes.map((x) => ({
          ...x,
          id: p(x.id),
          tenantId,
          districtId: x.districtId && p(x.districtId),
        })),
      };
    },
    async readIngested(window: IngestWindow) {
      const batch = await inner.readIngested(window);
      return { ...batch, readings: batch.readings.map((r) => ({ ...r, nodeId: p(r.nodeId) })) };
    },
  };
}

export type Tokens = Record<Role, string>;

export interface ApiWorld {
  db: TestDatabase;
  main: LocalStack;
  other: LocalStack;
  tokens: Tokens;
  otherTokens: Tokens;
  /** The private Upstash server, when asked for (stop() it to take Redis away). */
  upstash: UpstashServer | undefined;
  mainNodes: string[];
  otherNodes: string[];
  /** A fresh app (its own memory tier) over the main stack's dependencies. */
  app(settings?: Partial<ApiSettings>, overrides?: Partial<ApiDeps>): ReturnType<typeof createApp>;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** peer: the shared Upstash server; private: one this world can stop; none: in-process cache. */
  redis: 'peer' | 'private' | 'none';
  /** The main stack's clock for readings pushed through POST /readings (default Date.now). */
  ingestClock?: () => number;
}

export async function createApiWorld(options: WorldOptions): Promise<ApiWorld> {
  const db = await createTestDatabase();
  const prefix = uniquePrefix();
  const upstash = options.redis === 'private' ? await createUpstashServer() : undefined;
  const redisEnv =
    options.redis === 'none'
      ? {}
      : (() => {
          const { url, token } = upstash ?? upstashPeer();
          return { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token, REDIS_KEY_PREFIX: prefix };
        })();
  const env = (tenant: string, seed: number, nodes: number) =>
    loadConfig({
      DATABASE_URL: db.url,
      ...redisEnv,
      TENANT_ID: tenant,
      SIMULATOR_SEED: String(seed),
      SIMULATOR_NODES: String(nodes),
      LOG_LEVEL: 'error',
      BUS_BACKEND: 'memory',
      COORDINATION_BACKEND: 'memory',
      PG_POOL_MAX: '4',
    });
  const main = await createLocalStack(
    env(MAIN, 7, 14),
    undefined,
    options.ingestClock ? { ingestClock: options.ingestClock } : {},
  );
  const other = await createLocalStack(env(OTHER, 11, 8), undefined, {
    source: tenantSource(createSimulatorSource({ seed: 11, nodes: 8, tenantId: OTHER }), OTHER, 'acme-'),
  });

  for (const stack of [main, other]) {
    for (let t = T0 + 12 * HOUR_MS; t <= T0 + 24 * HOUR_MS; t += 12 * HOUR_MS) await stack.cycle(t, T0);
    await stack.cycle(END);
  }
  const ids = async (tenant: string) =>
    (await db.sql<{ id: string }[]>`select id from nodes where tenant_id = ${tenant} order by id`).map(
      (r) => r.id,
    );
  const mainNodes = await ids(MAIN);
  const otherNodes = await ids(OTHER);
  await insertAnalytics(db, MAIN, mainNodes, 60);
  await insertAnalytics(db, OTHER, otherNodes, 10);
  await insertQuality(db, mainNodes.slice(0, 4));

  const roleTokens = async (tenant: string): Promise<Tokens> => {
    const make = async (role: Role) =>
      (
        await createKey(postgresKeyStore(db.sql), {
          tenantId: tenant,
          role,
          name: `${role} test key`,
          rateLimitPerMinute: 100_000,
        })
      ).token;
    return { reader: await make('reader'), operator: await make('operator'), admin: await make('admin') };
  };
  const tokens = await roleTokens(MAIN);
  const otherTokens = await roleTokens(OTHER);

  return {
    db,
    main,
    other,
    tokens,
    otherTokens,
    upstash,
    mainNodes,
    otherNodes,
    app: (settings, overrides) => createApp({ ...main.api, settings, ...overrides }),
    async close() {
      await main.close();
      await other.close();
      await upstash?.close();
      await db.drop();
      if (options.redis !== 'none') await deleteKeysWithPrefix(prefix);
    },
  };
}

/** Anomalies (with ties on start time, for paging), forecasts and water balances of a tenant. */
async function insertAnalytics(db: TestDatabase, tenant: string, nodes: string[], anomalies: number) {
  const districts = (
    await db.sql<{ id: string }[]>`select id from districts where tenant_id = ${tenant} order by id`
  ).map((r) => r.id);
  for (let i = 0; i < anomalies; i++) {
    const node = nodes[i % nodes.length]!;
    const status = STATUSES[i % STATUSES.length]!;
    const started = new Date(END - (i % 20) * 30 * 60_000);
    await db.sql`
      insert into anomalies (id, tenant_id, node_id, district_id, type, metric, severity, status, started_at,
        last_seen_at, opened_at, acknowledged_at, resolved_at, evidence)
      values (${`an-${tenant}-${String(i).padStart(3, '0')}`}, ${tenant}, ${node}, ${node.replace(/-[a-z]+-\d+$/, '')},
        ${ANOMALY_TYPES[i % ANOMALY_TYPES.length]!}, 'flow', ${SEVERITIES[i % SEVERITIES.length]!}, ${status},
        ${started}, ${new Date(started.getTime() + HOUR_MS)},
        ${status === 'pending' ? null : started}, ${status === 'acknowledged' ? started : null},
        ${status === 'resolved' ? new Date(started.getTime() + 2 * HOUR_MS) : null},
        ${db.sql.json({ zScore: 4.2 + i })})
      on conflict do nothing`;
  }
  const horizon = new Date(END);
  const hours = 168;
  const series = (base: number) => Array.from({ length: hours }, (_, h) => base + Math.sin(h / 4));
  for (const [target, kind] of [
    [nodes[0]!, 'node'],
    [districts[0]!, 'district'],
  ] as const) {
    await db.sql`
      insert into predictions (tenant_id, target_id, target_kind, issued_at, model_id, horizon_start, body)
      values (${tenant}, ${target}, ${kind}, ${new Date(END - HOUR_MS)}, 'ensemble-v1', ${horizon},
        ${db.sql.json({
          unit: 'L/s',
          mean: series(10),
          lo80: series(8),
          hi80: series(12),
          lo95: series(6),
          hi95: series(14),
        })})
      on conflict do nothing`;
    await db.sql`
      insert into model_performance (target_id, model_id, evaluated_at, role, mae_day1, max_ae_day1, mae_days2to7)
      values (${target}, 'ensemble-v1', ${new Date(END)}, 'champion', 1.1, 3.4, 1.2)
      on conflict do nothing`;
  }
  for (const district of [...districts, '*']) {
    for (const [kind, labels] of [
      ['day', ['2026-03-01', '2026-03-02']],
      ['month', ['2026-02', '2026-03']],
    ] as const) {
      for (const label of labels) {
        await db.sql`
          insert into network_efficiency (tenant_id, district_id, period_kind, period_label, computed_at, body)
          values (${tenant}, ${district}, ${kind}, ${label}, ${new Date(END)},
            ${db.sql.json({ systemInputM3: 1000, nonRevenueWaterM3: 180, nrwPercent: 18, ili: 2.1, label })})
          on conflict do nothing`;
      }
    }
  }
}

/**
 * Quality counters per node and 5-minute bucket, from the simulator's readings of the last 6 hours,
 * where the cycle has not stored its own.
 */
async function insertQuality(db: TestDatabase, nodes: string[]) {
  const [stored] = await db.sql<{ n: number }[]>`select count(*)::int4 as n from quality_5m`;
  if ((stored?.n ?? 0) > 0) return;
  const sim = createSimulator({ seed: 7, nodes: 14 });
  const batch = sim.readIngested({
    fromIngestMs: END - 6 * HOUR_MS,
    toIngestMs: END,
    minTsMs: END - 6 * HOUR_MS,
  });
  for (const nodeId of nodes) {
    const info = sim.network().nodes.find((n) => n.id === nodeId)!;
    const readings = batch.readings.filter((r) => r.nodeId === nodeId);
    const m5 = countQualityByBucket(readings, { now: END, kind: info.kind });
    await writeQualityCounters(db.sql, nodeId, { m5, h1: new Map(), d1: new Map() });
  }
}

/** A request with an API key. */
export const withKey = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
});
