/**
 * Everything a node's analytics read for one batch, in ONE statement (a node is processed ten
 * thousand times a cycle: every statement counts) — which is also the batch's first read: the node's
 * watermark, latest values and settled view state's day, its data-quality counters (the batch's buckets, the score windows,
 * the latest reading time counted), the history its anomaly detectors need
 * (5-minute partials of the recent past, hourly ones of past weeks for the seasonal baseline) and its
 * current anomalies. Heterogeneous rows travel as one union: partials in typed columns, counters (as
 * jsonb arrays) and anomalies as jsonb.
 *
 * A read model: the one read across tables other modules own, shaped as the aggregate step's port
 * declares it (`NodeStateSpec` and `NodeState` in cycle/aggregate/store.ts).
 */
import type { NodeState, NodeStateSpec } from '../../cycle/aggregate/store.ts';
import type { LatestBody } from '../../domain/payloads.ts';
import { ANOMALY_COLUMNS, type AnomalyRow, anomalyFromRow } from './anomalies.ts';
import type { Sql, TransactionSql } from './client.ts';
import { type NodeQuery, readMany } from './coalesce.ts';
import { fromPartitionOf, textsByPartitions } from './partitions.ts';
import { COUNTERS_DOC, countersFromDoc } from './quality.ts';

type Db = Sql | TransactionSql;

interface Row {
  r: 'w' | 'q5' | 'q1h' | 'q1d' | 'm' | 'b' | 'a';
  metric: number | null;
  ms: number | null;
  count: number | null;
  sum: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  last_ms: number | null;
  doc: unknown;
}

const iso = (t: number) => new Date(t).toISOString();
const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;
const NO_PARTIAL = `null::int2 as metric, null::int4 as count, null::float8 as sum, null::float8 as min,
  null::float8 as max, null::float8 as last, null::float8 as last_ms`;
// Buckets travel as timestamptz[] (ISO text): `bucket = any($n)` is then an index condition. One scan
// per table: a touched bucket inside the window comes once.
const quality = (tag: string, table: string, buckets: number, from: number) =>
  `select '${tag}'::text as r, ${ms('bucket')} as ms, ${NO_PARTIAL}, ${COUNTERS_DOC} as doc from ${table}
     where node_id = $1 and (bucket = any($${buckets}::timestamptz[]) or bucket >= $${from}::timestamptz)`;
const partial = (tag: string, table: string, where: string) =>
  `select '${tag}', ${ms('bucket')}, metric, count, sum, min, max, last, ${ms('last_ts')}, null::jsonb from ${table}
     where node_id = $1 and ${where}`;

/**
 * The statement for the partitions its partials fall in (`fromPartitionOf`): it runs on the batch's
 * generic plans, which would otherwise hold and lock every partition of agg_5m and agg_1h retention
 * keeps, pruned only when they run. One text per pair of partition starts.
 */
const statement = (from5m: string, from1h: string) => `
  select r, ms, metric, count, sum, min, max, last, last_ms, doc from (
    ${quality('q5', 'quality_5m', 2, 3)}
    union all ${quality('q1h', 'quality_1h', 4, 5)}
    union all ${quality('q1d', 'quality_1d', 6, 7)}
    union all ${partial('m', 'agg_5m', `metric = any($8::int2[]) and ${from5m} and bucket >= $9::timestamptz and bucket < $10::timestamptz`)}
    union all ${partial('b', 'agg_1h', `metric = any($11::int2[]) and ${from1h} and bucket = any($12::timestamptz[])`)}
    union all select 'w', null, ${NO_PARTIAL}, jsonb_build_object(
      'watermark', (select ${ms('ingested_to')} from node_watermarks where node_id = $1),
      'latest', (select jsonb_build_object('ms', ${ms('ts')}, 'body', body) from node_latest where node_id = $1),
      'viewDay', (select ${ms('day')} from node_view_state where node_id = $1),
      'counted', (select (body->>'latestTs')::float8 from node_quality where node_id = $1))
    union all select 'a', null, ${NO_PARTIAL}, to_jsonb(x) from (
      select ${ANOMALY_COLUMNS} from anomalies where node_id = $1 and subject = 'node'
        and (status <> 'resolved' or last_seen_at >= $13::timestamptz)) x
  ) s`;

