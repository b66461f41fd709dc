/**
 * Anomaly events: what the SSE stream and the webhooks push. Each is a change an API consumer can act
 * on — an anomaly opened, changed severity or status (updated), was acknowledged, or resolved — with
 * the anomaly as it was right after the change. A sighting that changes nothing but `lastSeenAt` is no
 * event: pushes follow changes, not cycles.
 *
 * Positions are opaque to clients (`Last-Event-ID`): `<tx>-<id>`, the writing transaction and the
 * event's id, the order the log is read in (see adapters/postgres/anomaly-events.ts for why).
 */
import type { AnomalyPayload } from './listed.ts';

export const EVENT_KINDS = ['opened', 'updated', 'acknowledged', 'resolved'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Anomaly events are kept this long: the furthest back a stream can resume. */
export const EVENT_RETENTION_DAYS = 7;

export interface EventPosition {
  /** The writing transaction's id (xid8), as decimal text: it can exceed 2^53. */
  tx: string;
  id: number;
}

export const START_POSITION: EventPosition = { tx: '0', id: 0 };

export interface AnomalyEvent {
  position: EventPosition;
  tenantId: string;
  kind: EventKind;
  /** When the change was written, ISO 8601. */
  at: string;
  anomaly: AnomalyPayload;
}

export const encodePosition = (p: EventPosition): string => `${p.tx}-${p.id}`;

/** The position of a `Last-Event-ID`, or null when it is not one this API issued. */
export function decodePosition(text: string): EventPosition | null {
  const m = /^(\d{1,20})-(\d{1,18})$/.exec(text.trim());
  if (!m) return null;
  const id = Number(m[2]);
  if (!Number.isSafeInteger(id) || BigInt(m[1]!) >= 2n ** 64n) return null;
  return { tx: BigInt(m[1]!).toString(), id };
}

/** a before b in log order. */
export function isBefore(a: EventPosition, b: EventPosition): boolean {
  const ta = BigInt(a.tx);
  const tb = BigInt(b.tx);
  return ta < tb || (ta === tb && a.id < b.id);
}

/** The webhook and SSE event type of a kind, e.g. `anomaly.opened`. */
export const eventType = (kind: EventKind) => `anomaly.${kind}` as const;

/** The JSON body of an event, the same for an SSE `data` line and a webhook delivery. */
export const renderEvent = (e: { eventId: string; kind: EventKind; at: string; anomaly: unknown }): string =>
  JSON.stringify({ id: e.eventId, type: eventType(e.kind), at: e.at, anomaly: e.anomaly });
