/**
 * Water quality: chlorine, turbidity and pH of every quality station over the last 7 days (hourly
 * means) against the drinking-water limits the detectors use, and compliance per district (the
 * share of hourly means within the limits).
 */
import { useMemo } from 'preact/hooks';
import { allNodes, api, call, nodeHistory } from '../api.ts';
import { align, type ChartSpec, TimeChart } from '../chart.tsx';
import { pct } from '../format.ts';
import { useLoad } from '../hooks.ts';
import { Loadable, Section } from './common.tsx';

const DAY = 86_400_000;
/** The limits of shared/anomaly/water-quality.ts (major: WHO / EU drinking-water values). */
export const LIMITS: Record<string, { below?: number; above?: number; unit: string; name: string }> = {
  chlorine: { below: 0.2, above: 4, unit: 'mg/L', name: 'Free chlorine' },
  turbidity: { above: 1, unit: 'NTU', name: 'Turbidity' },
  ph: { below: 6.5, above: 9.5, unit: 'pH', name: 'pH' },
};
const COLORS = ['#1f5fa8', '#b35900', '#2e7d32', '#8e24aa', '#00838f', '#6d4c41'];

const within = (metric: string, v: number) => {
  const l = LIMITS[metric]!;
  return !(l.below !== undefined && v < l.below) && !(l.above !== undefined && v > l.above);
};

export function QualityView() {
  const stations = useLoad(
    async () => (await allNodes()).filter((n) => n.metrics.some((m) => m in LIMITS)),
    [],
  );
  const histories = useLoad(
    stations.data
      ? async (signal) =>
          Promise.all(
            stations.data!.map(async (n) => {
              const latest = await call(
                api.GET('/api/v1/nodes/{id}/readings', { params: { path: { id: n.id } }, signal }),
              ).catch(() => null);
              const end = latest?.asOf ? Date.parse(latest.asOf) : Date.now();
              const h = await nodeHistory(n.id, end - 7 * DAY, end, '1h', signal);
              return { node: n, history: h };
            }),
          )
      : null,
    [stations.data],
  );
  const view = useMemo(() => {
    if (!histories.data) return null;
    const charts: { metric: string; spec: ChartSpec }[] = [];
    const compliance = new Map<string, Record<string, { ok: number; all: number }>>();
    for (const metric of Object.keys(LIMITS)) {
      const rows = histories.data.filter((h) => h.history.points.some((p) => p.metric === metric));
      if (rows.length === 0) continue;
      const { x, ys } = align(
        rows.map((r) =>
          r.history.points
            .filter((p) => p.metric === metric)
            .map((p) => ({ t: Date.parse(p.t) / 1000, v: p.mean })),
        ),
      );
      const l = LIMITS[metric]!;
      charts.push({
        metric,
        spec: {
          x,
          series: rows.map((r, i) => ({
            label: r.node.id,
            values: ys[i]!,
            color: COLORS[i % COLORS.length]!,
          })),
          limits: [
            ...(l.below !== undefined ? [{ value: l.below, color: '#b00020' }] : []),
            ...(l.above !== undefined ? [{ value: l.above, color: '#b00020' }] : []),
          ],
          yLabel: l.unit,
          height: 220,
        },
      });
      for (const r of rows) {
        const d = r.node.districtId ?? '—';
        const entry = compliance.get(d) ?? {};
        const c = entry[metric] ?? { ok: 0, all: 0 };
        entry[metric] = c;
        for (const p of r.history.points) {
          if (p.metric !== metric || p.mean === null) continue;
          c.all++;
          if (within(metric, p.mean)) c.ok++;
        }
        compliance.set(d, entry);
      }
    }
    return { charts, compliance };
  }, [histories.data]);
  return (
    <div data-ready={view ? 'true' : undefined}>
      <h2>Water quality</h2>
      <Loadable state={stations} what="the stations">
        {(list) =>
          list.length === 0 ? (
            <p class="muted">No node measures chlorine, turbidity or pH.</p>
          ) : (
            <Loadable state={histories} what="the readings">
              {() => (
                <>
                  <Section title="Compliance per district, last 7 days">
                    <table>
                      <caption class="sr-only">Share of hourly means within the limits</caption>
                      <thead>
                        <tr>
                          <th scope="col">District</th>
                          {Object.keys(LIMITS).map((m) => (
                            <th scope="col" key={m}>
                              {LIMITS[m]!.name}
                            </th>
                          ))}
                        </tr>
                      </thead>
                      <tbody>
                        {[...(view?.compliance ?? [])].map(([d, byMetric]) => (
                          <tr key={d}>
                            <th scope="row">{d}</th>
                            {Object.keys(LIMITS).map((m) => (
                              <td key={m}>
                                {byMetric[m]?.all ? pct((100 * byMetric[m]!.ok) / byMetric[m]!.all) : '—'}
                              </td>
                            ))}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                    <p class="muted">
                      Limits: free chlorine 0.2–4 mg/L, turbidity ≤ 1 NTU, pH 6.5–9.5 (dashed red lines).
                    </p>
                  </Section>
                  {view?.charts.map((c) => (
                    <Section key={c.metric} title={`${LIMITS[c.metric]!.name} (${LIMITS[c.metric]!.unit})`}>
                      <TimeChart
                        spec={c.spec}
                        label={`${LIMITS[c.metric]!.name} per station against its limits`}
                      />
                    </Section>
                  ))}
                </>
              )}
            </Loadable>
          )
        }
      </Loadable>
    </div>
  );
}