const statementText = textsByPartitions(([from5m, from1h]) => statement(from5m!, from1h!));
function statementFor(h: NodeStateSpec['history']): string {
  // Without baseline hours the hourly scan reads nothing: any start will do.
  return statementText([
    fromPartitionOf('agg_5m', h.fromMs),
    fromPartitionOf('agg_1h', Math.min(h.fromMs, ...h.baselineHoursMs)),
  ]);
}

/** Each parameter's type, for the K-node form (coalesce.ts). */
const TYPES = [
  'text',
  'timestamptz[]',
  'timestamptz',
  'timestamptz[]',
  'timestamptz',
  'timestamptz[]',
  'timestamptz',
  'int2[]',
  'timestamptz',
  'timestamptz',
  'int2[]',
  'timestamptz[]',
  'timestamptz',
] as const;

/** A node's state read as a query (its text depends on the partitions it reads). */
export function nodeStateQuery(spec: NodeStateSpec): NodeQuery {
  const q = spec.quality;
  const h = spec.history;
  return {
    text: statementFor(h),
    params: [
      spec.nodeId,
      q.buckets.m5.map(iso),
      iso(q.windowFrom.m5),
      q.buckets.h1.map(iso),
      iso(q.windowFrom.h1),
      q.buckets.d1.map(iso),
      iso(q.windowFrom.d1),
      [...h.metrics],
      iso(h.fromMs),
      iso(h.toMs),
      [...h.baselineMetrics],
      h.baselineHoursMs.map(iso),
      iso(spec.anomaliesSinceMs),
    ],
    types: TYPES,
  };
}

export async function readNodeState(db: Db, spec: NodeStateSpec): Promise<NodeState> {
  const q = nodeStateQuery(spec);
  // Prepared: sent with the batch's other reads, no Parse/Describe round trip before it.
  return nodeStateOf(await db.unsafe<Row[]>(q.text, q.params as never[], { prepare: true }));
}

/** Several nodes' states, one statement per text (coalesce.ts), in the order given. */
export async function readNodeStates(db: Db, specs: readonly NodeStateSpec[]): Promise<NodeState[]> {
  return (await readMany<Row>(db, specs.map(nodeStateQuery))).map(nodeStateOf);
}

function nodeStateOf(rows: readonly Row[]): NodeState {
  const out: NodeState = {
    watermarkMs: null,
    latestMs: null,
    latest: null,
    viewDayMs: null,
    quality: { buckets: { m5: new Map(), h1: new Map(), d1: new Map() }, maxTs: null },
    fiveMinute: [],
    baseline: [],
    anomalies: [],
  };
  for (const r of rows) {
    switch (r.r) {
      case 'q5':
        out.quality.buckets.m5.set(r.ms!, countersFromDoc(r.doc));
        break;
      case 'q1h':
        out.quality.buckets.h1.set(r.ms!, countersFromDoc(r.doc));
        break;
      case 'q1d':
        out.quality.buckets.d1.set(r.ms!, countersFromDoc(r.doc));
        break;
      case 'w': {
        const w = r.doc as {
          watermark: number | null;
          latest: { ms: number; body: LatestBody } | null;
          viewDay: number | null;
          counted: number | null;
        };
        out.watermarkMs = w.watermark;
        out.latestMs = w.latest?.ms ?? null;
        out.latest = w.latest ? { tsMs: w.latest.ms, body: w.latest.body } : null;
        out.viewDayMs = w.viewDay;
        out.quality.maxTs = w.counted;
        break;
      }
      case 'a':
        out.anomalies.push(anomalyFromRow(r.doc as AnomalyRow));
        break;
      default:
        (r.r === 'm' ? out.fiveMinute : out.baseline).push({
          metric: r.metric!,
          bucketMs: r.ms!,
          count: r.count!,
          sum: r.sum!,
          sumSq: Number.NaN,
          min: r.min!,
          max: r.max!,
          first: Number.NaN,
          last: r.last!,
          lastTs: r.last_ms!,
        });
    }
  }
  out.anomalies.sort((a, b) => a.firstSeenMs - b.firstSeenMs || (a.id < b.id ? -1 : 1));
  return out;
}
