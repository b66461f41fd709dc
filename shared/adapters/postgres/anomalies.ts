/**
 * Anomalies in PostgreSQL as the cycle keeps them: a subject's (node's or district's) current
 * anomalies for the lifecycle, the lifecycle's transitions written back in one statement, and the
 * tenant's recent anomalies for the hot key. Operators change anomalies through the API meanwhile:
 * every update is conditional on the status the cycle read, so an acknowledgement or a resolution
 * made between the read and the write is never overwritten (the next cycle starts from it).
 *
 * Longer than 400 lines because it is the one owner of anomalies and district_nights: every statement
 * on them is here, the cycle's and (at the end) the API's, so a change of the table has one place.
 */
import type { Anomaly, AnomalyStatus, Transition } from '../../anomaly/lifecycle.ts';
import type { ListedAnomaly } from '../../anomaly/listed.ts';
import type { LeakLocalisation } from '../../anomaly/localise.ts';
import type { AnomalyType, Evidence, Severity } from '../../anomaly/types.ts';
import type { AnomalyFilters, AnomalyTransitionRequest } from '../../api/stores.ts';
import type { AnomalyCounts, DetectorHistory, StoredNight } from '../../cycle/rollup/store.ts';
import type { Metric } from '../../domain/readings.ts';
import { CYCLE_EVENTS_CTE, transitionEventCte } from './anomaly-events.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

export interface AnomalyRow {
  id: string;
  tenant_id: string;
  node_id: string | null;
  district_id: string | null;
  type: AnomalyType;
  metric: Metric | null;
  severity: Severity;
  peak_severity: Severity | null;
  status: AnomalyStatus;
  started_ms: number;
  first_seen_ms: number | null;
  last_seen_ms: number;
  opened_ms: number | null;
  acknowledged_ms: number | null;
  acknowledged_by: string | null;
  resolved_ms: number | null;
  resolved_by: string | null;
  ended_ms: number | null;
  resolution: string | null;
  evidence: Evidence;
  peak_evidence: Evidence | null;
}

const ms = (column: string, as: string) => `(extract(epoch from ${column}) * 1000)::float8 as ${as}`;
export const ANOMALY_COLUMNS = `id, tenant_id, node_id, district_id, type, metric, severity, peak_severity, status,
  ${ms('started_at', 'started_ms')}, ${ms('first_seen_at', 'first_seen_ms')}, ${ms('last_seen_at', 'last_seen_ms')},
  ${ms('opened_at', 'opened_ms')}, ${ms('acknowledged_at', 'acknowledged_ms')}, acknowledged_by,
  ${ms('resolved_at', 'resolved_ms')}, resolved_by, ${ms('ended_at', 'ended_ms')}, resolution, evidence, peak_evidence`;

export const anomalyFromRow = (r: AnomalyRow): Anomaly => ({
  id: r.id,
  tenantId: r.tenant_id,
  nodeId: r.node_id,
  districtId: r.district_id,
  type: r.type,
  metric: r.metric,
  status: r.status,
  severity: r.severity,
  peakSeverity: r.peak_severity ?? r.severity,
  startMs: r.started_ms,
  firstSeenMs: r.first_seen_ms ?? r.started_ms,
  lastSeenMs: r.last_seen_ms,
  openedAtMs: r.opened_ms,
  acknowledgedAtMs: r.acknowledged_ms,
  acknowledgedBy: r.acknowledged_by,
  resolvedAtMs: r.resolved_ms,
  resolvedBy: r.resolved_by,
  endMs: r.ended_ms,
  evidence: r.evidence,
  peakEvidence: r.peak_evidence ?? r.evidence,
  note: r.resolution,
});

