/**
 * Dispatch: one cycle's read of everything new, fanned out as node batches (one per node, or per part
 * of a node with too much data), several per message (NODES_PER_MESSAGE).
 *
 * Exactly-once rests on per-node ingestion watermarks in PostgreSQL (advanced by the aggregator in
 * the same transaction as the aggregates). The dispatcher reads ONE window for the whole cycle,
 * from the oldest node watermark to now, and gives each node the readings ingested after its own
 * watermark. A node that failed keeps its watermark, so its data is read again next cycle: the
 * watermark never passes data that was not applied.
 */
import type { OutgoingMessage } from '../../adapters/bus/bus.ts';
import { workKey } from '../../adapters/coordination/coordinator.ts';
import type { Reading } from '../../domain/readings.ts';
import type { DispatcherDeps } from '../deps.ts';
import {
  encodeNodeWork,
  MAX_NODES_PER_MESSAGE,
  type NodeWorkMessage,
  packNodeWork,
  rollupMessage,
} from '../messages.ts';
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
  /** Node batches (work items: one per node part). */
  messages: number;
  /** Pub/Sub messages published (up to NODES_PER_MESSAGE node batches each). */
  published: number;
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

/**
 * The node batches grouped into the messages published: up to `perMessage` batches each, cut before
 * their estimated size passes `maxBytes` (the same estimate that splits a node's readings into parts).
 * A node split into several parts sends each part alone: its parts must be applied one after the other,
 * never in one transaction. A group of one goes as the single-node message.
 */
export function packMessages(
  messages: readonly NodeWorkMessage[],
  perMessage: number,
  maxBytes: number,
): NodeWorkMessage[][] {
  const limit = Math.max(1, Math.min(MAX_NODES_PER_MESSAGE, Math.floor(perMessage)));
  const groups: NodeWorkMessage[][] = [];
  let group: NodeWorkMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (m.parts > 1) {
      groups.push([m]);
      continue;
    }
    const size = m.ts.length * bytesPerReading(Object.keys(m.values).length) + 500;
    if (group.length > 0 && (group.length >= limit || bytes + size > maxBytes)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(m);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
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
  const published = packMessages(messages, settings.nodesPerMessage ?? 1, settings.maxMessageBytes);
  log.info('run started', {
    event: 'run.started',
    nodes: network.nodes.length,
    messages: messages.length,
    published: published.length,
    readings,
    bytesProcessed: batch.bytesProcessed,
    windowFrom: new Date(windowFromMs).toISOString(),
    windowTo: new Date(nowMs).toISOString(),
  });

  const CHUNK = 1000;
  for (let i = 0; i < published.length; i += CHUNK) {
    await bus.publish(
      settings.topics.nodeWork,
      published.slice(i, i + CHUNK).map((group): OutgoingMessage => {
        const m = group[0]!;
        if (group.length === 1) {
          return {
            data: Buffer.from(JSON.stringify(m)),
            attributes: { kind: 'node', runId, nodeId: m.node.id, tenantId, part: String(m.part) },
          };
        }
        // The nodes are in the data only (attributes hold 1 KB): a dead letter reads them from there.
        return {
          data: Buffer.from(JSON.stringify(packNodeWork(group))),
          attributes: { kind: 'nodes', runId, tenantId, nodes: String(group.length) },
        };
      }),
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
    published: published.length,
    readings,
    bytesProcessed: batch.bytesProcessed,
  };
}
