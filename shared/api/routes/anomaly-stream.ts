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
import { streamSSE } from 'hono/streaming';
import type { LiveChannel } from '../../adapters/cache/live.ts';
import {
  type AnomalyEvent,
  decodePosition,
  type EventPosition,
  encodePosition,
  eventType,
  renderEvent,
} from '../../anomaly/events.ts';
import type { RouteDeps } from '../context.ts';
import { ApiProblem } from '../problem.ts';
import { newRouter } from '../router.ts';
import { errorResponses, RATE_LIMIT_HEADERS } from '../schemas.ts';
import type { StreamSettings } from '../settings.ts';

const streamRoute = createRoute({
  method: 'get',
  path: '/stream',
  operationId: 'streamAnomalyEvents',
  tags: ['anomalies'],
  summary: 'Anomaly events, pushed (server-sent events)',
  description:
    'A `text/event-stream` of your tenant’s anomaly events: `anomaly.opened`, `anomaly.updated` (status or severity changed), `anomaly.acknowledged`, `anomaly.resolved`. Each event’s `data` is JSON `{id, type, at, anomaly}`; its SSE `id` is a position to resume from: reconnect with `Last-Event-ID` (or `?lastEventId=`) to get exactly the events after it (kept 7 days). Without one, the stream starts with the next event. A comment (`: heartbeat`) comes every 15 s when there is nothing else. A client that stops reading is disconnected.',
  request: {
    headers: z.object({
      'last-event-id': z.string().max(64).optional().openapi({ description: 'Resume after this event' }),
    }),
    query: z.object({
      lastEventId: z
        .string()
        .max(64)
        .optional()
        .openapi({ description: 'As Last-Event-ID (for EventSource)' }),
    }),
  },
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

export function anomalyStreamRoutes(deps: RouteDeps & { live: LiveChannel; stream: StreamSettings }) {
  const { stores, live, logger } = deps;
  const s = deps.stream;
  const pg = <T>(fn: () => Promise<T>): Promise<T> => deps.reader.breakers.postgres.execute(fn);
  const app = newRouter();

  app.openapi(streamRoute, async (c) => {
    const tenantId = c.get('tenantId');
    const given = c.req.header('last-event-id') ?? c.req.valid('query').lastEventId;
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
          notified = false;
          let events: AnomalyEvent[] = [];
          try {
            events = await pg(() => stores.events.read(tenantId, position!, s.pageSize));
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
    }) as never;
  });

  return app;
}
