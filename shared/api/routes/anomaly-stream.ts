/**
 * GET /anomalies/stream: the caller's tenant's anomaly events as server-sent events, pushed as they
 * are written.
 *
 * Each stream reads the tenant's ordered event log (PostgreSQL) from its position, and sleeps until
 * the live channel says the tenant has new events (Redis pub/sub: every instance hears every write) or
 * the poll interval passes — so a lost notification, a dropped channel or an instance that missed
 * everything still catches up from the log, and the log's order and ids make `Last-Event-ID` resume
 * exact. Heartbeats are SSE comments. Back-pressure: the loop reads a page only after the previous one
 * was written (at most one page buffered per stream); a client that does not take a write within the
 * write timeout is dropped (it resumes with Last-Event-ID).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { LiveChannel } from '../../adapters/cache/live.ts';
import {
  type AnomalyEvent,
  decodePosition,
  type EventPosition,
  encodePosition,
  eventType,
  isBefore,
  renderEvent,
} from '../../anomaly/events.ts';
import type { RouteDeps } from '../context.ts';
import type { ApiEnv } from '../env.ts';
import { ApiProblem } from '../problem.ts';
import { newRouter, validationHook } from '../router.ts';
import { errorResponses, RATE_LIMIT_HEADERS } from '../schemas.ts';
import type { StreamSettings } from '../settings.ts';

const StreamHeaders = z.object({
  'last-event-id': z.string().max(64).optional().openapi({ description: 'Resume after this event' }),
});
const StreamQuery = z.object({
  lastEventId: z.string().max(64).optional().openapi({ description: 'As Last-Event-ID (for EventSource)' }),
});

const streamRoute = createRoute({
  method: 'get',
  path: '/stream',
  operationId: 'streamAnomalyEvents',
  tags: ['anomalies'],
  summary: 'Anomaly events, pushed (server-sent events)',
  description:
    'A `text/event-stream` of your tenant’s anomaly events: `anomaly.opened`, `anomaly.updated` (status or severity changed), `anomaly.acknowledged`, `anomaly.resolved`. Each event’s `data` is JSON `{id, type, at, anomaly}`; its SSE `id` is a position to resume from: reconnect with `Last-Event-ID` (or `?lastEventId=`) to get exactly the events after it (kept 7 days). Without one, the stream starts with the next event. A comment (`: heartbeat`) comes every 15 s when there is nothing else. A client that stops reading is disconnected.',
  request: { headers: StreamHeaders, query: StreamQuery },
  responses: {
    200: {
      description: 'The event stream',
      headers: RATE_LIMIT_HEADERS,
      content: {
        'text/event-stream': {
          schema: z.string().openapi({
            example:
              'event: anomaly.opened\ndata: {"id":"evt_42","type":"anomaly.opened","at":"…","anomaly":{…}}\nid: 7301-42\n\n',
          }),
        },
      },
    },
    ...errorResponses,
  },
});

class Dropped extends Error {}

const withDeadline = async (p: Promise<unknown>, ms: number) => {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      p,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Dropped('write timed out')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};

const eventBody = (e: AnomalyEvent) =>
  renderEvent({ eventId: `evt_${e.position.id}`, kind: e.kind, at: e.at, anomaly: e.anomaly });

const invalid = (error: z.ZodError, target: 'header' | 'query', c: Context<ApiEnv>) =>
  validationHook({ success: false, error, target, data: undefined } as never, c as never) as Response;

/**
 * The stream: `docs` declares it in the OpenAPI document; `handle` serves it, called by GET
 * /anomalies/{id} for the id `stream` (anomalies.ts). It is not a route of its own because a static
 * path beside a parameter at the same place (GET /anomalies/stream, GET /anomalies/{id}) is the one
 * thing Hono's RegExpRouter cannot compile: the whole app then fell back to the TrieRouter, whose
 * match cost ~5 µs of every request's CPU (a cached read takes ~80).
 */
