/**
 * /status: is the pipeline running and is the data fresh — recent runs, freshness, the health of each
 * cache tier, the forecast models, bytes processed. It always answers: tier health is probed live
 * (through each tier's breaker: a tier skipped for its cool-down reports down at once), and the
 * PostgreSQL part comes through the tiers (marked stale while PostgreSQL is down).
 *
 * The top level tells the truth in one place: `stale` is true when the data is stale for any reason
 * (served from memory while PostgreSQL is down, older than STALE_AFTER_MS — `freshness.stale` — or
 * unknown), and `status` is `ok` only with every tier up and fresh data, `down` with PostgreSQL and
 * the hot cache both down, `degraded` otherwise.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { answerKeys, keys } from '../../domain/keys.ts';
import { ROLES } from '../auth/keys.ts';
import { TierOpen } from '../breakers.ts';
import type { RouteDeps } from '../context.ts';
import { newRouter } from '../router.ts';
import { errorResponses, plainOk } from '../schemas.ts';
import type { ApiStores } from '../stores.ts';
import { TiersUnavailable } from '../tiers.ts';

const PROBE_TIMEOUT_MS = 2000;
/** Data older than this is called stale: two 30-minute cycles and some slack. */
const STALE_AFTER_MS = 75 * 60_000;

const Probe = z.object({ ok: z.boolean(), latencyMs: z.number().nullable(), error: z.string().optional() });

const Status = z
  .object({
    status: z.enum(['ok', 'degraded', 'down']),
    tiers: z.object({
      memory: z.object({ ok: z.boolean(), entries: z.number(), bytes: z.number(), maxBytes: z.number() }),
      hot: Probe.extend({ kind: z.enum(['upstash', 'memory']) }),
      postgres: Probe,
    }),
    stale: z.boolean().openapi({
      description:
        'The data is stale: older than two cycles (freshness.stale), unknown, or served from memory while PostgreSQL is down',
    }),
    freshness: z
      .object({
        lastRunAt: z.string().nullable(),
        lastRunStatus: z.string().nullable(),
        latestReadingAt: z.string().nullable(),
        dataAgeSeconds: z.number().nullable(),
        stale: z.boolean(),
      })
      .nullable(),
    bytesProcessed: z.object({ lastRun: z.number(), last24h: z.number() }).nullable(),
    models: z
      .array(
        z.object({
          role: z.string(),
          models: z.number(),
          meanMaeDay1: z.number().nullable(),
          meanMaxAeDay1: z.number().nullable(),
          meanMaeDays2to7: z.number().nullable(),
          lastEvaluatedAt: z.string().nullable(),
        }),
      )
      .nullable(),
    forecasts: z
      .object({
        targets: z
          .number()
          .openapi({ description: 'Forecast targets with a forecast (district inlets and districts)' }),
        champion: z.number().openapi({ description: 'Served by their trained champion' }),
        fallback: z
          .number()
          .openapi({ description: 'Served by a simpler model: their history is too short' }),
        items: z.array(
          z.object({
            targetId: z.string(),
            targetKind: z.enum(['node', 'district']),
            modelId: z.string(),
            servedBy: z.enum(['champion', 'fallback']),
            historyHours: z
              .number()
              .nullable()
              .openapi({ description: 'Hours of data the model was fitted on' }),
            note: z.string().nullable(),
            trainedAt: z.string().nullable(),
            horizonStart: z.string(),
          }),
        ),
      })
      .nullable()
      .openapi({ description: 'Which model serves each forecast target, and on how much history' }),
    runs: z.array(z.record(z.string(), z.unknown())).nullable(),
    caller: z
      .object({ tenantId: z.string(), role: z.enum(ROLES), keyId: z.string(), name: z.string() })
      .openapi({ description: 'The key that asked: its tenant and role (what a client may offer its user)' }),
    api: z
      .object({
        since: z.string().openapi({ description: 'When this API instance started counting' }),
        requests: z.number().int(),
        latencyMs: z.object({
          p50: z.number().nullable(),
          p95: z.number().nullable(),
          p99: z.number().nullable(),
          max: z.number().nullable(),
        }),
        byTier: z.record(z.string(), z.number().int()),
        hitRatio: z.record(z.string(), z.number().nullable()),
      })
      .nullable()
      .openapi({
        description:
          "This instance's /api requests since it started: latency percentiles (server side, 1 % accuracy) and the data reads each tier answered (memory, redis, postgres), with each tier's share",
      }),
  })
  .openapi('Status');

