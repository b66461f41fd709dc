/**
 * A node: latest readings, metrics for each window, history (range presets, drag to zoom, resolution
 * 5m/1h/1d — automatic by span, or chosen) with the node's anomalies shaded on the same time axis,
 * the forecast with its 80 % and 95 % bands against what happened, and data quality.
 */
import { useMemo, useState } from 'preact/hooks';
import { all, api, call, nodeHistory } from '../api.ts';
import { type ChartSpec, TimeChart } from '../chart.tsx';
import { label, num, pct, time } from '../format.ts';
import { useLoad } from '../hooks.ts';
import type { Anomaly, History, NodeInfo } from '../types.ts';
import { Badge, Loadable, Section } from './common.tsx';

const DAY = 86_400_000;
/** A share 0–1 as a percentage (null stays unknown). */
const share = (v: number | null) => (v === null ? null : v * 100);
const RANGES = ['1h', '6h', '24h', '3d', '7d', '30d'] as const;
const SPANS: Record<string, number> = { '5m': 2 * DAY, '1h': 31 * DAY, '1d': 366 * DAY };
const PRESETS = [
  ['1 day', DAY],
  ['2 days', 2 * DAY],
  ['7 days', 7 * DAY],
  ['31 days', 31 * DAY],
  ['1 year', 365 * DAY],
] as const;
const SEVERITY_FILL: Record<string, string> = {
  warning: 'rgba(180,140,0,0.15)',
  minor: 'rgba(200,110,0,0.18)',
  major: 'rgba(200,60,0,0.2)',
  critical: 'rgba(190,0,40,0.22)',
};

export const autoResolution = (spanMs: number) =>
  spanMs <= SPANS['5m']! ? '5m' : spanMs <= SPANS['1h']! ? '1h' : '1d';

export function anomalySpans(list: Anomaly[]) {
  return list.map((a) => ({
    from: Date.parse(a.startedAt) / 1000,
    to: Date.parse(a.resolvedAt ?? a.lastSeenAt) / 1000,
    color: SEVERITY_FILL[a.severity] ?? 'rgba(0,0,0,0.1)',
  }));
}

/** A history answer as one chart of a metric: mean, with min and max as a band. */
export function historySpec(
  h: History,
  metric: string,
  spans: ChartSpec['spans'],
  onZoom?: ChartSpec['onZoom'],
): ChartSpec {
  const pts = h.points.filter((p) => p.metric === metric);
  return {
    x: pts.map((p) => Date.parse(p.t) / 1000),
    series: [
      { label: `${metric} max`, values: pts.map((p) => p.max), color: '#9bb7d4', hidden: true },
      { label: `${metric} min`, values: pts.map((p) => p.min), color: '#9bb7d4', hidden: true },
      { label: `${metric} mean`, values: pts.map((p) => p.mean), color: '#1f5fa8', width: 1.5 },
    ],
    bands: [{ upper: 0, lower: 1, fill: 'rgba(31,95,168,0.15)' }],
    ...(spans ? { spans } : {}),
    yLabel: metric,
    ...(onZoom ? { onZoom } : {}),
  };
}

