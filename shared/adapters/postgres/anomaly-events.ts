/**
 * anomaly_events, the ordered log of anomaly changes (owner module). Events are inserted by the very
 * statement that changes the anomaly (anomalies.ts uses the fragments below), so a change and its event
 * commit together or not at all, and a replayed batch that changes nothing writes no event.
 *
 * Reading in order: a bigserial id is taken at insert, not at commit, so event 9 may commit after event
 * 10 and a reader that passed 10 would miss it. Each row carries its transaction id (`tx`, xid8), and a
 * reader takes only rows whose transaction is older than the oldest one still running
 * (`pg_snapshot_xmin`): those have all finished, and every row that becomes visible later has a larger
 * `tx`. Ordered by (tx, id), the log is append-only for readers, which is what makes `Last-Event-ID`
 * resume and the webhook fan-out's cursor exact. The price: an event waits for transactions that were
 * already running when it committed (a cycle's node transactions, milliseconds to seconds).
 */
import type { AnomalyEvent, EventKind, EventPosition } from '../../anomaly/events.ts';
import type { AnomalyPayload } from '../../anomaly/listed.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The anomaly row `a` as the API's AnomalyPayload, built in SQL (the shape of anomalies.ts `listed`). */
export const payloadOf = (a: string) => `jsonb_build_object(
  'id', ${a}.id, 'nodeId', ${a}.node_id, 'districtId', ${a}.district_id, 'type', ${a}.type, 'metric', ${a}.metric,
  'severity', ${a}.severity, 'status', ${a}.status, 'startedAt', ${iso(`${a}.started_at`)},
  'lastSeenAt', ${iso(`${a}.last_seen_at`)}, 'openedAt', ${iso(`${a}.opened_at`)},
  'acknowledgedAt', ${iso(`${a}.acknowledged_at`)}, 'acknowledgedBy', ${a}.acknowledged_by,
  'resolvedAt', ${iso(`${a}.resolved_at`)}, 'resolvedBy', ${a}.resolved_by, 'note', ${a}.resolution,
  'evidence', ${a}.evidence)`;

/**
 * A CTE body inserting the events of the cycle's writes: `upd` (updated rows, new values), `old` (their
 * pre-images, same statement snapshot) and `ins` (inserted rows). Pending anomalies are invisible to
 * the API and make no event; an update that changes neither status nor severity (a sighting) neither.
 * An anomaly that opened and resolved within one batch (a backfill's long window) gets both events,
 * opened first, so a consumer never sees a resolution of something it never saw open. An auto-resolved
 * anomaly the lifecycle re-opens (its condition back, the same issue) is an update back to open.
 */
export const CYCLE_EVENTS_CTE = `insert into anomaly_events (tenant_id, anomaly_id, kind, payload)
  select tenant_id, id, kind, payload from (
    select u.tenant_id, u.id, k.ord, k.kind, ${payloadOf('u')} as payload
    from upd u join old o on o.id = u.id
    cross join lateral (values
      (1, 'opened', o.status = 'pending' and u.status <> 'pending' and u.opened_at is not null),
      (2, 'updated', u.status in ('open', 'acknowledged') and (o.status = 'resolved'
         or o.status in ('open', 'acknowledged') and (u.status <> o.status or u.severity <> o.severity))),
      (3, 'resolved', u.status = 'resolved' and o.status <> 'resolved' and u.opened_at is not null)
    ) as k(ord, kind, yes)
    where k.yes
    union all
    select i.tenant_id, i.id, k.ord, k.kind, ${payloadOf('i')}
    from ins i
    cross join lateral (values
      (1, 'opened', i.status <> 'pending' and i.opened_at is not null),
      (3, 'resolved', i.status = 'resolved' and i.opened_at is not null)
    ) as k(ord, kind, yes)
    where k.yes
  ) e
  order by id, ord`;

/** A CTE body inserting the event of an operator's transition `u` (rows the update returned). */
export const transitionEventCte = (kind: 'acknowledged' | 'resolved') =>
  `insert into anomaly_events (tenant_id, anomaly_id, kind, payload)
   select u.tenant_id, u.id, '${kind}', ${payloadOf('u')} from u`;

interface EventRow {
  id: string;
  tx: string;
  tenant_id: string;
  kind: EventKind;
  payload: AnomalyPayload;
  at: Date;
}

const fromRow = (r: EventRow): AnomalyEvent => ({
  position: { tx: r.tx, id: Number(r.id) },
  tenantId: r.tenant_id,
  kind: r.kind,
  at: r.at.toISOString(),
  anomaly: r.payload,
});

const READABLE = 'tx < pg_snapshot_xmin(pg_current_snapshot())';

/** Up to `limit` readable events after `after`, in log order: of one tenant, or of all (tenantId null). */
export async function readEvents(
  db: Db,
  tenantId: string | null,
  after: EventPosition,
  limit: number,
): Promise<AnomalyEvent[]> {
  const rows =
    tenantId === null
      ? await db.unsafe<EventRow[]>(
          `select id::text as id, tx::text as tx, tenant_id, kind, payload, at from anomaly_events
           where (tx, id) > ($1::xid8, $2::int8) and ${READABLE} order by tx, id limit $3`,
          [after.tx, after.id, limit],
        )
      : await db.unsafe<EventRow[]>(
          `select id::text as id, tx::text as tx, tenant_id, kind, payload, at from anomaly_events
           where tenant_id = $4 and (tx, id) > ($1::xid8, $2::int8) and ${READABLE} order by tx, id limit $3`,
          [after.tx, after.id, limit, tenantId],
        );
  return rows.map(fromRow);
}

/** The tenant's last readable position (a new stream starts there), or the start of the log. */
export async function headPosition(db: Db, tenantId: string): Promise<EventPosition> {
  const rows = await db.unsafe<{ id: string; tx: string }[]>(
    `select id::text as id, tx::text as tx from anomaly_events where tenant_id = $1 and ${READABLE}
     order by tx desc, id desc limit 1`,
    [tenantId],
  );
  return rows[0] ? { tx: rows[0].tx, id: Number(rows[0].id) } : { tx: '0', id: 0 };
}

/** Retention (the maintenance step): events written before `before`. */
export async function purgeAnomalyEvents(db: Db, before: Date): Promise<number> {
  return (await db`delete from anomaly_events where at < ${before}`).count;
}