/** Districts' unresolved anomalies (district detectors), and resolved ones last seen from `sinceMs` on. */
export async function readDistrictAnomalies(
  db: Db,
  districtIds: readonly string[],
  sinceMs: number,
): Promise<Anomaly[]> {
  if (districtIds.length === 0) return [];
  const rows = await db.unsafe<AnomalyRow[]>(
    `select ${ANOMALY_COLUMNS} from anomalies where district_id = any($1::text[]) and subject = 'district'
       and (status <> 'resolved' or last_seen_at >= to_timestamp($2 / 1000.0))
     order by first_seen_at, id`,
    [[...districtIds], sinceMs],
  );
  return rows.map(anomalyFromRow);
}

const at = (x: number | null) => x;

/**
 * Writes a cycle's transitions: inserts new anomalies (a replayed one already there is left alone),
 * updates changed ones only where the stored status is still the one the cycle read (`previous`),
 * deletes discarded pending ones. Returns the ids actually written. The same statement appends the
 * changes API consumers see to anomaly_events (opened, updated, resolved), so they commit together.
 */
export async function writeTransitions(
  db: Db,
  subjectKind: 'node' | 'district',
  transitions: readonly Transition[],
  previous: ReadonlyMap<string, AnomalyStatus>,
): Promise<Set<string>> {
  const discarded = transitions.filter((t) => t.kind === 'discarded').map((t) => t.anomaly.id);
  const kept = transitions.filter((t) => t.kind !== 'discarded').map((t) => t.anomaly);
  const written = new Set<string>();
  if (discarded.length > 0) {
    await db`delete from anomalies where id = any(${discarded}::text[]) and status = 'pending'`;
  }
  if (kept.length === 0) return written;
  const col = <T>(f: (a: Anomaly) => T) => kept.map(f);
  const rows = await db.unsafe<{ id: string }[]>(
    `with d as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::text[], $9::text[], $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[],
         $15::text[], $16::float8[], $17::text[], $18::float8[], $19::text[], $20::text[], $21::text[], $22::text[])
       as t(id, tenant_id, node_id, district_id, type, metric, severity, peak_severity, status, started, first_seen,
            last_seen, opened, acknowledged, acknowledged_by, resolved, resolved_by, ended, resolution, evidence,
            peak_evidence, expected)),
     old as (select a.id, a.status, a.severity from anomalies a join d on d.id = a.id),
     upd as (
       update anomalies a set severity = d.severity, peak_severity = d.peak_severity, status = d.status,
         started_at = to_timestamp(d.started / 1000.0), last_seen_at = to_timestamp(d.last_seen / 1000.0),
         opened_at = to_timestamp(d.opened / 1000.0), resolved_at = to_timestamp(d.resolved / 1000.0),
         resolved_by = d.resolved_by, ended_at = to_timestamp(d.ended / 1000.0), evidence = d.evidence::jsonb,
         peak_evidence = d.peak_evidence::jsonb, updated_at = now()
       from d where a.id = d.id and d.expected is not null and a.status = d.expected
       returning a.*),
     ins as (
       insert into anomalies (id, tenant_id, node_id, district_id, subject, type, metric, severity, peak_severity,
         status, started_at, first_seen_at, last_seen_at, opened_at, acknowledged_at, acknowledged_by, resolved_at,
         resolved_by, ended_at, resolution, evidence, peak_evidence)
       select id, tenant_id, node_id, district_id, $23, type, metric, severity, peak_severity, status,
         to_timestamp(started / 1000.0), to_timestamp(first_seen / 1000.0), to_timestamp(last_seen / 1000.0),
         to_timestamp(opened / 1000.0), to_timestamp(acknowledged / 1000.0), acknowledged_by,
         to_timestamp(resolved / 1000.0), resolved_by, to_timestamp(ended / 1000.0), resolution, evidence::jsonb,
         peak_evidence::jsonb
       from d where d.expected is null
       on conflict (id) do nothing
       returning *),
     ev as (${CYCLE_EVENTS_CTE})
     select id from upd union all select id from ins`,
    [
      col((a) => a.id),
      col((a) => a.tenantId),
      col((a) => a.nodeId),
      col((a) => a.districtId),
      col((a) => a.type),
      col((a) => a.metric),
      col((a) => a.severity),
      col((a) => a.peakSeverity),
      col((a) => a.status),
      col((a) => a.startMs),
      col((a) => a.firstSeenMs),
      col((a) => a.lastSeenMs),
      col((a) => at(a.openedAtMs)),
      col((a) => at(a.acknowledgedAtMs)),
      col((a) => a.acknowledgedBy),
      col((a) => at(a.resolvedAtMs)),
      col((a) => a.resolvedBy),
      col((a) => at(a.endMs)),
      col((a) => a.note),
      col((a) => JSON.stringify(a.evidence)),
      col((a) => JSON.stringify(a.peakEvidence)),
      col((a) => previous.get(a.id) ?? null),
      subjectKind,
    ] as never[],
  );
  for (const r of rows) written.add(r.id);
  return written;
}

