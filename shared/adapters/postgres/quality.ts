/**
 * Data-quality counters in PostgreSQL: mergeable counters per node and 5-minute bucket (quality_5m,
 * what the API reads), rolled up per hour and per day (quality_1h, quality_1d) so a node's 24-hour and
 * 7-day scores read a few dozen rows, and the node's latest scores (node_quality). Everything a batch
 * needs is one read and one write, inside the batch's transaction.
 */
import { emptyQuality, type FlatRuns, type QualityCounters } from '../../analytics/quality.ts';
import type { QualityBuckets, QualityResolution } from '../../cycle/aggregate/store.ts';
import type { NodeQualityRow } from '../../cycle/rollup/store.ts';
import type { Metric } from '../../domain/readings.ts';
import { numberArray, textArray } from './array-literal.ts';
import type { WritePart } from './batch-write.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

export const QUALITY_TABLES = {
  m5: 'quality_5m',
  h1: 'quality_1h',
  d1: 'quality_1d',
} as const satisfies Record<QualityResolution, string>;
const RESOLUTIONS = Object.keys(QUALITY_TABLES) as QualityResolution[];

/**
 * QualityCounters as table columns (migration 4): one typed column per counter, and the flat runs as a
 * compact jsonb of arrays ({ flow: [n, firstValue, firstRun, lastValue, lastRun, flat] }). A row is less
 * than half the size of the counters as one jsonb document, and the counters are written ten times per
 * node and batch: the write-ahead log and PostgreSQL's CPU follow the bytes.
 */
const COUNT_COLUMNS = [
  ['received', 'received'],
  ['present', 'present'],
  ['valid', 'valid'],
  ['invalid', 'invalid'],
  ['future', 'future'],
  ['nan', 'nan'],
  ['outOfRange', 'out_of_range'],
  ['duplicates', 'duplicates'],
  ['outOfOrder', 'out_of_order'],
] as const satisfies ReadonlyArray<readonly [keyof QualityCounters, string]>;

/** The columns a write fills, each with the array type it travels in and how it is stored. */
const WRITE_COLUMNS: ReadonlyArray<{
  column: string;
  array: string;
  store: (v: string) => string;
  value: (c: QualityCounters) => unknown;
  /** The column's values as one array-literal parameter (array-literal.ts). */
  literal: (values: never[]) => string;
}> = [
  ...COUNT_COLUMNS.map(([field, column]) => ({
    column,
    array: 'int4[]',
    store: (v: string) => v,
    value: (c: QualityCounters) => c[field],
    literal: numberArray,
  })),
  {
    column: 'min_ts',
    array: 'float8[]',
    store: (v) => `to_timestamp(${v} / 1000.0)`,
    value: (c) => c.minTs,
    literal: numberArray,
  },
  {
    column: 'max_ts',
    array: 'float8[]',
    store: (v) => `to_timestamp(${v} / 1000.0)`,
    value: (c) => c.maxTs,
    literal: numberArray,
  },
  {
    column: 'ingest_delay_sum_ms',
    array: 'float8[]',
    store: (v) => v,
    value: (c) => c.ingestDelaySumMs,
    literal: numberArray,
  },
  {
    column: 'flatline_max_run',
    array: 'int2[]',
    store: (v) => v,
    value: (c) => c.flatlineMaxRun,
    literal: numberArray,
  },
  {
    column: 'flat',
    array: 'text[]',
    store: (v) => `${v}::jsonb`,
    value: (c) => JSON.stringify(encodeFlat(c.flat)),
    literal: textArray,
  },
];

type FlatDoc = Record<string, [number, number | null, number, number | null, number, number]>;

function encodeFlat(flat: QualityCounters['flat']): FlatDoc {
  const doc: FlatDoc = {};
  for (const [m, r] of Object.entries(flat) as Array<[string, FlatRuns]>)
    doc[m] = [r.n, r.firstValue, r.firstRun, r.lastValue, r.lastRun, r.flat];
  return doc;
}

/**
 * A quality table row's counters as one jsonb array, for reads that bring them with other rows (the
 * node-state union) or alone (the API): `countersFromDoc` turns it back into QualityCounters.
 */
export const COUNTERS_DOC = `jsonb_build_array(${[
  ...COUNT_COLUMNS.map(([, column]) => column),
  '(extract(epoch from min_ts) * 1000)::float8',
  '(extract(epoch from max_ts) * 1000)::float8',
  'ingest_delay_sum_ms',
  'flatline_max_run',
  'flat',
].join(', ')})`;

