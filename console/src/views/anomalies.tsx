/**
 * The anomaly inbox: filters (type, severity, status, district, time), newest first with paging, the
 * evidence of the selected one and a chart of the readings that triggered it, acknowledge and resolve
 * for roles that may (a reader sees no such buttons). Live: each event of the anomaly stream is put in
 * (or taken out of) the list by the filters, without a request; while the stream is down the list is
 * polled every 30 s with ETag revalidation (a 304 costs nothing).
 * Longer than 400 lines because the inbox, its filters, its live stream and the evidence panel share
 * one state; split, they would pass it through props at every level.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, allNodes, api, call, given, nodeHistory } from '../api.ts';
import { TimeChart } from '../chart.tsx';
import { hashParams, label, SEVERITY_ORDER, time } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { type AnomalyEvent, useAnomalyStream } from '../live.ts';
import type { Anomaly } from '../types.ts';
import { Badge, Loadable, Section } from './common.tsx';
import { anomalySpans, historySpec } from './node.tsx';

const TYPES = [
  'baseline_deviation',
  'burst',
  'night_flow_leak',
  'pressure_residual',
  'water_balance',
  'low_pressure',
  'flatline',
  'out_of_range',
  'gap',
  'silent',
  'negative_flow',
  'spike',
  'water_quality',
];
const STATUSES = ['open', 'acknowledged', 'resolved', 'pending'];
const HOUR = 3_600_000;
export const POLL_MS = 30_000;

interface Filters {
  type: string;
  severity: string;
  status: string;
  district: string;
  from: string;
  to: string;
}

/** Whether the list the filters ask for holds `a` (as the API filters: see GET /anomalies). */
export function matches(a: Anomaly, f: Filters): boolean {
  const statuses = f.status ? f.status.split(',') : ['open', 'acknowledged', 'resolved'];
  if (!statuses.includes(a.status)) return false;
  if (f.type && !f.type.split(',').includes(a.type)) return false;
  if (f.severity && !f.severity.split(',').includes(a.severity)) return false;
  if (f.district && a.districtId !== f.district) return false;
  if (f.to && Date.parse(a.startedAt) >= new Date(f.to).getTime()) return false;
  if (f.from && a.resolvedAt && Date.parse(a.resolvedAt) < new Date(f.from).getTime()) return false;
  return true;
}