const route = createRoute({
  method: 'get',
  path: '/',
  operationId: 'getStatus',
  tags: ['status'],
  summary: 'Pipeline and API status',
  responses: {
    200: plainOk('Status', { 'application/json': { schema: Status } }),
    ...errorResponses,
  },
});

async function probe(fn: () => Promise<unknown>): Promise<z.infer<typeof Probe>> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), PROBE_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, latencyMs: Math.round((performance.now() - t0) * 100) / 100 };
  } catch (err) {
    if (err instanceof TierOpen)
      return { ok: false, latencyMs: null, error: 'down (skipped for its cool-down)' };
    return { ok: false, latencyMs: null, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

async function statusData(stores: ApiStores, tenantId: string) {
  const runs = await stores.runs.recent(tenantId, 10);
  const latestMs = await stores.serving.latestReadingMs(tenantId);
  const day = await stores.runs.bytesProcessedLastDay(tenantId);
  const models = await stores.predictions.scoresByRole(tenantId);
  const serving = await stores.predictions.servingModels(tenantId);
  const lastRun = runs[0] ?? null;
  return {
    freshness: {
      lastRunAt: lastRun?.finishedAt ?? lastRun?.startedAt ?? null,
      lastRunStatus: lastRun?.status ?? null,
      latestReadingAt: latestMs === null ? null : new Date(latestMs).toISOString(),
      dataAgeSeconds: latestMs === null ? null : Math.round((Date.now() - latestMs) / 1000),
      stale: latestMs === null || Date.now() - latestMs > STALE_AFTER_MS,
    },
    bytesProcessed: { lastRun: lastRun?.bytesProcessed ?? 0, last24h: day },
    models: models.map((m) => ({
      role: m.role,
      models: m.models,
      meanMaeDay1: m.meanMaeDay1,
      meanMaxAeDay1: m.meanMaxAeDay1,
      meanMaeDays2to7: m.meanMaeDays2to7,
      lastEvaluatedAt: m.lastEvaluatedAt?.toISOString() ?? null,
    })),
    forecasts: {
      targets: serving.length,
      champion: serving.filter((s) => s.servedBy === 'champion').length,
      fallback: serving.filter((s) => s.servedBy === 'fallback').length,
      items: serving,
    },
    runs,
  };
}

export function statusRoutes(deps: RouteDeps) {
  const { stores, reader } = deps;
  const app = newRouter();
  app.openapi(route, async (c) => {
    const tenantId = c.get('tenantId');
    const principal = c.get('principal');
    // Probed live on every request (never cached): the answer must say what is down right now.
    const { breakers } = reader;
    const [postgres, hot] = await Promise.all([
      probe(() => breakers.postgres.execute(() => stores.health.ping())),
      probe(() => breakers.redis.execute(() => deps.hot.getRaw(keys.lastRun(tenantId)))),
    ]);
    let data: Awaited<ReturnType<typeof statusData>> | null = null;
    let servedStale = false;
    try {
      const value = await reader.read({
        key: answerKeys.status(tenantId),
        // Fresh for 5 s only: it reports on now, yet frequent pollers must not each reach PostgreSQL.
        freshMs: 5000,
        revalidateMs: 0,
        load: () => statusData(stores, tenantId),
      });
      if (value) {
        data = JSON.parse(value.entry.body);
        servedStale = value.stale;
      }
    } catch (err) {
      if (!(err instanceof TiersUnavailable)) throw err;
    }
    const memory = reader.memoryStats;
    const stale = servedStale || (data?.freshness.stale ?? true);
    const status = !postgres.ok && !hot.ok ? 'down' : postgres.ok && hot.ok && !stale ? 'ok' : 'degraded';
    c.header('Cache-Control', 'no-store');
    return c.json(
      {
        status,
        tiers: { memory: { ok: true, ...memory }, hot: { kind: deps.hot.name, ...hot }, postgres },
        stale,
        freshness: data?.freshness ?? null,
        bytesProcessed: data?.bytesProcessed ?? null,
        models: data?.models ?? null,
        forecasts: data?.forecasts ?? null,
        runs: (data?.runs as unknown as Record<string, unknown>[] | undefined) ?? null,
        caller: {
          tenantId,
          role: principal.role,
          keyId: principal.keyId,
          name: principal.name,
        },
        api: deps.requestStats?.figures() ?? null,
      },
      200,
    );
  });
  return app;
}