export function countersFromDoc(doc: unknown): QualityCounters {
  const d = doc as [...number[], FlatDoc];
  const n = COUNT_COLUMNS.length;
  const c = emptyQuality(d[n + 3] as number);
  COUNT_COLUMNS.forEach(([field], i) => {
    c[field] = d[i] as number;
  });
  c.minTs = d[n] as number | null;
  c.maxTs = d[n + 1] as number | null;
  c.ingestDelaySumMs = d[n + 2] as number;
  for (const [m, r] of Object.entries(d[n + 4] as FlatDoc)) {
    c.flat[m as Metric] = {
      n: r[0],
      firstValue: r[1],
      firstRun: r[2],
      lastValue: r[3],
      lastRun: r[4],
      flat: r[5],
    };
  }
  return c;
}

/**
 * The upserts of the counters of every resolution (one insert each, for a CTE): node = $base, then per
 * resolution its buckets and one array per column (`counterParams`).
 */
const counterUpserts = (base: number) =>
  RESOLUTIONS.map((res, r) => {
    const first = base + 1 + r * (1 + WRITE_COLUMNS.length);
    const names = WRITE_COLUMNS.map((col) => col.column);
    const inputs = WRITE_COLUMNS.map((col, c) => `$${first + 1 + c}::text::${col.array}`);
    return `insert into ${QUALITY_TABLES[res]} (node_id, bucket, ${names.join(', ')})
       select $${base}, to_timestamp(b / 1000.0), ${WRITE_COLUMNS.map((col) => col.store(`t.${col.column}`)).join(', ')}
       from unnest($${first}::text::float8[], ${inputs.join(', ')}) as t(b, ${names.join(', ')})
       on conflict (node_id, bucket) do update set ${names.map((n) => `${n} = excluded.${n}`).join(', ')}`;
  });
/** Built once: the statement's shape never changes. */
const COUNTER_UPSERTS = counterUpserts(1)
  .map((insert, r) => `${RESOLUTIONS[r]} as (\n       ${insert}\n       returning 1)`)
  .join(',\n');
const COUNTER_PARAMS = 1 + RESOLUTIONS.length * (1 + WRITE_COLUMNS.length);

function counterParams(nodeId: string, changed: QualityBuckets): unknown[] {
  const params: unknown[] = [nodeId];
  for (const res of RESOLUTIONS) {
    const counters = [...changed[res].values()];
    params.push(
      numberArray([...changed[res].keys()]),
      ...WRITE_COLUMNS.map((col) => col.literal(counters.map(col.value) as never[])),
    );
  }
  return params;
}

/** Writes merged counters (replacing the stored ones) of every resolution: one statement. */
export async function writeQualityCounters(db: Db, nodeId: string, changed: QualityBuckets): Promise<void> {
  await db.unsafe(`with ${COUNTER_UPSERTS} select 1`, counterParams(nodeId, changed) as never[]);
}

/** The watermark's and the scores' upserts, from parameter `base` (the node) on (writeQualityStatePart). */
const stateUpserts = (base: number) => [
  `insert into node_watermarks (node_id, ingested_to) values ($${base}, to_timestamp($${base + COUNTER_PARAMS} / 1000.0))
       on conflict (node_id) do update set ingested_to = excluded.ingested_to`,
  `insert into node_quality (node_id, as_of, body)
     values ($${base}, to_timestamp($${base + COUNTER_PARAMS + 1} / 1000.0), $${base + COUNTER_PARAMS + 2}::text::jsonb)
     on conflict (node_id) do update set as_of = excluded.as_of, body = excluded.body`,
];

function qualityStateParams(
  nodeId: string,
  changed: QualityBuckets,
  scores: { asOfMs: number; body: unknown },
  watermarkMs: number,
): unknown[] {
  const params = counterParams(nodeId, changed);
  params.push(watermarkMs, scores.asOfMs, JSON.stringify(scores.body));
  return params;
}

/**
 * Merged counters (replacing the stored ones) of every resolution, the node's scores and its new
 * ingestion watermark, as a part of the node batch's combined write (batch-write.ts).
 */
export function writeQualityStatePart(
  nodeId: string,
  changed: QualityBuckets,
  scores: { asOfMs: number; body: unknown },
  watermarkMs: number,
): WritePart {
  return {
    ctes: (base) => [...counterUpserts(base), ...stateUpserts(base)],
    // Built when sent alone only (merged, the merged part's are built instead).
    get params() {
      return qualityStateParams(nodeId, changed, scores, watermarkMs);
    },
    merge: {
      kind: 'quality',
      rows: [{ nodeId, changed, scores, watermarkMs } satisfies QualityStateRow],
      of: qualityStateRowsPart,
    },
  };
}

interface QualityStateRow {
  nodeId: string;
  changed: QualityBuckets;
  scores: { asOfMs: number; body: unknown };
  watermarkMs: number;
}

/**
 * Several nodes' quality writes (writeQualityStatePart) as one part: per resolution one upsert of every
 * node's counters (each row with its node), the watermarks and the scores one upsert each.
 */