function HistoryPanel(props: { node: NodeInfo; endMs: number; anomalies: Anomaly[] }) {
  const [metric, setMetric] = useState(
    props.node.metrics.includes('flow') ? 'flow' : (props.node.metrics[0] ?? 'flow'),
  );
  const [range, setRange] = useState<[number, number]>([props.endMs - 2 * DAY, props.endMs]);
  const [chosen, setChosen] = useState<'auto' | '5m' | '1h' | '1d'>('auto');
  const span = range[1] - range[0];
  const resolution = chosen === 'auto' ? autoResolution(span) : chosen;
  // A span longer than the resolution allows is cut to its most recent part.
  const from = Math.max(range[0], range[1] - SPANS[resolution]!);
  const history = useLoad(
    (signal) => nodeHistory(props.node.id, from, range[1], resolution, signal),
    [props.node.id, from, range[1], resolution],
  );
  const spec = useMemo(
    () =>
      history.data
        ? historySpec(history.data, metric, anomalySpans(props.anomalies), (a, b) =>
            setRange([a * 1000, b * 1000]),
          )
        : null,
    [history.data, metric, props.anomalies],
  );
  return (
    <Section title="History">
      <div class="controls">
        <label>
          Metric{' '}
          <select value={metric} onChange={(e) => setMetric((e.target as HTMLSelectElement).value)}>
            {props.node.metrics.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          Resolution{' '}
          <select
            value={chosen}
            onChange={(e) => setChosen((e.target as HTMLSelectElement).value as typeof chosen)}
          >
            <option value="auto">auto ({autoResolution(span)})</option>
            <option value="5m">5 minutes</option>
            <option value="1h">1 hour</option>
            <option value="1d">1 day</option>
          </select>
        </label>
        <fieldset class="inline">
          <legend class="sr-only">Range</legend>
          {PRESETS.map(([name, ms]) => (
            <button
              key={name}
              type="button"
              aria-pressed={span === ms}
              onClick={() => setRange([props.endMs - ms, props.endMs])}
            >
              {name}
            </button>
          ))}
        </fieldset>
      </div>
      <p class="muted">
        {time(from)} → {time(range[1])} at {resolution}
        {from > range[0]
          ? ` (the API serves at most ${resolution === '5m' ? '2 days' : resolution === '1h' ? '31 days' : '366 days'} at ${resolution})`
          : ''}{' '}
        · drag across the chart to zoom; shaded spans are the node's anomalies.
      </p>
      <Loadable state={history} what="the history">
        {() =>
          spec && spec.x.length > 0 ? (
            <TimeChart spec={spec} label={`${metric} history of ${props.node.name}`} />
          ) : (
            <p class="muted">No readings in this range.</p>
          )
        }
      </Loadable>
    </Section>
  );
}

function ForecastPanel(props: { node: NodeInfo }) {
  const id = props.node.id;
  const forecast = useLoad(
    (signal) => call(api.GET('/api/v1/predictions/{id}', { params: { path: { id } }, signal })),
    [id],
  );
  const start = forecast.data ? Date.parse(forecast.data.horizonStart) : null;
  const actual = useLoad(
    start === null ? null : (signal) => nodeHistory(id, start - 3 * DAY, start + 7 * DAY, '1h', signal),
    [id, start],
  );
  const spec = useMemo((): ChartSpec | null => {
    const f = forecast.data;
    if (!f) return null;
    const pts = new Map<number, Record<string, number | null>>();
    for (const p of f.points)
      pts.set(Date.parse(p.t) / 1000, { ...p, actual: null } as unknown as Record<string, number | null>);
    for (const p of actual.data?.points ?? []) {
      if (p.metric !== 'flow') continue;
      const t = Date.parse(p.t) / 1000;
      pts.set(t, { ...(pts.get(t) ?? {}), actual: p.mean });
    }
    const x = [...pts.keys()].sort((a, b) => a - b);
    const col = (k: string) => x.map((t) => pts.get(t)?.[k] ?? null);
    return {
      x,
      series: [
        { label: 'upper 95 %', values: col('hi95'), color: '#999', hidden: true },
        { label: 'lower 95 %', values: col('lo95'), color: '#999', hidden: true },
        { label: 'upper 80 %', values: col('hi80'), color: '#999', hidden: true },
        { label: 'lower 80 %', values: col('lo80'), color: '#999', hidden: true },
        { label: 'forecast', values: col('mean'), color: '#b35900', width: 2, dash: [6, 3] },
        { label: 'actual flow', values: col('actual'), color: '#1f5fa8', width: 1.5 },
      ],
      bands: [
        { upper: 0, lower: 1, fill: 'rgba(179,89,0,0.12)' },
        { upper: 2, lower: 3, fill: 'rgba(179,89,0,0.22)' },
      ],
      yLabel: f.unit ?? undefined,
    };
  }, [forecast.data, actual.data]);
  return (
    <Section title="Forecast">
      <Loadable
        state={forecast}
        what="the forecast"
        missing={<p class="muted">The server has no forecasts yet.</p>}
        notFound={
          <p class="muted">
            {props.node.kind === 'inlet'
              ? 'No forecast for this inlet meter yet: the next cycle issues one.'
              : 'No forecast for this node: forecasts are made for inlet meters and districts.'}
          </p>
        }
      >
        {(f) => (
          <>
            <p class="muted">
              {f.modelId}, issued {time(f.issuedAt)}; 80 % (darker) and 95 % bands against the measured hourly
              flow.
            </p>
            {spec ? (
              <TimeChart
                spec={spec}
                label={`Flow forecast of ${props.node.name} with its bands and the measured flow`}
              />
            ) : null}
          </>
        )}
      </Loadable>
    </Section>
  );
}

export function NodeView(props: { id: string }) {
  const id = props.id;
  const path = { id };
  const node = useLoad((signal) => call(api.GET('/api/v1/nodes/{id}', { params: { path }, signal })), [id]);
  const readings = useLoad(
    (signal) => call(api.GET('/api/v1/nodes/{id}/readings', { params: { path }, signal })),
    [id],
  );
  const [range, setRange] = useState<(typeof RANGES)[number]>('24h');
  const metrics = useLoad(
    (signal) => call(api.GET('/api/v1/nodes/{id}/metrics', { params: { path, query: { range } }, signal })),
    [id, range],
  );
  const quality = useLoad(
    (signal) => call(api.GET('/api/v1/quality/{id}', { params: { path }, signal })),
    [id],
  );
  const anomalies = useLoad(
    () =>
      all((cursor) =>
        api.GET('/api/v1/anomalies', {
          params: { query: { node: id, status: 'open,acknowledged,resolved', limit: 1000, cursor } },
        }),
      ),
    [id],
  );
  const endMs = readings.data?.asOf ? Date.parse(readings.data.asOf) : null;
  return (
    <div data-ready={node.data && readings.data ? 'true' : undefined}>
      <p>
        <a href="#/">← Overview</a>
      </p>
      <Loadable state={node} what="the node">
        {(n) => (
          <>
            <h2>{n.name}</h2>
            <p class="muted">
              {n.id} · {n.kind} · district {n.districtId ?? '—'}
            </p>
            <div class="grid-2">
              <Section title="Latest readings">
                <Loadable state={readings} what="the latest readings">
                  {(r) => (
                    <dl class="facts">
                      {Object.entries(r.values).map(([m, v]) => (
                        <>
                          <dt key={`${m}-t`}>{m}</dt>
                          <dd key={`${m}-d`}>
                            {num(v.value, 3)} <span class="muted">at {time(v.ts)}</span>
                          </dd>
                        </>
                      ))}
                    </dl>
                  )}
                </Loadable>
              </Section>
              <Section title="Data quality (24 h)">
                <Loadable state={quality} what="the data quality">
                  {(q) =>
                    q.report ? (
                      <dl class="facts">
                        <dt>Score</dt>
                        <dd>{num(q.report.score, 1)} / 100</dd>
                        <dt>Completeness</dt>
                        <dd>{pct(share(q.report.completeness))}</dd>
                        <dt>Validity</dt>
                        <dd>{pct(share(q.report.validity))}</dd>
                        <dt>Timeliness</dt>
                        <dd>{pct(q.report.timeliness * 100)}</dd>
                        <dt>Flatline share</dt>
                        <dd>{pct(share(q.report.flatlineShare))}</dd>
                        <dt>Duplicates</dt>
                        <dd>{pct(share(q.report.duplicateShare))}</dd>
                        <dt>Out of order</dt>
                        <dd>{pct(share(q.report.outOfOrderShare))}</dd>
                      </dl>
                    ) : (
                      <p class="muted">No quality report for this node.</p>
                    )
                  }
                </Loadable>
              </Section>
            </div>
            <Section title="Metrics by window">
              <fieldset class="controls inline">
                <legend class="sr-only">Window</legend>
                {RANGES.map((r) => (
                  <button key={r} type="button" aria-pressed={range === r} onClick={() => setRange(r)}>
                    {r}
                  </button>
                ))}
              </fieldset>
              <Loadable state={metrics} what="the metrics">
                {(m) => (
                  <table>
                    <caption>
                      {m.range}: {time(m.from)} → {time(m.to)}
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col">Metric</th>
                        <th scope="col">Mean</th>
                        <th scope="col">Min</th>
                        <th scope="col">p05</th>
                        <th scope="col">p50</th>
                        <th scope="col">p95</th>
                        <th scope="col">Max</th>
                        <th scope="col">Readings</th>
                      </tr>
                    </thead>
                    <tbody>
                      {Object.entries(m.metrics).map(([k, s]) => (
                        <tr key={k}>
                          <th scope="row">{k}</th>
                          <td>{num(s.mean, 3)}</td>
                          <td>{num(s.min, 3)}</td>
                          <td>{num(s.p05, 3)}</td>
                          <td>{num(s.p50, 3)}</td>
                          <td>{num(s.p95, 3)}</td>
                          <td>{num(s.max, 3)}</td>
                          <td>{num(s.count, 0)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </Loadable>
            </Section>
            {endMs !== null ? <HistoryPanel node={n} endMs={endMs} anomalies={anomalies.data ?? []} /> : null}
            <ForecastPanel node={n} />
            <Section title="Anomalies of this node">
              <Loadable state={anomalies} what="the anomalies">
                {(list) =>
                  list.length === 0 ? (
                    <p class="muted">None.</p>
                  ) : (
                    <ul class="plain">
                      {list.slice(0, 50).map((a) => (
                        <li key={a.id}>
                          <Badge tone={a.severity}>{a.severity}</Badge> {label(a.type)} · {a.status} ·{' '}
                          {time(a.startedAt)}{' '}
                          <a href={`#/anomalies?id=${encodeURIComponent(a.id)}`}>details</a>
                        </li>
                      ))}
                    </ul>
                  )
                }
              </Loadable>
            </Section>
          </>
        )}
      </Loadable>
    </div>
  );
}