/** Newest first by start, then id (the API's order). */
const newestFirst = (a: Anomaly, b: Anomaly) =>
  b.startedAt.localeCompare(a.startedAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The first three candidates of a localisation, as one line. */
function candidatesText(candidates: NonNullable<Anomaly['locations']>['candidates']): string {
  return candidates
    .slice(0, 3)
    .map((c) => `${c.node} (pipes ${c.pipes.join(', ')}; fit ${c.score.toFixed(2)}, ~${c.estimatedLps} L/s)`)
    .join(' · ');
}

function Evidence(props: { anomaly: Anomaly }) {
  const a = props.anomaly;
  const start = Date.parse(a.startedAt);
  const end = Date.parse(a.resolvedAt ?? a.lastSeenAt);
  const from = Math.max(start - 6 * HOUR, end + HOUR - 2 * 24 * HOUR);
  const nodeId = a.nodeId;
  const history = useLoad(nodeId ? (signal) => nodeHistory(nodeId, from, end + HOUR, '5m', signal) : null, [
    nodeId,
    from,
    end,
  ]);
  const metric = a.metric ?? 'flow';
  const spec = useMemo(
    () => (history.data ? historySpec(history.data, metric, anomalySpans([a])) : null),
    [history.data, metric, a],
  );
  return (
    <Section title={`Evidence: ${label(a.type)} at ${a.nodeId ?? a.districtId ?? '—'}`} id="evidence">
      <dl class="facts">
        <dt>Started</dt>
        <dd>{time(a.startedAt)}</dd>
        <dt>Last seen</dt>
        <dd>{time(a.lastSeenAt)}</dd>
        {Object.entries(a.evidence).map(([k, v]) => (
          <>
            <dt key={`${k}-t`}>{k}</dt>
            <dd key={`${k}-d`}>{typeof v === 'number' ? Math.round(v * 1000) / 1000 : JSON.stringify(v)}</dd>
          </>
        ))}
        {a.locations?.candidates.length ? (
          <>
            <dt>Likely location</dt>
            <dd>{candidatesText(a.locations.candidates)}</dd>
          </>
        ) : null}
        {a.locations?.first?.candidates.length &&
        a.locations.first.candidates[0]!.node !== a.locations.candidates[0]?.node ? (
          <>
            <dt>First located ({time(a.locations.first.at)})</dt>
            <dd>{candidatesText(a.locations.first.candidates)}</dd>
          </>
        ) : null}
        {a.note ? (
          <>
            <dt>Note</dt>
            <dd>{a.note}</dd>
          </>
        ) : null}
      </dl>
      {nodeId ? (
        <Loadable state={history} what="the readings">
          {() =>
            spec?.x.length ? (
              <TimeChart spec={spec} label={`${metric} readings around the anomaly`} />
            ) : (
              <p class="muted">No readings stored around it.</p>
            )
          }
        </Loadable>
      ) : (
        <p class="muted">A district anomaly: see the district's inlet meters.</p>
      )}
    </Section>
  );
}

function Actions(props: { anomaly: Anomaly; done: () => void }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const a = props.anomaly;
  const act = async (action: 'acknowledge' | 'resolve') => {
    setBusy(true);
    setError(null);
    try {
      await call(
        api.POST(`/api/v1/anomalies/{id}/${action}`, {
          params: { path: { id: a.id } },
          body: note ? { note } : {},
        }),
      );
      setNote('');
      props.done();
    } catch (e) {
      setError(e instanceof ApiError ? `${e.title}: ${e.message}` : String(e));
    } finally {
      setBusy(false);
    }
  };
  if (a.status === 'resolved') return null;
  return (
    <div class="actions">
      <label>
        Note{' '}
        <input
          type="text"
          value={note}
          maxLength={2000}
          onInput={(e) => setNote((e.target as HTMLInputElement).value)}
        />
      </label>
      {a.status === 'open' ? (
        <button type="button" disabled={busy} onClick={() => act('acknowledge')}>
          Acknowledge
        </button>
      ) : null}
      {a.status === 'open' || a.status === 'acknowledged' ? (
        <button type="button" disabled={busy} onClick={() => act('resolve')}>
          Resolve
        </button>
      ) : null}
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function AnomaliesView(props: { canAct: boolean }) {
  const initial = hashParams();
  const [filters, setFilters] = useState<Filters>({
    type: initial.get('type') ?? '',
    severity: initial.get('severity') ?? '',
    status: initial.get('status') ?? (initial.get('id') ? '' : 'open,acknowledged'),
    district: initial.get('district') ?? '',
    from: '',
    to: '',
  });
  const [selected, setSelected] = useState<string | null>(initial.get('id'));
  const [pages, setPages] = useState(1);
  const nodes = useLoad(allNodes, []);
  const districts = useMemo(
    () => [...new Set((nodes.data ?? []).map((n) => n.districtId).filter(Boolean))].sort() as string[],
    [nodes.data],
  );
  // Events go to the list and the selected anomaly as they are at the time (set below, each render).
  const apply = useRef<(e: AnomalyEvent) => void>(() => {});
  const live = useAnomalyStream((e) => apply.current(e));
  const query = {
    type: given(filters.type),
    severity: given(filters.severity),
    status: given(filters.status),
    district: given(filters.district),
    from: filters.from ? new Date(filters.from).toISOString() : undefined,
    to: filters.to ? new Date(filters.to).toISOString() : undefined,
    limit: 50,
  };
  const list = useLoad(
    async (signal) => {
      const out: Anomaly[] = [];
      let cursor: string | undefined;
      let more = false;
      for (let i = 0; i < pages; i++) {
        const page = await call(
          api.GET('/api/v1/anomalies', { params: { query: { ...query, cursor } }, signal }),
        );
        out.push(...page.data);
        cursor = page.next ?? undefined;
        more = cursor !== undefined;
        if (!cursor) break;
      }
      return { items: out, more };
    },
    [JSON.stringify(query), pages],
    { pollMs: live === 'live' ? undefined : POLL_MS },
  );
  const one = useLoad(
    selected
      ? (signal) => call(api.GET('/api/v1/anomalies/{id}', { params: { path: { id: selected } }, signal }))
      : null,
    [selected],
  );
  apply.current = (e: AnomalyEvent) => {
    const a = e.anomaly;
    list.update((d) => {
      const others = d.items.filter((x) => x.id !== a.id);
      const items = matches(a, filters) ? [...others, a].sort(newestFirst) : others;
      return { ...d, items };
    });
    one.update((s) => (s.id === a.id ? a : s));
  };
  // Connected (again): one revalidation of the list, after any load in flight (never aborting it),
  // catches up with what happened before the stream's start (a 304 when nothing did); the inbox says
  // `live` from then on.
  const catchUp = useRef<'wanted' | 'running' | 'done'>('done');
  const [inSync, setInSync] = useState(false);
  useEffect(() => {
    catchUp.current = live === 'live' ? 'wanted' : 'done';
    setInSync(false);
  }, [live]);
  useEffect(() => {
    if (live !== 'live' || list.loading) return;
    if (catchUp.current === 'wanted') {
      catchUp.current = 'running';
      list.reload();
    } else if (catchUp.current === 'running') {
      catchUp.current = 'done';
      setInSync(true);
    }
  }, [live, list.loading]);
  const shown = live === 'live' && !inSync ? 'connecting' : live;
  const [seen, setSeen] = useState<Set<string> | null>(null);
  useEffect(() => {
    if (list.data && seen === null) setSeen(new Set(list.data.items.map((a) => a.id)));
  }, [list.data, seen]);
  const fresh = seen ? (list.data?.items ?? []).filter((a) => !seen.has(a.id)).length : 0;
  const set = (k: keyof Filters) => (e: Event) => {
    setFilters({ ...filters, [k]: (e.target as HTMLSelectElement).value });
    setPages(1);
  };
  const refresh = () => {
    list.reload();
    one.reload();
  };
  return (
    <div data-ready={list.data ? 'true' : undefined}>
      <h2>Anomalies</h2>
      <form class="controls filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Type{' '}
          <select value={filters.type} onChange={set('type')}>
            <option value="">any</option>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {label(t)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Severity{' '}
          <select value={filters.severity} onChange={set('severity')}>
            <option value="">any</option>
            {SEVERITY_ORDER.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status{' '}
          <select value={filters.status} onChange={set('status')}>
            <option value="">any but pending</option>
            <option value="open,acknowledged">open or acknowledged</option>
            {STATUSES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          District{' '}
          <select value={filters.district} onChange={set('district')}>
            <option value="">any</option>
            {districts.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          From <input type="datetime-local" value={filters.from} onChange={set('from')} />
        </label>
        <label>
          To <input type="datetime-local" value={filters.to} onChange={set('to')} />
        </label>
      </form>
      <p class="muted" aria-live="polite" data-live={shown}>
        {shown === 'live'
          ? 'Live: changes appear as they happen.'
          : shown === 'connecting'
            ? 'Connecting to the live stream…'
            : `Updated every ${POLL_MS / 1000} s.`}
        {fresh > 0 ? ` ${fresh} new since you opened this view.` : ''}
        {props.canAct ? '' : ' Your key is a reader: acknowledging and resolving need an operator key.'}
      </p>
      <div class="grid-2">
        <Section title="Inbox">
          <Loadable state={list} what="the anomalies">
            {(d) =>
              d.items.length === 0 ? (
                <p class="muted">No anomaly matches these filters.</p>
              ) : (
                <>
                  <table class="inbox">
                    <caption class="sr-only">Anomalies, newest first</caption>
                    <thead>
                      <tr>
                        <th scope="col">Severity</th>
                        <th scope="col">Type</th>
                        <th scope="col">Where</th>
                        <th scope="col">Status</th>
                        <th scope="col">Started</th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.items.map((a) => (
                        <tr
                          key={a.id}
                          aria-selected={a.id === selected}
                          data-anomaly={a.id}
                          data-status={a.status}
                        >
                          <td>
                            <Badge tone={a.severity}>{a.severity}</Badge>
                          </td>
                          <td>
                            <button type="button" class="link" onClick={() => setSelected(a.id)}>
                              {label(a.type)}
                            </button>
                          </td>
                          <td>
                            {a.nodeId ? (
                              <a href={`#/node/${encodeURIComponent(a.nodeId)}`}>{a.nodeId}</a>
                            ) : (
                              a.districtId
                            )}
                          </td>
                          <td>{a.status}</td>
                          <td>{time(a.startedAt)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  {d.more ? (
                    <button type="button" onClick={() => setPages(pages + 1)}>
                      Load more
                    </button>
                  ) : null}
                </>
              )
            }
          </Loadable>
        </Section>
        <div>
          {one.data ? (
            <>
              <Section title={`Anomaly ${one.data.id}`} id="selected">
                <p>
                  <Badge tone={one.data.severity}>{one.data.severity}</Badge> {label(one.data.type)} ·{' '}
                  <span data-testid="selected-status">{one.data.status}</span>
                  {one.data.acknowledgedBy ? ` · acknowledged by ${one.data.acknowledgedBy}` : ''}
                  {one.data.resolvedBy ? ` · resolved by ${one.data.resolvedBy}` : ''}
                </p>
                {props.canAct ? <Actions anomaly={one.data} done={refresh} /> : null}
              </Section>
              <Evidence anomaly={one.data} />
            </>
          ) : (
            <p class="muted">Select an anomaly to see its evidence.</p>
          )}
        </div>
      </div>
    </div>
  );
}