/** The tenant's recent anomalies (open and acknowledged first, then the latest resolved), newest first. */
export async function recentAnomalies(db: Db, tenantId: string, limit: number): Promise<Anomaly[]> {
  const rows = await db.unsafe<AnomalyRow[]>(
    `select ${ANOMALY_COLUMNS} from anomalies
     where tenant_id = $1 and status <> 'pending'
     order by (status = 'resolved'), started_at desc, id desc
     limit $2`,
    [tenantId, limit],
  );
  return rows.map(anomalyFromRow);
}

/** Open and acknowledged anomalies of a tenant, by severity (acknowledged ones count as open). */
export async function countActive(db: Db, tenantId: string): Promise<AnomalyCounts> {
  const rows = await db<{ status: AnomalyStatus; severity: Severity; n: number }[]>`
    select status, severity, count(*)::int4 as n from anomalies
    where tenant_id = ${tenantId} and status in ('open', 'acknowledged')
    group by status, severity`;
  const out: AnomalyCounts = {
    open: 0,
    acknowledged: 0,
    bySeverity: { warning: 0, minor: 0, major: 0, critical: 0 },
  };
  for (const r of rows) {
    if (r.status === 'open') out.open += r.n;
    else out.acknowledged += r.n;
    out.bySeverity[r.severity] += r.n;
  }
  return out;
}

interface LeanRow {
  node_id: string;
  r: 'm' | 'b';
  metric: number;
  ms: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  last_ms: number;
}

const lean = (table: string, tag: string) =>
  `select node_id, '${tag}' as r, metric, (extract(epoch from bucket) * 1000)::float8 as ms, count, sum, min, max,
     last, (extract(epoch from last_ts) * 1000)::float8 as last_ms from ${table}`;

/**
 * What district detectors read of several nodes, in one round trip: 5-minute partials of the given
 * metrics over [fromMs, toMs) and the hourly partials of the given hours (the baseline's past weeks).
 */
export async function readDetectorHistory(
  db: Db,
  nodeIds: readonly string[],
  metrics: readonly number[],
  window: { fromMs: number; toMs: number },
  baselineHoursMs: readonly number[],
): Promise<Map<string, DetectorHistory>> {
  const out = new Map<string, DetectorHistory>();
  if (nodeIds.length === 0) return out;
  const rows = await db.unsafe<LeanRow[]>(
    `${lean('agg_5m', 'm')}
       where node_id = any($1::text[]) and metric = any($2::int2[])
         and bucket >= to_timestamp($3 / 1000.0) and bucket < to_timestamp($4 / 1000.0)
     union all
     ${lean('agg_1h', 'b')}
       where node_id = any($1::text[]) and metric = any($2::int2[])
         and bucket = any($5::timestamptz[])`,
    [
      [...nodeIds],
      [...metrics],
      window.fromMs,
      window.toMs,
      baselineHoursMs.map((h) => new Date(h).toISOString()),
    ],
  );
  for (const r of rows) {
    let node = out.get(r.node_id);
    if (!node) {
      node = { fiveMinute: [], baseline: [] };
      out.set(r.node_id, node);
    }
    (r.r === 'm' ? node.fiveMinute : node.baseline).push({
      metric: r.metric,
      bucketMs: r.ms,
      count: r.count,
      sum: r.sum,
      sumSq: Number.NaN,
      min: r.min,
      max: r.max,
      first: Number.NaN,
      last: r.last,
      lastTs: r.last_ms,
    });
  }
  return out;
}