export function anomalyStreamRoutes(deps: RouteDeps & { live: LiveChannel; stream: StreamSettings }): {
  docs: ReturnType<typeof newRouter>;
  handle: (c: Context<ApiEnv>) => Promise<Response>;
} {
  const { stores, live, logger } = deps;
  const s = deps.stream;
  const pg = <T>(fn: () => Promise<T>): Promise<T> => deps.reader.breakers.postgres.execute(fn);
  const docs = newRouter();
  docs.openAPIRegistry.registerPath(streamRoute);

  /**
   * Idle streams share one look at each tenant's log head: a stream woken by its poll timer (not by a
   * notification) reads its page only when the head is past its position, and the head is asked at most
   * once per `headMaxAgeMs` per tenant however many streams are open — N idle streams cost one cheap
   * query per interval, not N reads. A notification still makes every stream read at once.
   */
  const headMaxAgeMs = Math.max(1, Math.min(1000, s.pollMs / 2));
  const heads = new Map<string, { at: number; head: Promise<EventPosition> }>();
  const sharedHead = (tenantId: string): Promise<EventPosition> => {
    const now = Date.now();
    const seen = heads.get(tenantId);
    if (seen && now - seen.at < headMaxAgeMs) return seen.head;
    const head = pg(() => stores.events.head(tenantId));
    heads.set(tenantId, { at: now, head });
    head.catch(() => heads.delete(tenantId));
    return head;
  };

  const handle = async (c: Context<ApiEnv>): Promise<Response> => {
    const headers = StreamHeaders.safeParse({ 'last-event-id': c.req.header('last-event-id') });
    if (!headers.success) return invalid(headers.error, 'header', c);
    const query = StreamQuery.safeParse({ lastEventId: c.req.query('lastEventId') });
    if (!query.success) return invalid(query.error, 'query', c);
    const tenantId = c.get('tenantId');
    const given = headers.data['last-event-id'] ?? query.data.lastEventId;
    let position: EventPosition | null = given ? decodePosition(given) : null;
    if (given && !position) {
      throw new ApiProblem(400, 'Invalid request', 'Last-Event-ID: not an event id this API issued', {
        extra: { errors: [{ parameter: 'Last-Event-ID', reason: 'not an event id this API issued' }] },
      });
    }
    position ??= await pg(() => stores.events.head(tenantId));
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      let notified = true;
      let wake: (() => void) | undefined;
      const unlisten = live.listen((t) => {
        if (t !== tenantId) return;
        notified = true;
        wake?.();
      });
      const stop = () => wake?.();
      stream.onAbort(stop);
      c.req.raw.signal.addEventListener('abort', () => stream.abort());
      let lastWrite = Date.now();
      const write = async (text: string) => {
        await withDeadline(stream.write(text), s.writeTimeoutMs);
        lastWrite = Date.now();
      };
      try {
        await write(': connected\nretry: 3000\n\n');
        while (!stream.aborted && !stream.closed) {
          const woken = notified;
          notified = false;
          let events: AnomalyEvent[] = [];
          try {
            const behind = woken || isBefore(position!, await sharedHead(tenantId));
            if (behind) events = await pg(() => stores.events.read(tenantId, position!, s.pageSize));
          } catch (err) {
            // PostgreSQL down: keep the stream, heartbeat, and read again at the next poll.
            logger.debug('stream read failed', { event: 'api.stream_read_failed', err });
          }
          for (const e of events) {
            await write(
              `event: ${eventType(e.kind)}\ndata: ${eventBody(e)}\nid: ${encodePosition(e.position)}\n\n`,
            );
            position = e.position;
          }
          if (events.length === s.pageSize || notified) continue;
          const wait = Math.max(1, Math.min(s.pollMs, lastWrite + s.heartbeatMs - Date.now()));
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
          if (!stream.aborted && Date.now() - lastWrite >= s.heartbeatMs) await write(': heartbeat\n\n');
        }
      } catch (err) {
        if (!(err instanceof Dropped)) throw err;
        logger.warn('slow stream client dropped', { event: 'api.stream_dropped', tenantId });
        stream.abort();
      } finally {
        unlisten();
      }
    });
  };

  return { docs, handle };
}
