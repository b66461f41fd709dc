/**
 * Performance monitor, from /api/v1/status: API latency percentiles and cache hit ratio per tier
 * (since this API instance started), the tiers' probe latency, and per run the cycle duration, nodes
 * processed and failed, readings and bytes scanned.
 */
import { useEffect, useMemo } from 'preact/hooks';
import { type ChartSpec, TimeChart } from '../chart.tsx';
import { bytes, num, pct, time } from '../format.ts';
import type { Status } from '../types.ts';
import { Badge, Kpi, Section } from './common.tsx';

export function PerformanceView(props: { status: Status | undefined; reload: () => void }) {
  const st = props.status;
  // The shell polls /status every 30 s; opening this view asks for the figures of now.
  useEffect(() => props.reload(), []);
  const runs = useMemo(() => [...(st?.runs ?? [])].reverse(), [st?.runs]);
  const spec = useMemo(
    (): ChartSpec | null =>
      runs.length < 2
        ? null
        : {
            x: runs.map((r) => Date.parse(r.windowTo) / 1000),
            series: [
              {
                label: 'cycle duration (s)',
                values: runs.map((r) => (r.durationMs === null ? null : r.durationMs / 1000)),
                color: '#1f5fa8',
                width: 2,
              },
            ],
            yLabel: 's',
            height: 200,
          },
    [runs],
  );
  if (!st) return <p class="muted">Loading the status…</p>;
  const api = st.api;
  return (
    <div data-ready="true">
      <h2>Performance monitor</h2>
      <p>
        <button type="button" onClick={props.reload}>
          Refresh
        </button>{' '}
        <span class="muted">Figures of this API instance since {time(api?.since)}.</span>
      </p>
      <div class="kpis">
        <Kpi
          label="API latency p50"
          value={api?.latencyMs.p50 != null ? `${num(api.latencyMs.p50, 1)} ms` : '—'}
        />
        <Kpi
          label="API latency p95"
          value={api?.latencyMs.p95 != null ? `${num(api.latencyMs.p95, 1)} ms` : '—'}
        />
        <Kpi
          label="API latency p99"
          value={api?.latencyMs.p99 != null ? `${num(api.latencyMs.p99, 1)} ms` : '—'}
        />
        <Kpi label="API requests" value={num(api?.requests, 0)} />
      </div>
      <div class="grid-2">
        <Section title="Cache hit ratio per tier">
          <table>
            <caption class="sr-only">Share of data reads each tier answered</caption>
            <thead>
              <tr>
                <th scope="col">Tier</th>
                <th scope="col">Answered</th>
                <th scope="col">Share</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(api?.byTier ?? {}).map(([tier, n]) => (
                <tr key={tier}>
                  <th scope="row">{tier}</th>
                  <td>{num(n, 0)}</td>
                  <td>{pct(api?.hitRatio[tier] != null ? api.hitRatio[tier]! * 100 : null)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
        <Section title="Tiers now">
          <dl class="facts">
            <dt>Hot cache ({st.tiers.hot.kind})</dt>
            <dd>
              <Badge tone={st.tiers.hot.ok ? 'ok' : 'down'}>{st.tiers.hot.ok ? 'up' : 'down'}</Badge>{' '}
              {st.tiers.hot.latencyMs != null ? `${num(st.tiers.hot.latencyMs, 2)} ms` : st.tiers.hot.error}
            </dd>
            <dt>PostgreSQL</dt>
            <dd>
              <Badge tone={st.tiers.postgres.ok ? 'ok' : 'down'}>
                {st.tiers.postgres.ok ? 'up' : 'down'}
              </Badge>{' '}
              {st.tiers.postgres.latencyMs != null
                ? `${num(st.tiers.postgres.latencyMs, 2)} ms`
                : st.tiers.postgres.error}
            </dd>
            <dt>Memory tier</dt>
            <dd>
              {num(st.tiers.memory.entries, 0)} entries, {bytes(st.tiers.memory.bytes)}
            </dd>
            <dt>Bytes scanned</dt>
            <dd>
              last run {bytes(st.bytesProcessed?.lastRun)}, last 24 h {bytes(st.bytesProcessed?.last24h)}
            </dd>
          </dl>
        </Section>
      </div>
      <Section title="Cycle runs">
        {spec ? <TimeChart spec={spec} label="Cycle duration per run" /> : null}
        <table>
          <caption class="sr-only">The last runs</caption>
          <thead>
            <tr>
              <th scope="col">Window</th>
              <th scope="col">Status</th>
              <th scope="col">Duration</th>
              <th scope="col">Nodes processed</th>
              <th scope="col">Failed</th>
              <th scope="col">Readings</th>
              <th scope="col">Bytes scanned</th>
              <th scope="col">Source</th>
            </tr>
          </thead>
          <tbody>
            {(st.runs ?? []).map((r) => (
              <tr key={r.id}>
                <td>
                  {time(r.windowFrom)} → {time(r.windowTo)}
                </td>
                <td>
                  <Badge tone={r.status === 'done' ? 'ok' : r.status === 'running' ? 'info' : 'down'}>
                    {r.status}
                  </Badge>
                </td>
                <td>{r.durationMs != null ? `${num(r.durationMs / 1000, 1)} s` : '—'}</td>
                <td>
                  {r.nodesDone}/{r.nodesTotal}
                </td>
                <td>{r.nodesFailed}</td>
                <td>{num(r.readings, 0)}</td>
                <td>{bytes(r.bytesProcessed)}</td>
                <td>{r.source}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </div>
  );
}
