/**
 * Consumption patterns and reports, as the analytics endpoints serve them
 * (`/api/v1/districts/{id}/patterns`, `/api/v1/reports`). Until the server has them, each view says so
 * plainly; when it does, their answers are shown as tables of what they hold.
 */
import { useMemo, useState } from 'preact/hooks';
import { allNodes, api, call } from '../api.ts';
import { useLoad } from '../hooks.ts';
import { Loadable, Section } from './common.tsx';

function Value(props: { value: unknown; depth?: number }) {
  const v = props.value;
  const depth = props.depth ?? 0;
  if (v === null || v === undefined) return <span class="muted">—</span>;
  if (typeof v === 'number') return <>{Math.round(v * 1000) / 1000}</>;
  if (typeof v !== 'object') return <>{String(v)}</>;
  if (depth > 2) return <code>{JSON.stringify(v).slice(0, 200)}</code>;
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((x) => typeof x === 'number'))
      return <code>{(v as number[]).map((x) => Math.round(x * 100) / 100).join(', ')}</code>;
    return (
      <ol class="plain">
        {v.slice(0, 50).map((x, i) => (
          <li key={i}>
            <Value value={x} depth={depth + 1} />
          </li>
        ))}
      </ol>
    );
  }
  return (
    <dl class="facts">
      {Object.entries(v as Record<string, unknown>).map(([k, x]) => (
        <>
          <dt key={`${k}-t`}>{k}</dt>
          <dd key={`${k}-d`}>
            <Value value={x} depth={depth + 1} />
          </dd>
        </>
      ))}
    </dl>
  );
}

const none = (what: string) => (
  <p class="notice" data-state="none-yet">
    The server has none yet: this API does not serve {what} (the analytics feature adds it).
  </p>
);

export function AnalyticsView(props: { kind: 'patterns' | 'reports' }) {
  const nodes = useLoad(allNodes, []);
  const districts = useMemo(
    () => [...new Set((nodes.data ?? []).map((n) => n.districtId).filter(Boolean))].sort() as string[],
    [nodes.data],
  );
  const [district, setDistrict] = useState('');
  const d = district || districts[0] || '';
  const load =
    props.kind === 'reports'
      ? (signal: AbortSignal): Promise<unknown> => call(api.GET('/api/v1/reports', { signal }))
      : d
        ? (signal: AbortSignal): Promise<unknown> =>
            call(api.GET('/api/v1/districts/{id}/patterns', { params: { path: { id: d } }, signal }))
        : null;
  // Reports do not depend on the district: a district list arriving must not abort and repeat their request.
  const data = useLoad(load, [props.kind, props.kind === 'reports' ? '' : d]);
  const title = props.kind === 'reports' ? 'Reports' : 'Consumption patterns';
  return (
    <div data-ready={data.data !== undefined || data.error ? 'true' : undefined}>
      <h2>{title}</h2>
      {props.kind === 'patterns' ? (
        <form class="controls" onSubmit={(e) => e.preventDefault()}>
          <label>
            District{' '}
            <select value={d} onChange={(e) => setDistrict((e.target as HTMLSelectElement).value)}>
              {districts.map((x) => (
                <option key={x} value={x}>
                  {x}
                </option>
              ))}
            </select>
          </label>
        </form>
      ) : null}
      <Section title={props.kind === 'reports' ? 'Available reports' : `Patterns of ${d || '—'}`}>
        <Loadable
          state={data}
          what={title.toLowerCase()}
          missing={none(props.kind === 'reports' ? 'reports' : 'consumption patterns')}
          notFound={<p class="muted">Nothing for {d} yet.</p>}
        >
          {(v) => <Value value={v} />}
        </Loadable>
      </Section>
    </div>
  );
}
