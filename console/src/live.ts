/**
 * The anomaly stream (`GET /api/v1/anomalies/stream`, server-sent events) read with fetch through the
 * typed client, because EventSource cannot send `Authorization`. eventsource-parser splits the text
 * into events; the loop reconnects with `Last-Event-ID` (the server then sends exactly what was
 * missed), waits the server's `retry:` doubled per failure in a row (at most a minute), and treats 45 s
 * without a byte (heartbeats come every 15 s) as a dead connection. While it is not connected the
 * state is `polling`: the inbox polls as it did before the stream existed.
 */
import { createParser } from 'eventsource-parser';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.ts';
import type { Anomaly } from './types.ts';

/** One event's `data`: `{id, type, at, anomaly}` (the anomaly right after the change). */
export interface AnomalyEvent {
  id: string;
  type: 'anomaly.opened' | 'anomaly.updated' | 'anomaly.acknowledged' | 'anomaly.resolved';
  at: string;
  anomaly: Anomaly;
}

export type LiveState = 'connecting' | 'live' | 'polling';

const SILENCE_MS = 45_000;
const MAX_WAIT_MS = 60_000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/** Follows the stream until `signal` aborts; `state` says whether it is connected. */
export async function followAnomalyStream(
  on: { event: (e: AnomalyEvent) => void; state: (s: LiveState) => void },
  signal: AbortSignal,
): Promise<void> {
  let lastEventId: string | undefined;
  let retryMs = 3000;
  let failures = 0;
  while (!signal.aborted) {
    const attempt = new AbortController();
    const stop = () => attempt.abort();
    signal.addEventListener('abort', stop, { once: true });
    let silence: ReturnType<typeof setTimeout> | undefined;
    const heard = () => {
      clearTimeout(silence);
      silence = setTimeout(stop, SILENCE_MS);
    };
    const parser = createParser({
      onEvent(m) {
        if (m.id) lastEventId = m.id;
        if (!m.event?.startsWith('anomaly.')) return;
        try {
          on.event(JSON.parse(m.data) as AnomalyEvent);
        } catch {
          // not JSON: nothing to show
        }
      },
      onRetry(ms) {
        retryMs = ms;
      },
      onComment(comment) {
        if (comment.trim() !== 'connected') return;
        failures = 0;
        on.state('live');
      },
    });
    try {
      heard();
      const { data, response } = await api.GET('/api/v1/anomalies/stream', {
        params: { header: lastEventId ? { 'last-event-id': lastEventId } : {} },
        parseAs: 'stream',
        signal: attempt.signal,
      });
      if (response.ok && data) {
        const reader = data.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          heard();
          parser.feed(value);
        }
      }
    } catch {
      // network error, silence or unmount: reconnect below unless unmounted
    } finally {
      clearTimeout(silence);
      signal.removeEventListener('abort', stop);
    }
    if (signal.aborted) return;
    failures++;
    on.state('polling');
    await sleep(Math.min(retryMs * 2 ** (failures - 1), MAX_WAIT_MS), signal);
  }
}

/** The stream for a view's lifetime: `onEvent` gets each event; the answer is the connection's state. */
export function useAnomalyStream(onEvent: (e: AnomalyEvent) => void): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    const ctl = new AbortController();
    void followAnomalyStream({ event: (e) => handler.current(e), state: setState }, ctl.signal);
    return () => ctl.abort();
  }, []);
  return state;
}