/** Each district's stored nights ending after `sinceMs`, in time order. */
export async function readNights(
  db: Db,
  districtIds: readonly string[],
  sinceMs: number,
): Promise<StoredNight[]> {
  if (districtIds.length === 0) return [];
  const rows = await db.unsafe<
    { district_id: string; night: string; start_ms: number; end_ms: number; mnf_lps: number; at_ms: number }[]
  >(
    `select district_id, night, (extract(epoch from start_at) * 1000)::float8 as start_ms,
       (extract(epoch from end_at) * 1000)::float8 as end_ms, mnf_lps, (extract(epoch from at) * 1000)::float8 as at_ms
     from district_nights where district_id = any($1::text[]) and end_at > to_timestamp($2 / 1000.0)
     order by district_id, end_at`,
    [[...districtIds], sinceMs],
  );
  return rows.map((r) => ({
    districtId: r.district_id,
    date: r.night,
    startMs: r.start_ms,
    endMs: r.end_ms,
    mnf: r.mnf_lps,
    atMs: r.at_ms,
  }));
}

export async function writeNights(db: Db, tenantId: string, nights: readonly StoredNight[]): Promise<void> {
  if (nights.length === 0) return;
  await db.unsafe(
    `insert into district_nights (tenant_id, district_id, night, start_at, end_at, mnf_lps, at)
     select $1, d, n, to_timestamp(s / 1000.0), to_timestamp(e / 1000.0), m, to_timestamp(a / 1000.0)
     from unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::float8[]) as t(d, n, s, e, m, a)
     on conflict (district_id, night) do update set start_at = excluded.start_at, end_at = excluded.end_at,
       mnf_lps = excluded.mnf_lps, at = excluded.at`,
    [
      tenantId,
      nights.map((n) => n.districtId),
      nights.map((n) => n.date),
      nights.map((n) => n.startMs),
      nights.map((n) => n.endMs),
      nights.map((n) => n.mnf),
      nights.map((n) => n.atMs),
    ] as never[],
  );
}

/**
 * Leak anomalies' candidate locations (the rollup's localisation): each replaces the latest the anomaly held,
 * and the first it was ever given is kept as `first` (the first write's own, an earlier one's without `first`).
 */
export async function writeLocations(
  db: Db,
  located: readonly { id: string; locations: LeakLocalisation }[],
): Promise<void> {
  if (located.length === 0) return;
  await db.unsafe(
    `update anomalies a set locations = jsonb_set(t.l::jsonb - 'first', '{first}',
       coalesce(a.locations -> 'first', a.locations, t.l::jsonb - 'first'))
     from unnest($1::text[], $2::text[]) as t(id, l) where a.id = t.id`,
    [located.map((x) => x.id), located.map((x) => JSON.stringify(x.locations))] as never[],
  );
}

// Read and changed by the API (the cycle writes anomalies; operators transition them)

interface ListedRow {
  id: string;
  node_id: string | null;
  district_id: string | null;
  type: string;
  metric: string | null;
  severity: ListedAnomaly['severity'];
  status: ListedAnomaly['status'];
  started_at: Date;
  started_us: number;
  last_seen_at: Date;
  opened_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution: string | null;
  evidence: Record<string, unknown>;
  locations: LeakLocalisation | null;
}

const isoOrNull = (d: Date | null) => d?.toISOString() ?? null;

const listed = (r: ListedRow): ListedAnomaly => ({
  id: r.id,
  nodeId: r.node_id,
  districtId: r.district_id,
  type: r.type,
  metric: r.metric,
  severity: r.severity,
  status: r.status,
  startedAt: r.started_at.toISOString(),
  startedUs: r.started_us,
  lastSeenAt: r.last_seen_at.toISOString(),
  openedAt: isoOrNull(r.opened_at),
  acknowledgedAt: isoOrNull(r.acknowledged_at),
  acknowledgedBy: r.acknowledged_by,
  resolvedAt: isoOrNull(r.resolved_at),
  resolvedBy: r.resolved_by,
  note: r.resolution,
  evidence: r.evidence,
  ...(r.locations ? { locations: r.locations } : {}),
});