function qualityStateRowsPart(rows: unknown[]): WritePart {
  const r = rows as QualityStateRow[];
  const params: unknown[] = [];
  for (const res of RESOLUTIONS) {
    const nodes: string[] = [];
    const buckets: number[] = [];
    const counters: QualityCounters[] = [];
    for (const row of r) {
      for (const [bucket, c] of row.changed[res]) {
        nodes.push(row.nodeId);
        buckets.push(bucket);
        counters.push(c);
      }
    }
    params.push(
      textArray(nodes),
      numberArray(buckets),
      ...WRITE_COLUMNS.map((col) => col.literal(counters.map(col.value) as never[])),
    );
  }
  const nodes = textArray(r.map((x) => x.nodeId));
  params.push(
    nodes,
    numberArray(r.map((x) => x.watermarkMs)),
    numberArray(r.map((x) => x.scores.asOfMs)),
    textArray(r.map((x) => JSON.stringify(x.scores.body))),
  );
  return { ctes: qualityRowsUpserts, params };
}

/** The upserts of qualityStateRowsPart from parameter `base` on (its parameters' order). */
function qualityRowsUpserts(base: number): string[] {
  const names = WRITE_COLUMNS.map((col) => col.column);
  const perResolution = 2 + WRITE_COLUMNS.length;
  const counters = RESOLUTIONS.map((res, r) => {
    const first = base + r * perResolution;
    const inputs = WRITE_COLUMNS.map((col, c) => `$${first + 2 + c}::text::${col.array}`);
    return `insert into ${QUALITY_TABLES[res]} (node_id, bucket, ${names.join(', ')})
       select t.node_id, to_timestamp(t.b / 1000.0), ${WRITE_COLUMNS.map((col) => col.store(`t.${col.column}`)).join(', ')}
       from unnest($${first}::text::text[], $${first + 1}::text::float8[], ${inputs.join(', ')})
         as t(node_id, b, ${names.join(', ')})
       on conflict (node_id, bucket) do update set ${names.map((n) => `${n} = excluded.${n}`).join(', ')}`;
  });
  const s = base + RESOLUTIONS.length * perResolution;
  return [
    ...counters,
    `insert into node_watermarks (node_id, ingested_to)
       select x.n, to_timestamp(x.w / 1000.0) from unnest($${s}::text::text[], $${s + 1}::text::numeric[]) as x(n, w)
       on conflict (node_id) do update set ingested_to = excluded.ingested_to`,
    `insert into node_quality (node_id, as_of, body)
       select x.n, to_timestamp(x.a / 1000.0), x.b::jsonb
       from unnest($${s}::text::text[], $${s + 2}::text::numeric[], $${s + 3}::text::text[]) as x(n, a, b)
       on conflict (node_id) do update set as_of = excluded.as_of, body = excluded.body`,
  ];
}

/** A node's 5-minute counters over [fromMs, toMs), in time order. */
export async function readQualityCounters(
  db: Db,
  nodeId: string,
  fromMs: number,
  toMs: number,
): Promise<QualityCounters[]> {
  const rows = await db.unsafe<{ doc: unknown }[]>(
    `select ${COUNTERS_DOC} as doc from quality_5m
     where node_id = $1 and bucket >= $2::timestamptz and bucket < $3::timestamptz
     order by bucket`,
    [nodeId, new Date(fromMs).toISOString(), new Date(toMs).toISOString()],
  );
  return rows.map((r) => countersFromDoc(r.doc));
}

/** A node's latest scores (null before its first batch). */
export async function readNodeQuality(db: Db, nodeId: string): Promise<unknown | null> {
  const rows = await db<{ body: unknown }[]>`select body from node_quality where node_id = ${nodeId}`;
  return rows[0]?.body ?? null;
}

/** Every node's latest scores of a tenant (the rollup's network score). */
export async function readTenantQuality(db: Db, tenantId: string): Promise<NodeQualityRow[]> {
  const rows = await db<
    { node_id: string; kind: string; district_id: string | null; ms: number; body: unknown }[]
  >`
    select q.node_id, n.kind, n.district_id, (extract(epoch from q.as_of) * 1000)::float8 as ms, q.body
    from node_quality q join nodes n on n.id = q.node_id
    where n.tenant_id = ${tenantId}
    order by q.node_id`;
  return rows.map((r) => ({
    nodeId: r.node_id,
    kind: r.kind,
    districtId: r.district_id,
    asOfMs: r.ms,
    body: r.body,
  }));
}

// Purged by the cycle's maintenance step

/** Deletes the counters of buckets before `before`, table by table. */
export async function purgeQuality(db: Db, before: Date): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  deleted.quality_5m = (await db`delete from quality_5m where bucket < ${before}`).count;
  deleted.quality_1h = (await db`delete from quality_1h where bucket < ${before}`).count;
  deleted.quality_1d = (await db`delete from quality_1d where bucket < ${before}`).count;
  return deleted;
}
