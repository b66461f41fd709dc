/**
 * Overview: the network at a glance. A schematic drawn from the nodes' coordinates (no map tiles:
 * it works offline), districts as hulls, each node coloured by its worst open anomaly and outlined
 * when a silent or gap anomaly says its sensor is quiet; the day's KPIs, data freshness, the tiers
 * and the last runs.
 */
import { all, allNodes, api, call } from '../api.ts';
import { age, num, SEVERITY_ORDER, time } from '../format.ts';
import { useLoad } from '../hooks.ts';
import type { Status, Summary } from '../types.ts';
import { Badge, Kpi, Loadable, Section } from './common.tsx';
import { Schematic } from './schematic.tsx';

export function OverviewView(props: { status: Status | undefined }) {
  const summary = useLoad(
    (signal) => call(api.GET('/api/v1/dashboard/summary', { signal })) as Promise<Summary>,
    [],
    {
      pollMs: 30_000,
    },
  );
  const nodes = useLoad(allNodes, []);
  const active = useLoad(
    () =>
      all((cursor) =>
        api.GET('/api/v1/anomalies', {
          params: { query: { status: 'open,acknowledged', limit: 1000, cursor } },
        }),
      ),
    [],
    {
      pollMs: 30_000,
    },
  );
  const efficiency = useLoad((signal) => call(api.GET('/api/v1/network/efficiency', { signal })), []);
  const s = summary.data;
  const st = props.status;
  const critical = active.data?.filter((a) => a.status === 'open' && a.severity === 'critical').length;
  const nrw = efficiency.data?.network?.figures['nrwPercent'] as number | undefined;
  const stale = st?.freshness?.stale ?? st?.stale;
  return (
    <div class="overview" data-ready={s && nodes.data && active.data ? 'true' : undefined}>
      <h2>Overview</h2>
      <section class="kpis" aria-label="Key figures">
        <Kpi
          label="System input, last 24 h"
          value={
            s?.network24h?.systemInflowLps != null ? `${num(s.network24h.systemInflowLps * 86.4, 0)} m³` : '—'
          }
          note={
            s?.network24h?.systemInflowLps != null
              ? `${num(s.network24h.systemInflowLps, 1)} L/s mean`
              : undefined
          }
        />
        <Kpi
          label="Non-revenue water"
          value={nrw != null ? `${num(nrw, 1)} %` : '—'}
          note={
            efficiency.data?.network
              ? `${efficiency.data.network.periodKind} ${efficiency.data.network.periodLabel}`
              : 'no balance yet'
          }
        />
        <Kpi
          label="Open critical anomalies"
          value={critical === undefined ? '—' : String(critical)}
          tone={critical ? 'critical' : 'ok'}
        />
        <Kpi
          label="Data quality score"
          value={s?.qualityScore != null ? `${num(s.qualityScore, 1)} / 100` : '—'}
          note={
            s ? `${s.nodes.reportingLastHour} of ${s.nodes.total} nodes reported in the last hour` : undefined
          }
        />
      </section>
      <div class="grid-2">
        <Section title="Network schematic">
          <Loadable state={nodes} what="the nodes">
            {(list) => <Schematic nodes={list} anomalies={active.data ?? []} />}
          </Loadable>
          <ul class="legend" aria-label="Legend">
            <li>
              <span class="dot" data-severity="none" /> no open anomaly
            </li>
            {SEVERITY_ORDER.map((sev) => (
              <li key={sev}>
                <span class="dot" data-severity={sev} /> {sev}
              </li>
            ))}
            <li>
              <span class="dot" data-silent="true" /> silent or gap sensor
            </li>
          </ul>
        </Section>
        <div>
          <Section title="Data freshness">
            {st ? (
              <dl class="facts">
                <dt>Latest reading</dt>
                <dd>
                  {time(st.freshness?.latestReadingAt)} ({age(st.freshness?.dataAgeSeconds)} ago){' '}
                  {stale ? <Badge tone="stale">stale</Badge> : <Badge tone="ok">fresh</Badge>}
                </dd>
                <dt>Last run</dt>
                <dd>
                  {time(st.freshness?.lastRunAt)} · {st.freshness?.lastRunStatus ?? '—'}
                </dd>
                <dt>Tiers</dt>
                <dd class="tiers">
                  <Badge tone={st.tiers.memory.ok ? 'ok' : 'down'}>
                    memory {st.tiers.memory.ok ? 'up' : 'down'}
                  </Badge>{' '}
                  <Badge tone={st.tiers.hot.ok ? 'ok' : 'down'}>
                    {st.tiers.hot.kind === 'upstash' ? 'Redis' : 'hot cache'}{' '}
                    {st.tiers.hot.ok ? 'up' : 'down'}
                  </Badge>{' '}
                  <Badge tone={st.tiers.postgres.ok ? 'ok' : 'down'}>
                    PostgreSQL {st.tiers.postgres.ok ? 'up' : 'down'}
                  </Badge>
                </dd>
                <dt>API status</dt>
                <dd>
                  <Badge tone={st.status === 'ok' ? 'ok' : st.status === 'down' ? 'down' : 'stale'}>
                    {st.status}
                  </Badge>
                </dd>
              </dl>
            ) : (
              <p class="muted">Loading the status…</p>
            )}
          </Section>
          <Section title="Last runs">
            <table>
              <caption class="sr-only">The last runs of the cycle</caption>
              <thead>
                <tr>
                  <th scope="col">Window end</th>
                  <th scope="col">Status</th>
                  <th scope="col">Nodes</th>
                  <th scope="col">Readings</th>
                </tr>
              </thead>
              <tbody>
                {(st?.runs ?? []).slice(0, 5).map((r) => (
                  <tr key={r.id}>
                    <td>{time(r.windowTo)}</td>
                    <td>
                      <Badge tone={r.status === 'done' ? 'ok' : r.status === 'running' ? 'info' : 'down'}>
                        {r.status}
                      </Badge>
                    </td>
                    <td>
                      {r.nodesDone}/{r.nodesTotal}
                      {r.nodesFailed ? ` (${r.nodesFailed} failed)` : ''}
                    </td>
                    <td>{num(r.readings, 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section title="Open or acknowledged anomalies by severity">
            <ul class="sev-counts">
              {[...SEVERITY_ORDER].reverse().map((sev) => (
                <li key={sev}>
                  <span class="dot" data-severity={sev} /> {sev}:{' '}
                  <a href={`#/anomalies?severity=${sev}`}>
                    {active.data?.filter((a) => a.severity === sev).length ?? '—'}
                  </a>
                </li>
              ))}
            </ul>
          </Section>
        </div>
      </div>
    </div>
  );
}
