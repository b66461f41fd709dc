/**
 * The messages of the cycle, validated with zod at the edge. A node's readings travel columnar
 * (one array per field) to keep messages small; non-finite numbers travel as strings ("NaN",
 * "Infinity") because JSON cannot carry them, so the aggregator can count them as invalid.
 */
import { z } from 'zod';
import { METRICS, type Metric, NODE_KINDS, type NodeInfo, type Reading } from '../domain/readings.ts';

const cell = z.union([z.number(), z.null(), z.enum(['NaN', 'Infinity', '-Infinity'])]);

/** One node batch (a part of a node's readings): the old single-node message's body, and each batch of a multi-node one. */
const nodeBatchFields = {
  node: z.object({
    id: z.string().min(1).max(200),
    tenantId: z.string(),
    districtId: z.string().nullable(),
    kind: z.enum(NODE_KINDS),
    name: z.string(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    metrics: z.array(z.enum(METRICS)),
  }),
  part: z.number().int().min(0),
  parts: z.number().int().min(1),
  /** The batch holds every reading of this node ingested in (fromIngestMs, toIngestMs]. */
  fromIngestMs: z.number(),
  toIngestMs: z.number(),
  ts: z.array(z.number()),
  ing: z.array(z.number()),
  values: z.partialRecord(z.enum(METRICS), z.array(cell)),
};

type BatchShape = {
  ts: number[];
  ing: number[];
  values: Partial<Record<Metric, unknown[]>>;
  part: number;
  parts: number;
  fromIngestMs: number;
  toIngestMs: number;
};
const columnsAligned = (m: BatchShape) =>
  m.ing.length === m.ts.length && Object.values(m.values).every((c) => c?.length === m.ts.length);
const windowConsistent = (m: BatchShape) => m.part < m.parts && m.fromIngestMs <= m.toIngestMs;
const COLUMNS = { message: 'every column must have as many entries as ts' };
const WINDOW = { message: 'inconsistent part or window' };

/** The single-node message (one node batch per message): what dispatchers before multi-node messages published. */
export const nodeWorkSchema = z
  .object({
    v: z.literal(1),
    kind: z.literal('node'),
    runId: z.string().min(1).max(200),
    tenantId: z.string().min(1).max(63),
    ...nodeBatchFields,
  })
  .refine(columnsAligned, COLUMNS)
  .refine(windowConsistent, WINDOW);

export type NodeWorkMessage = z.infer<typeof nodeWorkSchema>;

/** Most node batches one multi-node message carries (the dispatcher's NODES_PER_MESSAGE is at most this). */
export const MAX_NODES_PER_MESSAGE = 256;

/**
 * Several node batches in one message (`NODES_PER_MESSAGE`): the aggregator applies them in one
 * transaction. Each batch is checked as a single-node message is; one bad batch makes the whole
 * message poison (nothing of it can be trusted), and no node may appear twice (a work key is one batch).
 */
export const nodesWorkSchema = z
  .object({
    v: z.literal(1),
    kind: z.literal('nodes'),
    runId: z.string().min(1).max(200),
    tenantId: z.string().min(1).max(63),
    batches: z
      .array(z.object(nodeBatchFields).refine(columnsAligned, COLUMNS).refine(windowConsistent, WINDOW))
      .min(1)
      .max(MAX_NODES_PER_MESSAGE),
  })
  .refine((m) => new Set(m.batches.map((b) => b.node.id)).size === m.batches.length, {
    message: 'a node appears twice',
  });

export type NodesWorkMessage = z.infer<typeof nodesWorkSchema>;

/** A multi-node message's batches as single-node messages (what the aggregate step applies). */
export const nodeBatchesOf = (m: NodesWorkMessage): NodeWorkMessage[] =>
  m.batches.map((b) => ({ v: 1, kind: 'node', runId: m.runId, tenantId: m.tenantId, ...b }));

/** Several single-node messages of one run as one multi-node message. */
export function packNodeWork(messages: readonly NodeWorkMessage[]): NodesWorkMessage {
  const first = messages[0];
  if (!first) throw new Error('packNodeWork: no messages');
  return {
    v: 1,
    kind: 'nodes',
    runId: first.runId,
    tenantId: first.tenantId,
    batches: messages.map(({ v: _v, kind: _kind, runId: _runId, tenantId: _tenantId, ...batch }) => batch),
  };
}

/**
 * The run and the work items a message names, read leniently from a dead-lettered message's data (a
 * poison one fails the schema): what is needed to record its items as failed. Null when it names none.
 */
export function workItemsOf(
  data: unknown,
): { runId: string; tenantId: string; items: { nodeId: string; part: number }[] } | null {
  const m = data as { runId?: unknown; tenantId?: unknown; batches?: unknown } | null;
  if (!m || typeof m.runId !== 'string' || typeof m.tenantId !== 'string' || !Array.isArray(m.batches))
    return null;
  const items: { nodeId: string; part: number }[] = [];
  for (const b of m.batches as { node?: { id?: unknown }; part?: unknown }[]) {
    const nodeId = b?.node?.id;
    if (typeof nodeId !== 'string' || nodeId === '') continue;
    items.push({ nodeId, part: typeof b.part === 'number' && Number.isInteger(b.part) ? b.part : 0 });
  }
  return items.length > 0 ? { runId: m.runId, tenantId: m.tenantId, items } : null;
}

export const rollupSchema = z.object({
  v: z.literal(1),
  kind: z.literal('rollup'),
  runId: z.string().min(1),
  tenantId: z.string().min(1),
});
export type RollupMessage = z.infer<typeof rollupSchema>;

export const cycleMessageSchema = z.union([nodeWorkSchema, nodesWorkSchema, rollupSchema]);

/** The rollup of a run as the bus carries it (published by the finisher, or by dispatch when a run has no work). */
export function rollupMessage(runId: string, tenantId: string) {
  const body: RollupMessage = { v: 1, kind: 'rollup', runId, tenantId };
  return { data: Buffer.from(JSON.stringify(body)), attributes: { kind: 'rollup', runId, tenantId } };
}

const encodeCell = (v: number | null | undefined): number | null | 'NaN' | 'Infinity' | '-Infinity' => {
  if (v === undefined || v === null) return null;
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return 'Infinity';
  if (v === Number.NEGATIVE_INFINITY) return '-Infinity';
  return v;
};
const decodeCell = (v: z.infer<typeof cell> | undefined): number | null => {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return v;
  return Number(v);
};

export function encodeNodeWork(
  base: Omit<NodeWorkMessage, 'ts' | 'ing' | 'values' | 'v' | 'kind'>,
  readings: Reading[],
): NodeWorkMessage {
  const values: Partial<Record<Metric, (number | null | 'NaN' | 'Infinity' | '-Infinity')[]>> = {};
  for (const metric of base.node.metrics) values[metric] = readings.map((r) => encodeCell(r.values[metric]));
  // Metrics a node is not registered for are still carried, so nothing is silently lost.
  for (const r of readings) {
    for (const metric of Object.keys(r.values) as Metric[]) {
      if (!values[metric]) values[metric] = readings.map((x) => encodeCell(x.values[metric]));
    }
  }
  return {
    v: 1,
    kind: 'node',
    ...base,
    ts: readings.map((r) => r.ts),
    ing: readings.map((r) => r.ingestedAt),
    values,
  };
}

export function decodeReadings(m: NodeWorkMessage): Reading[] {
  const metrics = Object.keys(m.values) as Metric[];
  const columns = metrics.map((metric) => m.values[metric]!);
  return m.ts.map((ts, i) => {
    const values: Reading['values'] = {};
    // Indexed loops: destructuring each entry per reading allocated an iterator per value.
    for (let c = 0; c < metrics.length; c++) {
      const v = decodeCell(columns[c]![i]);
      if (v !== null) values[metrics[c]!] = v;
    }
    return { nodeId: m.node.id, ts, ingestedAt: m.ing[i]!, values };
  });
}

export const nodeInfoOf = (m: NodeWorkMessage): NodeInfo => m.node;
