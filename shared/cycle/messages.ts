/**
 * The messages of the cycle, validated with zod at the edge. A node's readings travel columnar
 * (one array per field) to keep messages small; non-finite numbers travel as strings ("NaN",
 * "Infinity") because JSON cannot carry them, so the aggregator can count them as invalid.
 */
import { z } from 'zod';
import { METRICS, type Metric, NODE_KINDS, type NodeInfo, type Reading } from '../domain/readings.ts';

const cell = z.union([z.number(), z.null(), z.enum(['NaN', 'Infinity', '-Infinity'])]);

export const nodeWorkSchema = z
  .object({
    v: z.literal(1),
    kind: z.literal('node'),
    runId: z.string().min(1).max(200),
    tenantId: z.string().min(1).max(63),
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
  })
  .refine(
    (m) => m.ing.length === m.ts.length && Object.values(m.values).every((c) => c?.length === m.ts.length),
    {
      message: 'every column must have as many entries as ts',
    },
  )
  .refine((m) => m.part < m.parts && m.fromIngestMs <= m.toIngestMs, {
    message: 'inconsistent part or window',
  });

export type NodeWorkMessage = z.infer<typeof nodeWorkSchema>;

export const rollupSchema = z.object({
  v: z.literal(1),
  kind: z.literal('rollup'),
  runId: z.string().min(1),
  tenantId: z.string().min(1),
});
export type RollupMessage = z.infer<typeof rollupSchema>;

export const cycleMessageSchema = z.union([nodeWorkSchema, rollupSchema]);

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