const LISTED_COLUMNS = `id, node_id, district_id, type, metric, severity, status, started_at,
  (extract(epoch from started_at) * 1000000)::int8::float8 as started_us, last_seen_at, opened_at,
  acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution, evidence, locations`;

/** A page newest first (by start, then id), after the keyset position `after` ([startedUs, id]). */
export async function listAnomalies(
  db: Db,
  tenantId: string,
  f: AnomalyFilters,
  limit: number,
  after: readonly [number, string] | null,
): Promise<ListedAnomaly[]> {
  const rows = await db<ListedRow[]>`
    select ${db.unsafe(LISTED_COLUMNS)} from anomalies
    where tenant_id = ${tenantId} and status = any(${f.statuses}::text[])
      ${f.severities ? db`and severity = any(${f.severities}::text[])` : db``}
      ${f.types ? db`and type = any(${f.types}::text[])` : db``}
      ${f.nodeId ? db`and node_id = ${f.nodeId}` : db``}
      ${f.districtId ? db`and district_id = ${f.districtId}` : db``}
      ${f.toMs !== undefined ? db`and started_at < ${new Date(f.toMs)}` : db``}
      ${f.fromMs !== undefined ? db`and (resolved_at is null or resolved_at >= ${new Date(f.fromMs)})` : db``}
      ${
        after
          ? db`and ((extract(epoch from started_at) * 1000000)::int8, id) < (${after[0]}::int8, ${after[1]})`
          : db``
      }
    order by started_at desc, id desc
    limit ${limit}`;
  return rows.map(listed);
}

export async function findAnomaly(db: Db, tenantId: string, id: string): Promise<ListedAnomaly | null> {
  const rows = await db<ListedRow[]>`
    select ${db.unsafe(LISTED_COLUMNS)} from anomalies where id = ${id} and tenant_id = ${tenantId}`;
  return rows[0] ? listed(rows[0]) : null;
}

/**
 * acknowledge: open → acknowledged; resolve: open | acknowledged → resolved. One conditional UPDATE,
 * so two operators racing cannot both change it. The changed anomaly, or null when it matched nothing.
 */
export async function transitionAnomaly(db: Db, t: AnomalyTransitionRequest): Promise<ListedAnomaly | null> {
  // The update and its event in one statement: both commit, or neither.
  const update =
    t.action === 'acknowledge'
      ? db`
          update anomalies set status = 'acknowledged', acknowledged_at = now(), acknowledged_by = ${t.by},
            resolution = coalesce(${t.note}, resolution), updated_at = now()
          where id = ${t.id} and tenant_id = ${t.tenantId} and status = 'open'
          returning *`
      : db`
          update anomalies set status = 'resolved', resolved_at = now(), resolved_by = ${t.by},
            resolution = coalesce(${t.note}, resolution), updated_at = now()
          where id = ${t.id} and tenant_id = ${t.tenantId} and status in ('open', 'acknowledged')
          returning *`;
  const kind = t.action === 'acknowledge' ? 'acknowledged' : 'resolved';
  const rows = await db<ListedRow[]>`
    with u as (${update}), ev as (${db.unsafe(transitionEventCte(kind))})
    select ${db.unsafe(LISTED_COLUMNS)} from u`;
  return rows[0] ? listed(rows[0]) : null;
}

// Purged by the cycle's maintenance step

export async function purgeDistrictNights(db: Db, before: Date): Promise<number> {
  return (await db`delete from district_nights where end_at < ${before}`).count;
}

export async function purgeResolvedAnomalies(db: Db, before: Date): Promise<number> {
  return (await db`delete from anomalies where status = 'resolved' and resolved_at < ${before}`).count;
}
