/**
 * Runs generated L-Town readings through the real cycle and reads back the anomalies it opened.
 *
 * The network model is imported first (leak localisation's candidates, as `npm run network:import` does).
 * The local stack (dev/local-stack.ts: dispatcher, aggregator and rollup on the in-process bus, PostgreSQL)
 * reads them from an LTownSource. The warm-up (five weeks before the evaluated span: the baselines need four
 * weeks, the night-flow reference 28 nights) goes through the bulk backfill, as `npm start` fills history;
 * the evaluated span through ordinary cycles, one every `stepMs` (each judges every 30-minute instant in it,
 * as a cycle after an outage does). The anomalies are read through the API's store, as `/anomalies` lists them.
 */
import { createLocalStack } from '../../dev/local-stack.ts';
import { importNetwork } from '../../scripts/network-import/import.ts';
import { connect } from '../../shared/adapters/postgres/client.ts';
import type { AnomalyPayload } from '../../shared/anomaly/listed.ts';
import { loadConfig } from '../../shared/config.ts';
import { bulkBackfill } from '../../shared/cycle/backfill/index.ts';
import { createLogger } from '../../shared/log.ts';
import type { GeneratedReadings } from './generate.ts';
import { LTownSource } from './source.ts';

export const TENANT = 'ltown';

export interface CycleRunOptions {
  databaseUrl: string;
  readings: GeneratedReadings;
  /** Start of the evaluated span; readings before it are warm-up history. */
  evalFromMs: number;
  evalToMs: number;
  stepMs?: number;
  onProgress?: (doneMs: number, totalMs: number) => void;
  /** Every this many cycles, the anomalies so far are handed to `onCheckpoint` (a long run stopped early still scores). */
  checkpointRuns?: number;
  onCheckpoint?: (anomalies: AnomalyPayload[], toMs: number) => Promise<void>;
  /**
   * The hydraulic model imported for leak localisation once the registry exists (`npm run network:import`'s
   * code): our pressure points P-<node> mapped to the model's nodes, pressure-driven demand as generated.
   */
  networkInp?: string;
}

export interface CycleRunResult {
  anomalies: AnomalyPayload[];
  runs: number;
  readings: number;
}

/** Every anomaly of the tenant, as `/anomalies` lists them (all statuses). */
async function listAnomalies(stack: Awaited<ReturnType<typeof createLocalStack>>): Promise<AnomalyPayload[]> {
  const anomalies: AnomalyPayload[] = [];
  let after: readonly [number, string] | null = null;
  const statuses = ['open', 'acknowledged', 'resolved'];
  for (;;) {
    const page = await stack.api.stores.anomalies.list(TENANT, { statuses }, 1000, after);
    for (const { startedUs: _key, ...a } of page) anomalies.push(a);
    if (page.length < 1000) break;
    const last = page[page.length - 1]!;
    after = [last.startedUs, last.id];
  }
  return anomalies;
}

export async function runThroughCycle(options: CycleRunOptions): Promise<CycleRunResult> {
  const stepMs = options.stepMs ?? 6 * 3_600_000;
  const config = loadConfig({
    DATABASE_URL: options.databaseUrl,
    TENANT_ID: TENANT,
    LOG_LEVEL: 'error',
    BUS_BACKEND: 'memory',
    COORDINATION_BACKEND: 'memory',
    PG_POOL_MAX: '4',
  });
  const source = new LTownSource(options.readings, TENANT);
  const stack = await createLocalStack(config, createLogger({ level: 'error' }), { source });
  const startMs = options.readings.startMs;
  let runs = 0;
  let readings = 0;
  try {
    // The registry first (an empty cycle at the start), then the warm-up in bulk, then a cycle at its end.
    await stack.cycle(startMs, startMs);
    if (options.networkInp) {
      const sql = connect(options.databaseUrl, { max: 1 });
      try {
        await importNetwork(sql, {
          inpText: options.networkInp,
          tenantId: TENANT,
          idPattern: 'P-{node}',
          pressureDriven: { minM: 0, requiredM: 25 },
        });
      } finally {
        await sql.end();
      }
    }
    await bulkBackfill(
      { ...stack.storage, source, settings: stack.dispatcher.settings },
      { fromMs: startMs, toMs: options.evalFromMs },
    );
    await stack.cycle(options.evalFromMs, startMs);
    const total = options.evalToMs - options.evalFromMs;
    for (let t = options.evalFromMs + stepMs; t <= options.evalToMs; t += stepMs) {
      const r = await stack.cycle(t, startMs);
      runs++;
      readings += r.readings;
      options.onProgress?.(t - options.evalFromMs, total);
      if (options.onCheckpoint && options.checkpointRuns && runs % options.checkpointRuns === 0) {
        await options.onCheckpoint(await listAnomalies(stack), t);
      }
    }
    const anomalies = await listAnomalies(stack);
    return { anomalies, runs, readings };
  } finally {
    await stack.close();
  }
}
