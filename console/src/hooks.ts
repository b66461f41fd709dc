/** Data loading for the views: one fetch per dependency change, optional polling, no overlapping loads. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
  /** Changes the data in place (a pushed change), without a request. */
  update: (change: (data: T) => T) => void;
}

export function useLoad<T>(
  load: ((signal: AbortSignal) => Promise<T>) | null,
  deps: unknown[],
  options: { pollMs?: number | undefined } = {},
): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(load !== null);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const first = useRef(true);
  useEffect(() => {
    if (!load) return;
    const ctl = new AbortController();
    setLoading(true);
    load(ctl.signal)
      .then((d) => {
        if (ctl.signal.aborted) return;
        setData(d);
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted) return;
        setError(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    first.current = false;
    return () => ctl.abort();
  }, [...deps, tick]);
  useEffect(() => {
    if (!options.pollMs) return;
    const timer = setInterval(reload, options.pollMs);
    return () => clearInterval(timer);
  }, [options.pollMs, reload]);
  const update = useCallback((change: (d: T) => T) => setData((d) => (d === undefined ? d : change(d))), []);
  return { data, error, loading, reload, update };
}

/** A 404 because the route itself does not exist (not a missing item): the server has no such feature yet. */
export const isMissingRoute = (e: unknown) =>
  e instanceof ApiError && e.status === 404 && /^No route for /.test(e.message);
