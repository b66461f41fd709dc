/**
 * Dispatch: one cycle's read of everything new, fanned out as one message per node.
 *
 * Exactly-once rests on per-node ingestion watermarks in PostgreSQL (advanced by the aggregator in
 * the same transaction as the aggregates). The dispatcher reads ONE window for the whole cycle,
 * from the oldest node watermark to now, and gives each node the readings ingested after its own
 * watermark. A node that failed keeps its watermark, so its data is read again next cycle: the
 * watermark never passes data that was not applied.
 */
import { workKey } from '../../adapters/coordination/coordinator.ts';
import type { Reading } from '../../domain/readings.ts';
import type { DispatcherDeps } from '../deps.ts';
import { encodeNodeWork, type NodeWorkMessage, rollupMessage } from '../messages.ts';
import { closeStaleRuns } from './sweep.ts';

export interface DispatchOptions {
  /** End of this cycle's ingestion window (default: now). */
  nowMs?: number;
  /** Watermark for nodes seen for the first time (default: one cycle before now). */
  initialWatermarkMs?: number;
}

export interface DispatchResult {
  runId: string;
  windowFromMs: number;
  windowToMs: number;
  nodes: number;
  messages: number;
  readings: number;
  bytesProcessed: number;
}

/** Rough JSON size of one reading in a message, to split before Pub/Sub's 10 MB limit. */
const bytesPerReading = (metrics: number) => 40 + 12 * metrics;

/**
 * Splits a node's readings into parts by ingestion time, each part a contiguous ingestion window
 * (from, to] so the aggregator's watermark logic applies per part. Readings with the same
 * ingestion time never straddle two parts.
 */
export function splitByIngestion(
  readings: Reading[],
  fromMs: number,
  toMs: number,
  maxReadings: number,
): { fromMs: number; toMs: number; readings: Reading[] }[] {
  if (readings.length <= maxReadings) return [{ fromMs, toMs, readings }];
  const sorted = [...readings].sort((a, b) => a.ingestedAt - b.ingestedAt);
  const parts: { fromMs: number; toMs: number; readings: Reading[] }[] = [];
  let start = 0;
  let partFrom = fromMs;
  while (start < sorted.length) {
    let end = Math.min(sorted.length, start + maxReadings);
    while (end < sorted.length && sorted[end]!.ingestedAt === sorted[end - 1]!.ingestedAt) end += 1;
    const partTo = end === sorted.length ? toMs : sorted[end - 1]!.ingestedAt;
    parts.push({ fromMs: partFrom, toMs: partTo, readings: sorted.slice(start, end) });
    partFrom = partTo;
    start = end;
  }
  return parts;
}

export async function dispatchCycle(
  deps: DispatcherDeps,
  options: DispatchOptions = {},
): Promise<DispatchResult> {
  const { settings, source, bus, coordinator } = deps;
  const store = deps.stores.dispatch;
  const startedAtMs = Date.now();
  const nowMs = options.nowMs ?? startedAtMs;
  const tenantId = settings.tenantId;
  const runId = `${tenantId}:${new Date(nowMs).toISOString()}`;
  const log = deps.logger.child({ runId, tenantId });
  // Runs earlier cycles left open past the bound are closed first (they never block this one).
  await closeStaleRuns(deps, nowMs).catch((err) =>
    log.error('run sweep failed', { event: 'run.sweep_failed', err }),
  );

  // The registry: synced from sources that define their own network; BigQuery's lives in PostgreSQL.
  if (source.name !== 'bigquery') await store.upsertNetwork(await source.network());
  const network = await store.loadNetwork(tenantId);
  const watermarks = await store.ensureWatermarks(
    tenantId,
    options.initialWatermarkMs ?? nowMs - settings.cycleMs,
  );
  const windowFromMs = Math.min(nowMs, ...watermarks.values());

  const batch = await source.readIngested({
    fromIngestMs: windowFromMs,
    toIngestMs: nowMs,
    minTsMs: nowMs - settings.latenessHorizonMs,
  });

  const byNode = new Map<string, Reading[]>();
  for (const r of batch.readings) {
    if (r.ingestedAt <= (watermarks.get(r.nodeId) ?? Number.NEGATIVE_INFINITY)) continue;
    const list = byNode.get(r.nodeId);
    if (list) list.push(r);
    else byNode.set(r.nodeId, [r]);
  }
  const unknown = [...byNode.keys()].filter((id) => !watermarks.has(id));
  if (unknown.length > 0) {
    log.warn('readings for nodes not in the registry were skipped', {
      event: 'dispatch.unknown_nodes',
      nodes: unknown.slice(0, 20),
      count: unknown.length,
    });
  }

  const messages: NodeWorkMessage[] = [];
  for (const node of network.nodes) {
    const fromMs = watermarks.get(node.id) ?? windowFromMs;
    const readings = byNode.get(node.id) ?? [];
    const maxReadings = Math.max(
      1,
      Math.floor(settings.maxMessageBytes / bytesPerReading(node.metrics.length)),
    );
    const parts = splitByIngestion(readings, fromMs, nowMs, maxReadings);
    parts.forEach((p, part) => {
      messages.push(
        encodeNodeWork(
          {
            runId,
            tenantId,
            node: { ...node, metrics: [...node.metrics] },
            part,
            parts: parts.length,
            fromIngestMs: p.fromMs,
            toIngestMs: p.toMs,
          },
          p.readings,
        ),
      );
    });
  }

  const readings = messages.reduce((n, m) => n + m.ts.length, 0);
  const plan = {
    runId,
    tenantId,
    startedAtMs,
    windowFromMs,
    windowToMs: nowMs,
    workKeys: messages.map((m) => workKey(m.node.id, m.part)),
    readings,
    bytesProcessed: batch.bytesProcessed,
    source: source.name,
  };
  await store.insertRun({ ...plan, id: runId, nodesTotal: network.nodes.length });
  await coordinator.openRun(plan);
  log.info('run started', {
    event: 'run.started',
    nodes: network.nodes.length,
    messages: messages.length,
    readings,
    bytesProcessed: batch.bytesProcessed,
    windowFrom: new Date(windowFromMs).toISOString(),
    windowTo: new Date(nowMs).toISOString(),
  });

  const CHUNK = 1000;
  for (let i = 0; i < messages.length; i += CHUNK) {
    await bus.publish(
      settings.topics.nodeWork,
      messages.slice(i, i + CHUNK).map((m) => ({
        data: Buffer.from(JSON.stringify(m)),
        attributes: { kind: 'node', runId, nodeId: m.node.id, tenantId, part: String(m.part) },
      })),
    );
  }
  if (messages.length === 0) {
    await bus.publish(settings.topics.networkRollup, [rollupMessage(runId, tenantId)]);
  }
  return {
    runId,
    windowFromMs,
    windowToMs: nowMs,
    nodes: network.nodes.length,
    messages: messages.length,
    readings,
    bytesProcessed: batch.bytesProcessed,
  };
}
